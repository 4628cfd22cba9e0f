package notify

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		typ             Type
		config, secrets string
		err             string // substring; empty: valid
	}{
		{Webhook, `{"headers":{"X-A":"1"}}`, `{"url":"https://example.com/h","secret":"k"}`, ""},
		{Webhook, `{}`, ``, `needs "url"`},
		{Webhook, `{"url":"ftp://example.com"}`, ``, "not an http(s) URL"},
		{Webhook, `{"url":"https://e.com","headers":{"Bad Name":"x"}}`, ``, "not a valid header"},
		{Slack, ``, `{"url":"https://hooks.slack.com/services/x"}`, ""},
		{Discord, `{"url":"https://discord.com/api/webhooks/1/x","username":"hm"}`, ``, ""},
		{Teams, `{"url":"not a url"}`, ``, "not an http(s) URL"},
		{Telegram, `{"chatId":"-100"}`, `{"botToken":"1:x"}`, ""},
		{Telegram, `{"chatId":"-100"}`, ``, `needs "botToken"`},
		{Telegram, `{"chatId":"-100","threadId":7,"apiUrl":"http://127.0.0.1:9"}`, `{"botToken":"1:x"}`, ""},
		{Ntfy, `{"topic":"t","url":"https://ntfy.example.com"}`, `{"token":"tk"}`, ""},
		{Ntfy, `{}`, ``, `needs "topic"`},
		{Pushover, ``, `{"token":"a","user":"u"}`, ""},
		{PagerDuty, ``, `{"routingKey":"r"}`, ""},
		{PagerDuty, `{"routingKey":""}`, ``, `needs "routingKey"`},
		{Email, `{"to":["ops@example.com"]}`, ``, ""},
		{Email, `{"to":["nope"]}`, ``, "not an email address"},
		{Email, `{}`, ``, `needs "to"`},
		{Slack, `{"url":"https://x.com","typo":1}`, ``, `slack channel: unknown setting "typo" (slack channels take url, externalAlerts)`},
		{Slack, `{"url":"https://x.com"}`, `{"botToken":"1:x"}`, `unknown setting "botToken"`},
		{Slack, `{"url":"https://x.com","apiUrl":"https://proxy.example.com"}`, ``, `unknown setting "apiUrl"`},
		{Slack, `[1]`, ``, "slack channel: the settings are not a JSON object"},
		{Slack, `{"url":5}`, ``, `slack channel: setting "url" is a JSON number, want a string`},
		{Email, `{"to":"ops@example.com"}`, ``, `setting "to" is a JSON string, want a list of strings`},
		{Telegram, `{"chatId":"-100","botToken":"1:x","threadId":"7"}`, ``, `setting "threadId" is a JSON string, want a whole number`},
		{Slack, `{"url":"https://x.com","externalAlerts":"no"}`, ``, `setting "externalAlerts" is a JSON string, want true or false`},
		{"sms", `{}`, ``, `unknown channel type "sms"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.typ, []byte(tt.config), []byte(tt.secrets))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s %s %s: got %v, want no error", tt.typ, tt.config, tt.secrets, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s %s %s: got %v, want an error with %q", tt.typ, tt.config, tt.secrets, err, tt.err)
		}
	}
}

func TestSecretsWinOverConfig(t *testing.T) {
	ch, err := Parse(Slack, []byte(`{"url":"https://old.example.com"}`), []byte(`{"url":"https://new.example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.Settings.(*slackSettings).URL; got != "https://new.example.com" {
		t.Errorf("got %q, want the secret URL", got)
	}
	// Headers add up: a signing header can stay hidden while the rest is shown.
	ch, err = Parse(Webhook, []byte(`{"url":"https://e.com","headers":{"X-Team":"ops"}}`), []byte(`{"headers":{"Authorization":"Bearer t"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ch.Settings.(*webhookSettings).Headers, map[string]string{"X-Team": "ops", "Authorization": "Bearer t"}; !maps.Equal(got, want) {
		t.Errorf("headers: got %v, want %v", got, want)
	}
}

// minimal is, for every registered type, its smallest valid settings and the keys of
// them it cannot do without. A type added to the registry without an entry here fails
// TestRequiredSettings.
var minimal = map[Type]struct {
	settings map[string]any
	required []string
}{
	Webhook:   {map[string]any{"url": "https://example.com/h"}, []string{"url"}},
	Slack:     {map[string]any{"url": "https://hooks.slack.com/services/x"}, []string{"url"}},
	Discord:   {map[string]any{"url": "https://discord.com/api/webhooks/1/x"}, []string{"url"}},
	Teams:     {map[string]any{"url": "https://prod.logic.azure.com/workflows/x"}, []string{"url"}},
	Telegram:  {map[string]any{"botToken": "1:x", "chatId": "-100"}, []string{"botToken", "chatId"}},
	Ntfy:      {map[string]any{"topic": "alerts"}, []string{"topic"}},
	Pushover:  {map[string]any{"token": "a", "user": "u"}, []string{"token", "user"}},
	PagerDuty: {map[string]any{"routingKey": "r"}, []string{"routingKey"}},
	Email:     {map[string]any{"to": []string{"ops@example.com"}}, []string{"to"}},
}

// with is the JSON of settings plus key set to v.
func with(t *testing.T, settings map[string]any, key string, v any) []byte {
	t.Helper()
	m := maps.Clone(settings)
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRequiredSettings: every type's minimal settings are accepted, and leaving out any
// key it needs is refused with a message naming the key, in config or secrets alike.
func TestRequiredSettings(t *testing.T) {
	for _, k := range registry {
		ex, ok := minimal[k.Name]
		if !ok {
			t.Errorf("%s: no minimal settings in this test", k.Name)
			continue
		}
		if _, err := Parse(k.Name, with(t, ex.settings, "", nil), nil); err != nil {
			t.Errorf("%s: minimal settings: got %v, want them accepted", k.Name, err)
		}
		if _, err := Parse(k.Name, nil, with(t, ex.settings, "", nil)); err != nil {
			t.Errorf("%s: minimal settings as secrets: got %v, want them accepted", k.Name, err)
		}
		for _, key := range ex.required {
			want := string(k.Name) + ` channel: needs "` + key + `"`
			blank := any("")
			if _, list := ex.settings[key].([]string); list {
				blank = []string{}
			}
			for _, empty := range []any{nil, blank} {
				_, err := Parse(k.Name, with(t, ex.settings, key, empty), nil)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s without %s (%#v): got %v, want an error with %s", k.Name, key, empty, err, want)
				}
			}
		}
	}
}

// TestUnknownSettingsRefusedPerType: a key another type takes (or no type does) is
// refused for a type that does not take it, naming the key, in config or in secrets.
func TestUnknownSettingsRefusedPerType(t *testing.T) {
	all := []string{"typo"}
	for _, k := range registry {
		all = append(all, settingKeys(reflect.TypeOf(k.New()))...)
	}
	for _, k := range registry {
		takes := settingKeys(reflect.TypeOf(k.New()))
		refused := 0
		for _, key := range all {
			if slices.Contains(takes, key) {
				continue
			}
			refused++
			want := string(k.Name) + ` channel: unknown setting "` + key + `"`
			ex := minimal[k.Name].settings
			if _, err := Parse(k.Name, with(t, ex, key, "x"), nil); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s with %s in config: got %v, want an error with %s", k.Name, key, err, want)
			}
			if _, err := Parse(k.Name, with(t, ex, "", nil), []byte(`{"`+key+`":"x"}`)); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s with %s in secrets: got %v, want an error with %s", k.Name, key, err, want)
			}
		}
		if refused == 0 {
			t.Errorf("%s: no key was tried", k.Name)
		}
	}
}

// TestEverySettingKeyDecodes: each key a type lists (what its refusal message tells the
// admin to use) is one its settings struct decodes.
func TestEverySettingKeyDecodes(t *testing.T) {
	for _, k := range registry {
		for _, key := range settingKeys(reflect.TypeOf(k.New())) {
			if err := decodeStrict(map[string]json.RawMessage{key: json.RawMessage("null")}, k.New()); err != nil {
				t.Errorf("%s: key %s: %v", k.Name, key, err)
			}
		}
	}
}

// TestAPIURLChecked: every type that takes apiUrl refuses one that is not http(s) and
// sends to the one it is given.
func TestAPIURLChecked(t *testing.T) {
	tried := 0
	for _, k := range registry {
		if !slices.Contains(settingKeys(reflect.TypeOf(k.New())), "apiUrl") {
			continue
		}
		tried++
		ex := minimal[k.Name].settings
		if _, err := Parse(k.Name, with(t, ex, "apiUrl", "ftp://proxy"), nil); err == nil || !strings.Contains(err.Error(), `apiUrl "ftp://proxy" is not an http(s) URL`) {
			t.Errorf("%s with an ftp apiUrl: got %v", k.Name, err)
		}
		ch, err := Parse(k.Name, with(t, ex, "apiUrl", "http://127.0.0.1:9"), nil)
		if err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		req, err := ch.Settings.(RequestBuilder).BuildRequest(down)
		if err != nil || !strings.HasPrefix(req.URL, "http://127.0.0.1:9") {
			t.Errorf("%s with apiUrl: request to %s (%v)", k.Name, req.URL, err)
		}
	}
	if tried != 3 {
		t.Errorf("%d types take apiUrl, want telegram, pushover and pagerduty", tried)
	}
}

// TestExternalAlertsSetting: every type takes "externalAlerts"; only false keeps the
// channel out of external alerts routed by severity.
func TestExternalAlertsSetting(t *testing.T) {
	for _, k := range registry {
		ex := minimal[k.Name].settings
		for _, tt := range []struct {
			v    any
			want bool
		}{{nil, true}, {true, true}, {false, false}} {
			ch, err := Parse(k.Name, with(t, ex, "externalAlerts", tt.v), nil)
			if err != nil {
				t.Fatalf("%s externalAlerts %v: %v", k.Name, tt.v, err)
			}
			if ch.TakesExternal() != tt.want {
				t.Errorf("%s externalAlerts %v: TakesExternal %v, want %v", k.Name, tt.v, ch.TakesExternal(), tt.want)
			}
		}
	}
}

// TestLoadIgnoresStrayKeys: a channel saved before settings were checked per type (when
// a slack channel could carry "apiUrl") still delivers; Parse, used when it is saved,
// names the stray key.
func TestLoadIgnoresStrayKeys(t *testing.T) {
	config, secrets := []byte(`{"apiUrl":"https://proxy.example.com","externalAlerts":false}`), []byte(`{"url":"https://hooks.slack.com/services/x","botToken":"1:x"}`)
	ch, err := Load(Slack, config, secrets)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := ch.Settings.(*slackSettings).URL; got != "https://hooks.slack.com/services/x" || ch.TakesExternal() {
		t.Errorf("Load: got url %q, takes external %v", got, ch.TakesExternal())
	}
	if _, err := Load(Slack, []byte(`{"botToken":"1:x"}`), nil); err == nil || !strings.Contains(err.Error(), `needs "url"`) {
		t.Errorf("Load without a url: got %v, want it refused", err)
	}
	if _, err := Parse(Slack, config, secrets); err == nil || !strings.Contains(err.Error(), `unknown setting "apiUrl"`) {
		t.Errorf("Parse: got %v, want the stray key named", err)
	}
}
