package notify

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)

// down is a stale-down alert of a parent with two folded dependents; the last message
// has characters every format must escape.
var down = Message{
	Event: "down", ServiceID: "db-1", ServiceName: "Primary DB", Status: "down", Cause: "stale",
	IncidentID: "inc123", Since: at.Add(-time.Minute), At: at, LastSeen: at.Add(-6 * time.Minute),
	LastMessage: `disk <90% & "ok"`, Dependents: []string{"api", "web"}, DependentCount: 2,
	URL: "https://hm.example.com/services/db-1",
}

var recovery = Message{
	Event: "up", ServiceID: "db-1", ServiceName: "Primary DB", Status: "up", Was: "down",
	IncidentID: "inc123", Since: at.Add(-time.Minute), At: at.Add(time.Second), DurationSeconds: 61,
	URL: "https://hm.example.com/services/db-1",
}

var late = Message{Event: "late", ServiceID: "cron", Status: "late", At: at, LastSeen: at.Add(-3 * time.Minute), Since: at.Add(-time.Minute)}

// decode turns a request body into generic JSON for path assertions.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	return v
}

// path walks a decoded JSON value: keys for objects, numbers for arrays.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// check is one assertion on a JSON body: the value at path.
type check struct {
	path []any
	want any
}

// payloadTests are the JSON payload builders' cases. TestEveryTypeHasPayloadTest checks
// that they, pushoverTest and emailTest cover every registered type.
var payloadTests = []struct {
	name     string
	settings RequestBuilder
	m        Message
	url      string
	header   map[string]string
	checks   []check
	text     []string // substrings of the body as sent
}{
	{
		name:     "webhook: documented schema, custom headers, signature",
		settings: &webhookSettings{URL: "http://127.0.0.1:9/hook", Secret: "s3cret", Headers: map[string]string{"X-Team": "ops"}},
		m:        down, url: "http://127.0.0.1:9/hook",
		header: map[string]string{"Content-Type": "application/json", "X-Team": "ops", "X-Heartbeat-Event": "down"},
		checks: []check{
			{[]any{"version"}, 1.0}, {[]any{"event"}, "down"}, {[]any{"serviceId"}, "db-1"}, {[]any{"serviceName"}, "Primary DB"},
			{[]any{"severity"}, "critical"}, {[]any{"title"}, "🔴 Primary DB is down (and 2 dependent services)"},
			{[]any{"since"}, "2025-11-26T11:59:00Z"}, {[]any{"lastMessage"}, `disk <90% & "ok"`},
			{[]any{"dependentCount"}, 2.0}, {[]any{"incidentId"}, "inc123"}, {[]any{"url"}, "https://hm.example.com/services/db-1"},
		},
	},
	{
		name:     "slack: fallback text, escaped mrkdwn with the link",
		settings: &slackSettings{URL: "https://hooks.slack.com/services/T/B/X"},
		m:        down, url: "https://hooks.slack.com/services/T/B/X",
		checks: []check{
			{[]any{"text"}, "🔴 Primary DB is down (and 2 dependent services)"},
			{[]any{"blocks", 0, "text", "type"}, "mrkdwn"},
			{[]any{"blocks", 1, "fields", 4, "text"}, "*Last message*\ndisk &lt;90% &amp; \"ok\""},
		},
		text: []string{`*<https://hm.example.com/services/db-1|🔴 Primary DB is down (and 2 dependent services)>*`},
	},
	{
		name:     "discord: one embed, red, mentions off",
		settings: &discordSettings{URL: "https://discord.com/api/webhooks/1/x", Username: "HM"},
		m:        down, url: "https://discord.com/api/webhooks/1/x",
		checks: []check{
			{[]any{"username"}, "HM"}, {[]any{"embeds", 0, "color"}, float64(0xD92D20)},
			{[]any{"embeds", 0, "url"}, "https://hm.example.com/services/db-1"},
			{[]any{"embeds", 0, "timestamp"}, "2025-11-26T12:00:00Z"},
			{[]any{"allowed_mentions", "parse"}, []any{}},
		},
	},
	{
		name:     "discord: a recovery is green",
		settings: &discordSettings{URL: "https://discord.com/api/webhooks/1/x"},
		m:        recovery, url: "https://discord.com/api/webhooks/1/x",
		checks: []check{{[]any{"embeds", 0, "color"}, float64(0x12B76A)}, {[]any{"embeds", 0, "title"}, "✅ Primary DB recovered"}},
	},
	{
		name:     "teams: an adaptive card with facts and a link",
		settings: &teamsSettings{URL: "https://prod.westeurope.logic.azure.com/workflows/x"},
		m:        down, url: "https://prod.westeurope.logic.azure.com/workflows/x",
		checks: []check{
			{[]any{"type"}, "message"},
			{[]any{"attachments", 0, "contentType"}, "application/vnd.microsoft.card.adaptive"},
			{[]any{"attachments", 0, "content", "type"}, "AdaptiveCard"},
			{[]any{"attachments", 0, "content", "body", 0, "color"}, "Attention"},
			{[]any{"attachments", 0, "content", "body", 2, "type"}, "FactSet"},
			{[]any{"attachments", 0, "content", "actions", 0, "url"}, "https://hm.example.com/services/db-1"},
		},
	},
	{
		name:     "telegram: bot URL, HTML with the service's text escaped",
		settings: &telegramSettings{BotToken: "123:abc", ChatID: "-100", apiOverride: apiOverride{APIURL: "http://127.0.0.1:9"}},
		m:        down, url: "http://127.0.0.1:9/bot123:abc/sendMessage",
		checks: []check{{[]any{"chat_id"}, "-100"}, {[]any{"parse_mode"}, "HTML"}, {[]any{"link_preview_options", "is_disabled"}, true}},
		text:   []string{`<b>Last message:</b> disk &lt;90% &amp; &#34;ok&#34;`},
	},
	{
		name:     "ntfy: JSON publish to the server, urgent, with a token",
		settings: &ntfySettings{URL: "https://ntfy.example.com/", Topic: "alerts", Token: "tk_x"},
		m:        down, url: "https://ntfy.example.com",
		header: map[string]string{"Authorization": "Bearer tk_x"},
		checks: []check{{[]any{"topic"}, "alerts"}, {[]any{"priority"}, 5.0}, {[]any{"tags", 0}, "rotating_light"}, {[]any{"click"}, "https://hm.example.com/services/db-1"}},
	},
	{
		name:     "ntfy: default server, basic auth, a recovery at default priority",
		settings: &ntfySettings{Topic: "alerts", Username: "u", Password: "p"},
		m:        recovery, url: "https://ntfy.sh",
		header: map[string]string{"Authorization": "Basic dTpw"},
		checks: []check{{[]any{"priority"}, 3.0}, {[]any{"tags", 0}, "white_check_mark"}},
	},
	{
		name:     "pagerduty: a down alert triggers with the incident's dedup key",
		settings: &pagerDutySettings{RoutingKey: "R1"},
		m:        down, url: "https://events.pagerduty.com/v2/enqueue",
		checks: []check{
			{[]any{"routing_key"}, "R1"}, {[]any{"event_action"}, "trigger"}, {[]any{"dedup_key"}, "heartbeat-monitor/incident/inc123"},
			{[]any{"payload", "severity"}, "critical"}, {[]any{"payload", "source"}, "db-1"},
			{[]any{"payload", "timestamp"}, "2025-11-26T12:00:00Z"}, {[]any{"links", 0, "href"}, "https://hm.example.com/services/db-1"},
		},
	},
	{
		name:     "pagerduty: the recovery resolves the same dedup key",
		settings: &pagerDutySettings{RoutingKey: "R1"},
		m:        recovery, url: "https://events.pagerduty.com/v2/enqueue",
		checks: []check{{[]any{"event_action"}, "resolve"}, {[]any{"dedup_key"}, "heartbeat-monitor/incident/inc123"}, {[]any{"payload"}, nil}},
	},
	{
		name:     "pagerduty: a late notice is a change event",
		settings: &pagerDutySettings{RoutingKey: "R1", apiOverride: apiOverride{APIURL: "http://127.0.0.1:9/"}},
		m:        late, url: "http://127.0.0.1:9/v2/change/enqueue",
		checks: []check{{[]any{"event_action"}, nil}, {[]any{"payload", "summary"}, "🕒 cron is late"}},
	},
	{
		name:     "pagerduty: an external alert keys on source and title",
		settings: &pagerDutySettings{RoutingKey: "R1"},
		m:        Message{Event: EventExternal, At: at, Alert: &External{Title: "Disk full", Message: "95%", Severity: "error", Source: "prom"}},
		url:      "https://events.pagerduty.com/v2/enqueue",
		checks: []check{{[]any{"event_action"}, "trigger"}, {[]any{"dedup_key"}, "heartbeat-monitor/alert/prom/Disk full"},
			{[]any{"payload", "severity"}, "error"}, {[]any{"payload", "summary"}, "🚨 [ERROR] Disk full"}},
	},
}

