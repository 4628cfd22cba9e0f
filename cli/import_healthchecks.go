package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/schedule"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// healthchecksImportHelp is the part of import's help about --from healthchecks: every
// mapping decision, so that a user knows what the import makes of each check.
const healthchecksImportHelp = `With --from healthchecks, FILE is the JSON that Healthchecks' Management API returns for
GET /api/v3/checks/ with the project's read-write API key, e.g.

  curl -fsS -H "X-Api-Key: $KEY" https://healthchecks.io/api/v3/checks/ > checks.json

Each check becomes a service with the same ping UUID, so a job's ping URL keeps working
when only its host changes: https://hc-ping.com/<uuid> -> https://<this server>/ping/<uuid>.
The read-only key's output (unique_key instead of ping_url) has no UUIDs and is refused.
  - serviceId: the slug. A leading - or _ is dropped; an empty slug is made from the name
    (lower case, a-z 0-9 _ kept, other runs of characters become one -, non-ASCII
    letters dropped); a check with neither is "check-" and 8 hex digits of a hash of its
    UUID (the UUID itself is the ping secret and never shown). A serviceId taken by an
    earlier check of the file gets "-" and those 8 hex digits appended (noted).
  - name -> name, desc -> description, the first tag -> group (a service has one group;
    the other tags are listed as a note).
  - A simple check (timeout, grace): interval = timeout, stalenessThreshold = timeout +
    grace, no schedule: late after timeout, down after timeout + grace, as there.
  - A cron check (schedule, tz, grace): schedule, timezone and grace as they are. A bad
    expression or an unknown zone fails the import, naming the check and the field.
  - An OnCalendar check (systemd calendar events) cannot be carried: it is created paused
    without a schedule (its pings are answered and stored, nobody is alerted) and a note
    asks for an equivalent cron schedule; a later import leaves its pause and schedule
    alone.
  - Paused: here a paused service stays paused whatever pings arrive, which is
    Healthchecks' manual_resume. A check paused with manual_resume becomes paused. A
    check paused without it (the next ping resumes it there) is imported not paused: with
    no ping yet it is unknown, and nobody is alerted, until its next ping, which starts
    monitoring it, as the resume does there (noted).
  - A check whose UUID already belongs to another service is not imported (noted): that
    service keeps answering the URL. A service with the check's serviceId but another
    pingId gets the check's (its old /ping/ URL stops working).
  - Not carried, and noted: integrations (channels), methods "POST" (every ping method is
    accepted here), e-mail keywords and filters, and the ping history and status
    (n_pings, last_ping, status, ...): each service is unknown until its next ping.`

// Known fields of a check in GET /api/v3/checks/, by what import does with them.
var (
	hcCarried = []string{"name", "slug", "tags", "desc", "timeout", "grace", "schedule", "tz", "ping_url", "uuid",
		"manual_resume", "status", "unique_key"}
	// hcDerived are URLs made from the UUID or the check: nothing to carry.
	hcDerived = []string{"update_url", "pause_url", "resume_url", "badge_url"}
	// hcHistory is the check's state and ping history: the service starts without them.
	hcHistory = []string{"n_pings", "last_ping", "next_ping", "started", "last_duration"}
	// hcEmail configure Healthchecks' e-mail pings, which this server does not receive.
	hcEmail = []string{"subject", "subject_fail", "start_kw", "success_kw", "failure_kw", "filter_subject",
		"filter_body", "filter_default_fail"}
	hcOther = []string{"channels", "methods"}
)

// hcCheck is what import reads of one check.
type hcCheck struct {
	Name         string      `json:"name"`
	Slug         string      `json:"slug"`
	Tags         string      `json:"tags"`
	Desc         *string     `json:"desc"`
	Timeout      json.Number `json:"timeout"`
	Grace        json.Number `json:"grace"`
	Schedule     string      `json:"schedule"`
	TZ           string      `json:"tz"`
	PingURL      string      `json:"ping_url"`
	UUID         string      `json:"uuid"`
	UniqueKey    string      `json:"unique_key"`
	Status       string      `json:"status"`
	ManualResume bool        `json:"manual_resume"`
	Channels     string      `json:"channels"`
	Methods      string      `json:"methods"`
}

var pingIDShape = regexp.MustCompile(migrations.PingIDPattern)

// maxSeconds is the largest timeout or grace Healthchecks allows (365 days), and what
// the grace field here holds.
const maxSeconds = 31536000

