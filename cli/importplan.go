package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// notAlerts is how import reports the original's notification settings, which belong to
// alerting and are not configured by import.
const notAlerts = "notifications not imported (alerts not configured by import)"

// serviceSpec is what services.json says about one service. Nil or zero fields are
// fields the file does not set: import leaves them as they are.
type serviceSpec struct {
	ServiceID   string
	Name        string
	Description *string
	Group       *string // set in the form with groups: the group's id, or "" for none
	Threshold   int     // seconds
	Paused      *bool
	APIKey      string

	// Set by the Healthchecks import only.
	Interval int     // seconds; 0: leave as is
	PingID   string  // the ping URL's UUID; "": leave as is (a new service gets a random one)
	Schedule *string // "" is the interval rule
	Timezone *string
	Grace    int  // seconds; 0: leave as is
	PauseNew bool // create the service paused, and leave an existing one's pause alone
}

// keySpec is one entry of API_KEYS as an api_keys record. Name identifies it across
// imports (so a second import updates it instead of adding another).
type keySpec struct {
	Name     string
	Key      string
	Services []string // serviceIds; empty means every service
}

// importPlan is what an import will make true, and what it could not carry over.
type importPlan struct {
	Services []serviceSpec
	Keys     []keySpec
	Notes    []string // one line each: fields not imported and why
	Warnings []string // one line each: what is imported but weak (a short key)
}

// Known fields of services.json, by where they appear.
var (
	seedTopFields     = []string{"groups", "services"}
	seedGroupFields   = []string{"id", "name", "services", "uptimeThresholdSet", "stalenessThreshold", "auth", "notifications"}
	seedServiceFields = []string{"id", "name", "description", "enabled", "stalenessThreshold", "apiKey", "auth", "notifications"}
	seedAuthFields    = []string{"required"}
)

type seedAuth struct {
	Required *bool `json:"required"`
}

type seedGroup struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Services           []string        `json:"services"`
	UptimeThresholdSet string          `json:"uptimeThresholdSet"`
	StalenessThreshold json.Number     `json:"stalenessThreshold"`
	Auth               json.RawMessage `json:"auth"`
	Notifications      json.RawMessage `json:"notifications"`
}

type seedService struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Description        *string         `json:"description"`
	Enabled            *bool           `json:"enabled"`
	StalenessThreshold json.Number     `json:"stalenessThreshold"`
	APIKey             string          `json:"apiKey"`
	Auth               json.RawMessage `json:"auth"`
	Notifications      json.RawMessage `json:"notifications"`
}

// planner collects notes and warnings while a plan is built.
type planner struct {
	notes    []string
	warnings []string
}

// shortKey warns about a key shorter than a superuser may set by hand. Import keeps it
// (the original worker took keys of any length, and its clients send them), so the rule
// of the admin UI is deliberately not applied here; the key itself is never printed.
func (p *planner) shortKey(where, what, key string) {
	if monitor.KeyTooShort(key) {
		p.warnings = append(p.warnings, fmt.Sprintf("%s: %s has %d characters, fewer than the %d a key set by hand needs; "+
			"imported as is so its clients keep working (rotate it: clear it in the admin UI and give the clients the new key)",
			where, what, utf8.RuneCountInString(strings.TrimSpace(key)), monitor.MinHandSetKeyLen))
	}
}

func (p *planner) note(where, format string, a ...any) {
	p.notes = append(p.notes, where+": "+fmt.Sprintf(format, a...))
}

// unknownFields notes every field of the object raw that is not in known.
func (p *planner) unknownFields(where string, raw json.RawMessage, known []string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	p.unknownFieldsOf(where, m, known)
}

// unknownFieldsOf notes every field of m that is not in known, in name order.
func (p *planner) unknownFieldsOf(where string, m map[string]json.RawMessage, known []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !slices.Contains(known, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.note(where, "unknown field %q not imported: %s", k, compact(m[k]))
	}
}

// auth notes an auth setting import cannot honour; required:true is what this server
// always does.
func (p *planner) auth(where string, raw json.RawMessage) error {
	if isNullJSON(raw) {
		return nil
	}
	var a seedAuth
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("%s: auth: %w", where, err)
	}
	p.unknownFields(where+".auth", raw, seedAuthFields)
	if a.Required != nil && !*a.Required {
		p.note(where, "auth.required=false not imported: this server always requires an API key (give the clients one)")
	}
	return nil
}

// threshold reads a stalenessThreshold in seconds; 0 when absent or unusable (noted).
func (p *planner) threshold(where string, n json.Number) int {
	if n == "" {
		return 0
	}
	f, err := n.Float64()
	if err != nil || f < 1 || f != math.Trunc(f) || f > math.MaxInt32 {
		p.note(where, "stalenessThreshold %s not imported: not a whole number of seconds >= 1", n)
		return 0
	}
	return int(f)
}