func TestBuildPayloads(t *testing.T) {
	for _, tt := range payloadTests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.settings.BuildRequest(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "POST" || req.URL != tt.url {
				t.Errorf("request: got %s %s, want POST %s", req.Method, req.URL, tt.url)
			}
			for k, v := range tt.header {
				if got := req.Header.Get(k); got != v {
					t.Errorf("header %s: got %q, want %q", k, got, v)
				}
			}
			body := decode(t, req.Body)
			for _, c := range tt.checks {
				if got := path(body, c.path...); !reflect.DeepEqual(got, c.want) {
					t.Errorf("%v: got %#v, want %#v", c.path, got, c.want)
				}
			}
			for _, s := range tt.text {
				if !strings.Contains(string(req.Body), s) {
					t.Errorf("body lacks %s:\n%s", s, req.Body)
				}
			}
		})
	}
}

func TestWebhookSignature(t *testing.T) {
	req, err := (&webhookSettings{URL: "http://127.0.0.1:9/", Secret: "k"}).BuildRequest(down)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := req.Header.Get(SignatureHeader), Sign("k", req.Body); got != want || !strings.HasPrefix(got, "sha256=") {
		t.Errorf("signature: got %q, want %q", got, want)
	}
	// A known vector, so receivers in other languages can check their code against it.
	if got, want := Sign("key", []byte("The quick brown fox jumps over the lazy dog")), "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Errorf("Sign: got %s, want %s", got, want)
	}
	unsigned, err := (&webhookSettings{URL: "http://127.0.0.1:9/"}).BuildRequest(down)
	if err != nil {
		t.Fatal(err)
	}
	if unsigned.Header.Get(SignatureHeader) != "" {
		t.Error("a webhook without a secret got a signature")
	}
}