// planHealthchecksImport reads Healthchecks' GET /api/v3/checks/ reply into an
// importPlan. An error names the check and field that make the file unusable; nothing
// should be imported then.
func planHealthchecksImport(r io.Reader) (importPlan, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil || top == nil {
		return importPlan{}, fmt.Errorf(`import: not the JSON of Healthchecks' GET /api/v3/checks/ ({"checks":[...]}): %v`, err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top["checks"], &raws); err != nil || raws == nil {
		return importPlan{}, fmt.Errorf(`import: no "checks" list: not the JSON of Healthchecks' GET /api/v3/checks/`)
	}
	var p planner
	p.unknownFieldsOf("checks.json", top, []string{"checks"})
	var (
		plan     importPlan
		byID     = map[string]string{} // serviceId -> the check's label, of checks planned
		byPing   = map[string]string{} // pingId -> the check's label
		withPast int                   // checks with a ping history or status left behind
	)
	for i, raw := range raws {
		var c hcCheck
		if err := decodeNumbers(raw, &c); err != nil {
			return importPlan{}, fmt.Errorf("import: checks[%d]: %w", i, err)
		}
		label := fmt.Sprintf("checks[%d]", i)
		if n := firstOf(c.Name, c.Slug); n != "" {
			label += fmt.Sprintf(" %q", n)
		}
		pingID, err := hcPingID(c)
		if err != nil {
			return importPlan{}, fmt.Errorf("import: %s: %w", label, err)
		}
		if other, dup := byPing[pingID]; dup {
			return importPlan{}, fmt.Errorf("import: %s: the same ping UUID as %s", label, other)
		}
		byPing[pingID] = label

		sid, how := hcServiceID(c, pingID)
		if other, taken := byID[sid]; taken {
			base := sid
			sid = truncateID(base, 91) + "-" + hashUUID(pingID)
			if _, still := byID[sid]; still {
				return importPlan{}, fmt.Errorf("import: %s: serviceId %s is taken twice", label, sid)
			}
			how = strings.TrimPrefix(how+"; ", "; ") + fmt.Sprintf("serviceId %s: %s is taken by %s", sid, base, other)
		}
		byID[sid] = label
		where := "service " + sid
		if how != "" {
			p.note(where, "%s", how)
		}

		spec, err := p.hcSpec(where, c)
		if err != nil {
			return importPlan{}, fmt.Errorf("import: %s: %w", label, err)
		}
		spec.ServiceID, spec.PingID = sid, pingID
		plan.Services = append(plan.Services, spec)

		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return importPlan{}, fmt.Errorf("import: %s: %w", label, err)
		}
		if p.hcLeftBehind(where, c, m) {
			withPast++
		}
	}
	if withPast > 0 {
		p.note("checks.json", "the ping history and status of %d check(s) not imported (n_pings, last_ping, status, ...): "+
			"each service is unknown until its next ping", withPast)
	}
	plan.Notes, plan.Warnings = p.notes, p.warnings
	return plan, nil
}

// hcSpec maps the settings of check c to a service spec (all but its serviceId and
// pingId).
func (p *planner) hcSpec(where string, c hcCheck) (serviceSpec, error) {
	spec := serviceSpec{Name: strings.TrimSpace(c.Name), Description: c.Desc}
	tags := strings.Fields(c.Tags)
	group := ""
	if len(tags) > 0 {
		group = tags[0]
	}
	spec.Group = &group
	if len(tags) > 1 {
		p.note(where, "tags %s not imported: a service has one group (%s, the first tag)", strings.Join(tags[1:], " "), group)
	}

	grace, err := hcSeconds("grace", c.Grace)
	if err != nil {
		return spec, err
	}
	expr := strings.TrimSpace(c.Schedule)
	switch {
	case expr == "": // a simple check
		if c.Timeout == "" {
			return spec, fmt.Errorf("neither timeout nor schedule: not a check of GET /api/v3/checks/")
		}
		timeout, err := hcSeconds("timeout", c.Timeout)
		if err != nil {
			return spec, err
		}
		none := ""
		spec.Interval, spec.Threshold, spec.Schedule, spec.Timezone = timeout, timeout+grace, &none, &none
	case isOnCalendar(expr):
		tz, err := hcZone(c.TZ)
		if err != nil {
			return spec, err
		}
		spec.Timezone, spec.Grace, spec.PauseNew = &tz, grace, true
		p.note(where, "OnCalendar schedule %q not imported (this server reads 5-field cron expressions): created paused, "+
			"so its pings are answered and nobody is alerted; give it an equivalent cron schedule "+
			"(check one with `heartbeat-monitor schedule`) and unpause it", expr)
	default:
		if _, err := schedule.Parse(expr); err != nil {
			return spec, fmt.Errorf("schedule %q: %w", expr, err)
		}
		tz, err := hcZone(c.TZ)
		if err != nil {
			return spec, err
		}
		spec.Schedule, spec.Timezone, spec.Grace = &expr, &tz, grace
	}

	paused := c.Status == "paused"
	switch {
	case paused && c.ManualResume:
		spec.Paused = ptrTo(true)
	case paused:
		spec.Paused = ptrTo(false)
		p.note(where, "paused with automatic resume in Healthchecks: imported not paused (a paused service here stays paused "+
			"whatever pings arrive); it is unknown, and nobody is alerted, until its next ping")
	case !spec.PauseNew:
		spec.Paused = ptrTo(false)
	}
	return spec, nil
}