// planImport reads the original worker's services.json (either form) and, when keysJSON
// is not empty, its API_KEYS object, into an importPlan. An error means nothing should
// be imported: the files are not what they should be.
func planImport(servicesJSON, keysJSON []byte) (importPlan, error) {
	return planImportFrom(bytes.NewReader(servicesJSON), keysJSON)
}

// planImportFrom is planImport reading services.json from r. It streams the services
// list one entry at a time, so a file of a million services costs the plan, not the
// file twice over.
func planImportFrom(r io.Reader, keysJSON []byte) (importPlan, error) {
	var p planner
	dec := json.NewDecoder(r)
	notObject := func(err error) error {
		return fmt.Errorf("import: services.json is not a JSON object: %v", err)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return importPlan{}, notObject(err)
	}
	var (
		plan      importPlan
		index     = map[string]int{} // serviceId -> position in plan.Services
		ownThresh []bool             // by position: the entry sets its own stalenessThreshold
		rawGroups []json.RawMessage
		grouped   bool
		listed    bool                           // "services" is a list
		unknown   = map[string]json.RawMessage{} // top-level fields import does not know
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return importPlan{}, notObject(err)
		}
		switch field := tok.(string); field {
		case "services":
			if listed {
				return importPlan{}, errors.New(`import: services.json has two "services" lists`)
			}
			ok, err := p.services(dec, &plan, index, &ownThresh)
			if err != nil {
				return importPlan{}, err
			}
			listed = ok
		case "groups":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return importPlan{}, notObject(err)
			}
			if grouped = !isNullJSON(raw); grouped {
				if err := json.Unmarshal(raw, &rawGroups); err != nil {
					return importPlan{}, fmt.Errorf("import: services.json: groups: %w", err)
				}
			}
		default:
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return importPlan{}, notObject(err)
			}
			unknown[field] = raw
		}
	}
	if _, err := dec.Token(); err != nil {
		return importPlan{}, notObject(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return importPlan{}, notObject(fmt.Errorf("data after the object"))
	}
	if !listed {
		return importPlan{}, errors.New(`import: services.json has no "services" list`)
	}
	// Top-level notes come first, as they did when the file was read whole.
	serviceNotes := p.notes
	p.notes = nil
	p.unknownFieldsOf("services.json", unknown, seedTopFields)
	p.notes = append(p.notes, serviceNotes...)

	if grouped {
		none := new(string) // shared: a group is set by replacing the pointer, never through it
		for i := range plan.Services {
			plan.Services[i].Group = none
		}
	}
	groups := map[string][]string{} // group id -> member serviceIds
	for i, raw := range rawGroups {
		where := fmt.Sprintf("groups[%d]", i)
		var g seedGroup
		if err := decodeNumbers(raw, &g); err != nil {
			return importPlan{}, fmt.Errorf("import: %s: %w", where, err)
		}
		if strings.TrimSpace(g.ID) == "" {
			return importPlan{}, fmt.Errorf("import: %s: a group needs an id", where)
		}
		if _, dup := groups[g.ID]; dup {
			return importPlan{}, fmt.Errorf("import: %s: group %q is defined twice", where, g.ID)
		}
		where = "group " + g.ID
		p.unknownFields(where, raw, seedGroupFields)
		if err := p.auth(where, g.Auth); err != nil {
			return importPlan{}, fmt.Errorf("import: %w", err)
		}
		if !isNullJSON(g.Notifications) {
			p.note(where, notAlerts)
		}
		if g.UptimeThresholdSet != "" {
			p.note(where, "uptimeThresholdSet %q not imported (this server has no uptime threshold sets)", g.UptimeThresholdSet)
		}
		if g.Name != "" && g.Name != g.ID {
			p.note(where, "name %q not imported: services keep the group id %q as their group", g.Name, g.ID)
		}
		threshold := p.threshold(where, g.StalenessThreshold)
		groupID := &g.ID
		groups[g.ID] = []string{}
		for _, id := range g.Services {
			at, ok := index[id]
			switch {
			case !ok:
				p.note(where, "member %q is not in services: not imported", id)
				continue
			case *plan.Services[at].Group != "":
				p.note(where, "member %q already belongs to group %q: kept there", id, *plan.Services[at].Group)
				continue
			}
			s := &plan.Services[at]
			s.Group = groupID
			groups[g.ID] = append(groups[g.ID], id)
			// A service's own threshold overrides its group's (an unusable own value was
			// noted, and then the group's does not silently take over either).
			if s.Threshold == 0 && threshold > 0 && !ownThresh[at] {
				s.Threshold = threshold
			}
		}
	}

	if len(bytes.TrimSpace(keysJSON)) > 0 {
		keys, err := planKeys(&p, keysJSON, index, groups)
		if err != nil {
			return importPlan{}, err
		}
		plan.Keys = keys
	}
	plan.Notes, plan.Warnings = p.notes, p.warnings
	return plan, nil
}

