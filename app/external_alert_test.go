package app

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
)

func TestExternalAlertRoute(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.apiKey("alert-key", []string{"alert"}, nil, false)
	h.apiKey("read-key", []string{"read"}, nil, false)
	pager := h.webhook("pager", "http://127.0.0.1:9/p", "down")
	chat := h.webhook("Chat", "http://127.0.0.1:9/c", "down", "degraded", "up")
	h.channel("quiet", "slack", map[string]any{"externalAlerts": false}, map[string]any{"url": "http://127.0.0.1:9/q"}, []string{"down"})
	h.setClock(t0)
	auth := "Authorization: Bearer alert-key"
	tests := []struct {
		name     string
		body     string
		headers  []string
		code     int
		contains []string
		channels []string // channel ids notified
	}{
		{"no key", `{"title":"t","message":"m"}`, nil, 401, []string{`"success":false`, `"message":"Unauthorized - Invalid or missing API key"`}, nil},
		{"a read key is not an alert key", `{"title":"t","message":"m"}`, []string{"Authorization: Bearer read-key"}, 401, nil, nil},
		{"not JSON", `{"title":`, []string{auth}, 400, []string{`"message":"Invalid JSON body"`}, nil},
		{"unsupported format", `{"foo":1}`, []string{auth}, 400, []string{`"message":"Unsupported alert format. Use Alertmanager, Grafana, or generic format."`}, nil},
		{"wrong types", `{"title":["x"],"message":"m"}`, []string{auth}, 400, []string{`"message":"Invalid alert: title must be a string"`}, nil},
		{"unknown channel named", `{"title":"t","message":"m","channels":["nope"]}`, []string{auth}, 400,
			// the whole body: the names of the channels that exist are not disclosed
			[]string{`{"success":false,"message":"Alert validation failed","alertTitle":"t","errors":["Unknown channel: nope"]}`}, nil},
		{"critical goes to down subscribers that take external alerts", `{"title":"Disk full","message":"95%","severity":"critical"}`, []string{auth}, 200,
			[]string{`"success":true`, `"message":"Alert processed and notifications sent"`, `"alertTitle":"Disk full"`, `"channelsSent":["pager","Chat"]`}, []string{pager.Id, chat.Id}},
		{"info goes to up subscribers", `{"title":"Deployed","message":"v2","severity":"info"}`, []string{auth}, 200, []string{`"channelsSent":["Chat"]`}, []string{chat.Id}},
		{"named channels, case-insensitive", `{"title":"t","message":"m","channels":"chat"}`, []string{auth}, 200, []string{`"channelsSent":["Chat"]`}, []string{chat.Id}},
		{"alertmanager", `{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"CPU","severity":"warning"},"annotations":{"summary":"CPU high"}}]}`, []string{auth}, 200,
			[]string{`"alertTitle":"CPU high"`, `"channelsSent":["Chat"]`}, []string{chat.Id}},
		{"grafana", `{"evalMatches":[],"ruleName":"Mem","state":"alerting","title":"Mem high","message":"90%"}`, []string{auth}, 200,
			[]string{`"alertTitle":"Mem high"`, `"channelsSent":["pager","Chat"]`}, []string{pager.Id, chat.Id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.count("notifications", "", nil)
			rec := h.do("POST", "/api/alert", tt.body, tt.headers...)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, body(rec))
			}
			for _, c := range tt.contains {
				if !strings.Contains(body(rec), c) {
					t.Errorf("body lacks %s: %s", c, body(rec))
				}
			}
			var got []string
			if err := h.app.DB().NewQuery("SELECT channel FROM notifications WHERE event = 'external' ORDER BY rowid LIMIT -1 OFFSET " + strconv.Itoa(before)).Column(&got); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.channels, ",") {
				t.Errorf("notified %v, want %v", got, tt.channels)
			}
		})
	}
	if n := h.count("alerts", "", nil); n != 5 {
		t.Errorf("%d alerts stored, want 5", n)
	}
}

func TestExternalAlertBodyLimit(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.apiKey("alert-key", []string{"alert"}, nil, false)
	big := `{"title":"t","message":"` + strings.Repeat("x", 300<<10) + `"}`
	if rec := h.do("POST", "/api/alert", big, "Authorization: Bearer alert-key"); rec.Code != 413 {
		t.Errorf("status %d, want 413", rec.Code)
	}
}

func TestRecentAlerts(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.apiKey("alert-key", []string{"alert"}, nil, false)
	h.apiKey("read-key", []string{"read"}, nil, false)
	h.webhook("Chat", "http://127.0.0.1:9/c", "down", "degraded", "up")
	for i, title := range []string{"old", "mid", "new"} {
		h.setClock(t0.Add(time.Duration(i*10) * time.Hour))
		if rec := h.do("POST", "/api/alert", `{"title":"`+title+`","message":"m","labels":{"env":"prod"}}`, "Authorization: Bearer alert-key"); rec.Code != 200 {
			t.Fatalf("post %s: %d %s", title, rec.Code, body(rec))
		}
	}
	h.setClock(t0.Add(30 * time.Hour))
	read := "Authorization: Bearer read-key"
	tests := []struct {
		query  string
		code   int
		titles string
	}{
		{"", 200, "new,mid"}, // the last 24 hours
		{"?hours=0", 200, "new,mid,old"},
		{"?hours=12", 200, "new"},
		{"?limit=1&hours=0", 200, "new"},
		{"?since=2026-11-26T12:00:00Z", 200, "new,mid"},
		{"?since=2026-11-26T22:00:00%2B01:00", 200, "new,mid"},
		{"?since=yesterday", 400, ""},
		{"?limit=0", 400, ""},
		{"?hours=-1", 400, ""},
	}
	for _, tt := range tests {
		rec := h.do("GET", "/api/alerts/recent"+tt.query, "", read)
		if rec.Code != tt.code {
			t.Errorf("%s: status %d, want %d: %s", tt.query, rec.Code, tt.code, body(rec))
			continue
		}
		if tt.code != 200 {
			continue
		}
		var reply api.RecentReply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, a := range reply.Alerts {
			titles = append(titles, a.Title)
		}
		if got := strings.Join(titles, ","); got != tt.titles || reply.Count != len(titles) || !reply.Success {
			t.Errorf("%s: got %s (count %d), want %s", tt.query, got, reply.Count, tt.titles)
		}
	}
	rec := h.do("GET", "/api/alerts/recent?hours=0&limit=1", "", read)
	for _, s := range []string{`"channels":["Chat"]`, `"labels":{"env":"prod"}`, `"timestamp":"2026-11-27T08:00:00.000Z"`, `"source":"external"`} {
		if !strings.Contains(body(rec), s) {
			t.Errorf("reply lacks %s: %s", s, body(rec))
		}
	}
	if rec := h.do("GET", "/api/alerts/recent", ""); rec.Code != 401 {
		t.Errorf("anonymous: status %d, want 401", rec.Code)
	}
	if rec := h.do("GET", "/api/alerts/recent", "", "Authorization: Bearer alert-key"); rec.Code != 401 {
		t.Errorf("alert key: status %d, want 401 (reading needs the read scope)", rec.Code)
	}
}