// hcLeftBehind notes what of check c cannot be carried over and reports whether it had
// a ping history or a status, which are summed up in one note.
func (p *planner) hcLeftBehind(where string, c hcCheck, m map[string]json.RawMessage) (history bool) {
	if strings.TrimSpace(c.Channels) != "" {
		p.note(where, "integrations (channels) not imported (alerts not configured by import)")
	}
	if strings.EqualFold(strings.TrimSpace(c.Methods), "POST") {
		p.note(where, `methods "POST" not imported: this server accepts GET, HEAD and POST pings`)
	}
	for _, f := range hcEmail {
		if v, ok := m[f]; ok && !isZeroJSON(v) {
			p.note(where, "e-mail keywords and filters not imported (this server does not receive pings by e-mail)")
			break
		}
	}
	known := append(append(append(append(append([]string{}, hcCarried...), hcDerived...), hcHistory...), hcEmail...), hcOther...)
	p.unknownFieldsOf(where, m, known)
	if c.Status != "" && c.Status != "new" && c.Status != "paused" {
		return true
	}
	for _, f := range hcHistory {
		if v, ok := m[f]; ok && !isZeroJSON(v) {
			return true
		}
	}
	return false
}

// hcPingID is the UUID at the end of the check's ping_url, in lower case.
func hcPingID(c hcCheck) (string, error) {
	if strings.TrimSpace(c.PingURL) == "" {
		if c.UniqueKey != "" {
			return "", fmt.Errorf("ping_url: missing, and unique_key is set: this is the reply to a read-only API key, " +
				"which hides the ping URLs; fetch GET /api/v3/checks/ again with the project's read-write key")
		}
		return "", fmt.Errorf("ping_url: missing")
	}
	u, err := url.Parse(strings.TrimSpace(c.PingURL))
	if err != nil {
		return "", fmt.Errorf("ping_url: %w", err)
	}
	id := strings.ToLower(path.Base(strings.TrimSuffix(u.Path, "/")))
	if !pingIDShape.MatchString(id) {
		return "", fmt.Errorf("ping_url: does not end in a UUID (https://hc-ping.com/<uuid>)")
	}
	if c.UUID != "" && !strings.EqualFold(c.UUID, id) {
		return "", fmt.Errorf("uuid: not the UUID of ping_url")
	}
	return id, nil
}

// hcServiceID is the serviceId of check c, and how it was made when not the slug as is.
func hcServiceID(c hcCheck, pingID string) (id, how string) {
	slug := strings.TrimLeft(strings.TrimSpace(c.Slug), "-_")
	if slug != "" && slug != c.Slug {
		how = fmt.Sprintf("serviceId %s from slug %q (a serviceId starts with a letter or digit)", truncateID(slug, 100), c.Slug)
	}
	if slug == "" {
		slug = strings.TrimLeft(slugify(c.Name), "-_")
		if slug != "" {
			how = fmt.Sprintf("serviceId %s made from the name (the check has no slug)", truncateID(slug, 100))
		}
	}
	if slug == "" {
		slug = "check-" + hashUUID(pingID)
		how = fmt.Sprintf("serviceId %s: the check has neither slug nor name", slug)
	}
	id = truncateID(slug, 100)
	if !monitor.ValidServiceID(id) { // a hand-edited file: fall back to what is always valid
		id = "check-" + hashUUID(pingID)
		how = fmt.Sprintf("serviceId %s: slug %q is not a valid serviceId", id, c.Slug)
	}
	return id, how
}