// services reads the "services" value from dec, one entry at a time, into plan. It
// reports false when the value is null.
func (p *planner) services(dec *json.Decoder, plan *importPlan, index map[string]int, ownThresh *[]bool) (bool, error) {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return false, fmt.Errorf("import: services.json: services: %w", err)
	case tok == nil:
		return false, nil
	case tok != json.Delim('['):
		return false, fmt.Errorf("import: services.json: services: %v is not a list", tok)
	}
	paused, running := true, false // shared by every spec: never written through
	var raw json.RawMessage        // reused: Decode appends into it
	for i := 0; dec.More(); i++ {
		if err := dec.Decode(&raw); err != nil {
			return false, fmt.Errorf("import: services[%d]: %w", i, err)
		}
		var s seedService
		if err := json.Unmarshal(raw, &s); err != nil { // json.Number fields keep numbers as written
			return false, fmt.Errorf("import: services[%d]: %w", i, err)
		}
		if !monitor.ValidServiceID(s.ID) {
			return false, fmt.Errorf("import: services[%d]: id %q is not a valid serviceId (1-100 of A-Z a-z 0-9 . _ -, starting with a letter or digit)", i, s.ID)
		}
		if _, dup := index[s.ID]; dup {
			return false, fmt.Errorf("import: services[%d]: service %q is defined twice", i, s.ID)
		}
		where := "service " + s.ID
		p.unknownFields(where, raw, seedServiceFields)
		if err := p.auth(where, s.Auth); err != nil {
			return false, fmt.Errorf("import: %w", err)
		}
		if !isNullJSON(s.Notifications) {
			p.note(where, notAlerts)
		}
		spec := serviceSpec{ServiceID: s.ID, Name: strings.TrimSpace(s.Name), Description: s.Description,
			Threshold: p.threshold(where, s.StalenessThreshold), APIKey: s.APIKey}
		if s.APIKey != "" {
			p.shortKey(where, "apiKey", s.APIKey)
		}
		if s.Enabled != nil {
			spec.Paused = &running
			if !*s.Enabled {
				spec.Paused = &paused
			}
		}
		index[s.ID] = len(plan.Services)
		plan.Services = append(plan.Services, spec)
		*ownThresh = append(*ownThresh, s.StalenessThreshold != "")
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return false, fmt.Errorf("import: services.json: services: %w", err)
	}
	return true, nil
}

// planKeys turns API_KEYS ({"<serviceId>|<groupId>|*": "<key>"}) into key specs.
func planKeys(p *planner, keysJSON []byte, services map[string]int, groups map[string][]string) ([]keySpec, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(keysJSON, &keys); err != nil || keys == nil {
		return nil, fmt.Errorf(`import: API_KEYS is not a JSON object like {"service-id":"key","group-id":"key","*":"key"}: %v`, err)
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []keySpec
	for _, name := range names {
		var key string
		if err := json.Unmarshal(keys[name], &key); err != nil || strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("import: API_KEYS[%q]: the key must be a non-empty string", name)
		}
		_, isService := services[name]
		members, isGroup := groups[name]
		if name == "*" || isService || (isGroup && len(members) > 0) {
			p.shortKey(fmt.Sprintf("API_KEYS %q", name), "the key", key)
		}
		switch {
		case name == "*":
			out = append(out, keySpec{Name: "imported key: every service (*)", Key: key})
		case isService:
			if isGroup {
				p.note("API_KEYS", "%q names both a service and a group: imported as the service's key", name)
			}
			out = append(out, keySpec{Name: "imported key: service " + name, Key: key, Services: []string{name}})
		case isGroup && len(members) == 0:
			p.note("API_KEYS", "group %q has no imported member: its key is not imported (an empty list would cover every service)", name)
		case isGroup:
			out = append(out, keySpec{Name: "imported key: group " + name, Key: key, Services: members})
		default:
			p.note("API_KEYS", "%q is neither a service nor a group of services.json: not imported", name)
		}
	}
	return out, nil
}

// decodeNumbers decodes raw into v keeping numbers as json.Number.
func decodeNumbers(raw json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

func isNullJSON(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) == 0 || string(r) == "null"
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return truncateRunes(b.String(), 80)
}