// pushoverTest is the settings TestBuildPushover builds with (its body is a form).
var pushoverTest = &pushoverSettings{Token: "app", User: "usr", Device: "phone"}

func TestBuildPushover(t *testing.T) {
	req, err := pushoverTest.BuildRequest(down)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL != "https://api.pushover.net/1/messages.json" || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request: got %s %s", req.URL, req.Header.Get("Content-Type"))
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"token": "app", "user": "usr", "device": "phone", "priority": "1", "title": down.Title(),
		"url": down.URL, "timestamp": "1764158400"}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if msg := form.Get("message"); !strings.Contains(msg, "No heartbeat from Primary DB since 2025-11-26 11:54:00 UTC (6m ago).") {
		t.Errorf("message: got %q", msg)
	}
}

// emailTest is the settings TestBuildEmail builds with.
var emailTest = &emailSettings{To: []string{"ops@example.com", "Jo <jo@example.com>"}}

func TestBuildEmail(t *testing.T) {
	from := mailAddress("Monitor", "hm@example.com")
	msg, err := emailTest.BuildMail(down, from)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != down.Title() || len(msg.To) != 2 || msg.To[1].Name != "Jo" || msg.From != from {
		t.Errorf("headers: got subject %q to %v from %v", msg.Subject, msg.To, msg.From)
	}
	if !strings.Contains(msg.Text, "Last message: disk <90% & \"ok\"") {
		t.Errorf("text body lacks the raw last message:\n%s", msg.Text)
	}
	for _, s := range []string{"disk &lt;90% &amp; &#34;ok&#34;", `href="https://hm.example.com/services/db-1"`, "Dependent services down"} {
		if !strings.Contains(msg.HTML, s) {
			t.Errorf("HTML body lacks %s:\n%s", s, msg.HTML)
		}
	}
	if strings.Contains(msg.HTML, "<90%") {
		t.Error("HTML body has the service's text unescaped")
	}
}