// slugify makes a slug of a name: lower case; ASCII letters, digits and _ kept; runs of
// anything else become one -; no - at either end.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case r == '-' || r == ' ' || r == '\t' || r == '.' || r == '/' || r == ':':
			dash = true
		default: // other punctuation and non-ASCII letters are dropped
		}
	}
	return b.String()
}

// hashUUID is 8 hex digits of a hash of a ping UUID: names a check without giving away
// its ping URL.
func hashUUID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}

// truncateID cuts an ASCII serviceId to n bytes without leaving a separator at its end.
func truncateID(id string, n int) string {
	if len(id) > n {
		id = id[:n]
	}
	return strings.TrimRight(id, "-_.")
}

// isOnCalendar tells a systemd OnCalendar expression, Healthchecks' third kind of
// check, from a cron expression: a time (12:00), a date (*-*-*), ~, several lines, or
// a bare shorthand (daily) never appear in a cron expression.
func isOnCalendar(expr string) bool {
	if strings.ContainsAny(expr, ":~\n") {
		return true
	}
	switch strings.ToLower(expr) {
	case "minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly", "semiannually":
		return true
	}
	for _, f := range strings.Fields(expr) {
		if strings.Count(f, "-") >= 2 {
			return true
		}
	}
	return false
}

// hcZone checks a check's tz; Healthchecks' default is UTC.
func hcZone(tz string) (string, error) {
	tz = strings.TrimSpace(tz)
	if tz == "" {
		return "UTC", nil
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return "", fmt.Errorf("tz %q: not an IANA time zone", tz)
	}
	return tz, nil
}

// hcSeconds reads a whole number of seconds from 1 to 365 days.
func hcSeconds(field string, n json.Number) (int, error) {
	if n == "" {
		return 0, fmt.Errorf("%s: missing", field)
	}
	f, err := n.Float64()
	if err != nil || f < 1 || f > maxSeconds || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s %s: not a whole number of seconds from 1 to %d", field, n, maxSeconds)
	}
	return int(f), nil
}

// dropTakenPingIDs takes out of plan every service whose pingId belongs to a stored
// service with another serviceId, with a note: that service keeps answering the URL.
func dropTakenPingIDs(app core.App, plan *importPlan) error {
	kept := plan.Services[:0]
	for start := 0; start < len(plan.Services); start += lookupChunk {
		chunk := plan.Services[start:min(start+lookupChunk, len(plan.Services))]
		ids := make([]any, len(chunk))
		for i, s := range chunk {
			ids[i] = s.PingID
		}
		var rows []struct {
			ServiceID string `db:"serviceId"`
			PingID    string `db:"pingId"`
		}
		err := app.DB().Select("serviceId", "pingId").From("services").Where(dbx.In("pingId", ids...)).All(&rows)
		if err != nil {
			return fmt.Errorf("import: find ping ids: %w", err)
		}
		owner := make(map[string]string, len(rows))
		for _, r := range rows {
			owner[r.PingID] = r.ServiceID
		}
		for _, s := range chunk {
			if o, ok := owner[s.PingID]; ok && o != s.ServiceID {
				plan.Notes = append(plan.Notes, fmt.Sprintf("service %s: not imported: its ping UUID belongs to service %s, "+
					"which keeps answering it (rename that service to %s, or delete it, and import again)", s.ServiceID, o, s.ServiceID))
				continue
			}
			kept = append(kept, s)
		}
	}
	plan.Services = kept
	return nil
}

// importHealthchecks imports the checks in file into app (see healthchecksImportHelp).
func importHealthchecks(app core.App, file io.Reader, dryRun bool, out io.Writer) error {
	plan, err := planHealthchecksImport(file)
	if err != nil {
		return err
	}
	if err := app.RunAllMigrations(); err != nil {
		return fmt.Errorf("import: migrate: %w", err)
	}
	if err := dropTakenPingIDs(app, &plan); err != nil {
		return err
	}
	_, err = applyImport(app, plan, dryRun, out)
	return err
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func ptrTo[T any](v T) *T { return &v }

// isZeroJSON reports whether raw is null, false, 0, "" or empty.
func isZeroJSON(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false", "0", `""`, "[]", "{}":
		return true
	}
	return false
}
