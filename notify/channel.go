package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

// Type is the name of a channel type, a value of the channels collection's type field.
type Type string

// Settings are one channel type's settings, decoded from a channel's config and secrets.
// Each type's settings also build its payload: see RequestBuilder and MailBuilder.
type Settings interface {
	// Validate reports the first setting that is missing or malformed.
	Validate() error
}

// Channel is a channel ready to send to.
type Channel struct {
	ID       string
	Name     string
	Type     Type
	Settings Settings
	// NoExternal is the setting "externalAlerts": false: external alerts routed by
	// severity leave the channel out (one that names it still reaches it).
	NoExternal bool
}

// TakesExternal reports whether external alerts routed by severity may go to c.
func (c Channel) TakesExternal() bool { return !c.NoExternal }

// common are the settings every type takes beside its own.
type common struct {
	ExternalAlerts *bool `json:"externalAlerts"`
}

// Parse reads the settings of a channel being saved. A channel record keeps them in two
// JSON objects, config (shown) and secrets (hidden, so tokens stay out of what the admin
// UI lists); a key in secrets wins over the same key in config. A key the type does not
// take is refused, naming it, and so is a missing or malformed one.
func Parse(t Type, config, secrets []byte) (Channel, error) {
	return parse(t, config, secrets, true)
}

// Load reads a stored channel's settings for a delivery. Unlike Parse it ignores keys the
// type does not take: a channel saved by an earlier version, which let any type's keys
// through, keeps delivering, and saving it again in the admin UI names the stray key.
func Load(t Type, config, secrets []byte) (Channel, error) {
	return parse(t, config, secrets, false)
}

func parse(t Type, config, secrets []byte, strict bool) (Channel, error) {
	ch := Channel{Type: t}
	k, ok := lookup(t)
	if !ok {
		return ch, fmt.Errorf("notify: unknown channel type %q", t)
	}
	s := k.New()
	var c common
	own, shared := settingKeys(reflect.TypeOf(s)), settingKeys(reflect.TypeOf(c))
	for _, raw := range [][]byte{config, secrets} {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return ch, fmt.Errorf("notify: %s channel: the settings are not a JSON object: %w", t, err)
		}
		mine, ours := map[string]json.RawMessage{}, map[string]json.RawMessage{}
		for _, key := range slices.Sorted(maps.Keys(fields)) {
			switch {
			case slices.Contains(own, key):
				mine[key] = fields[key]
			case slices.Contains(shared, key):
				ours[key] = fields[key]
			case strict:
				return ch, fmt.Errorf("notify: %s channel: unknown setting %q (%s channels take %s)",
					t, key, t, strings.Join(append(slices.Clone(own), shared...), ", "))
			}
		}
		// Decoding into the same values in turn is the merge: a key of secrets replaces
		// config's, a headers object adds to config's.
		if err := decodeStrict(mine, s); err != nil {
			return ch, fmt.Errorf("notify: %s channel: %w", t, err)
		}
		if err := decodeStrict(ours, &c); err != nil {
			return ch, fmt.Errorf("notify: %s channel: %w", t, err)
		}
	}
	ch.Settings, ch.NoExternal = s, c.ExternalAlerts != nil && !*c.ExternalAlerts
	if err := s.Validate(); err != nil {
		return ch, fmt.Errorf("notify: %s channel: %w", t, err)
	}
	return ch, nil
}

// decodeStrict decodes fields into v, refusing a key v has no field for (settingKeys
// already sorted them; this keeps the two from drifting apart).
func decodeStrict(fields map[string]json.RawMessage, v any) error {
	if len(fields) == 0 {
		return nil
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("setting %q is a JSON %s, want %s", te.Field, te.Value, describe(te.Type))
	}
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// describe names a settings field's Go type the way an admin writing JSON knows it.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(describe(t.Elem()), "a ") + "s"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(describe(t.Elem()), "a ") + "s"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return t.String()
}

// settingKeys lists the JSON keys of a settings struct, those of embedded structs
// (apiOverride) included.
func settingKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			keys = append(keys, settingKeys(f.Type)...)
		case !f.IsExported():
		case name == "":
			keys = append(keys, f.Name)
		default:
			keys = append(keys, name)
		}
	}
	return keys
}

// apiOverride is the apiUrl setting of the types whose service has one fixed API
// (Telegram, Pushover, PagerDuty): a proxy, a self-hosted server or a test points the
// channel elsewhere.
type apiOverride struct {
	APIURL string `json:"apiUrl,omitempty"`
}

// api is the endpoint to use: the override, else def.
func (a apiOverride) api(def string) string { return firstNonEmpty(a.APIURL, def) }

func (a apiOverride) validate() error { return checkURL("apiUrl", a.APIURL) }

// need refuses a required setting left out or blank.
func need(key, value string) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("needs %q", key)
	}
	return nil
}

// checkURL accepts an empty value or an absolute http(s) URL.
func checkURL(key, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q is not an http(s) URL", key, v)
	}
	return nil
}

// firstError is the first non-nil of errs: Validate reports one problem at a time, the
// first in the order the type lists its checks.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
