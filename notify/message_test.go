package notify

import (
	"net/mail"
	"strings"
	"testing"
	"time"
)

func mailAddress(name, addr string) mail.Address { return mail.Address{Name: name, Address: addr} }

func TestMessageWording(t *testing.T) {
	tests := []struct {
		name    string
		m       Message
		title   string
		summary string
		facts   []string // "Label: Value" lines the text must have
	}{
		{
			name: "stale down says since when and the last message", m: down,
			title:   "🔴 Primary DB is down (and 2 dependent services)",
			summary: "No heartbeat from Primary DB since 2025-11-26 11:54:00 UTC (6m ago).",
			facts:   []string{"Service: db-1", "Since: 2025-11-26 11:59:00 UTC", `Last message: disk <90% & "ok"`, "Dependent services down: api, web"},
		},
		{
			name:  "reported down",
			m:     Message{Event: "down", ServiceID: "job", Status: "down", Cause: "reported", Since: at, At: at, LastSeen: at, LastMessage: "exit 3"},
			title: "🔴 job is down", summary: "job reported itself down since 2025-11-26 12:00:00 UTC.",
			facts: []string{"Last message: exit 3"},
		},
		{
			name: "a run past its bound says how long it has run",
			m: Message{Event: "down", ServiceID: "backup", Status: "down", Cause: "overrun", Since: at, At: at,
				RunStarted: at.Add(-2*time.Hour - 30*time.Minute)},
			title:   "🔴 backup is down",
			summary: "backup is still running after 2h 30m: its run started 2025-11-26 09:30:00 UTC and has not finished.",
			facts:   []string{"Run started: 2025-11-26 09:30:00 UTC"},
		},
		{
			name: "recovery says how long it was down", m: recovery,
			title: "✅ Primary DB recovered", summary: "Primary DB was down for 1m 1s.",
			facts: []string{"Down for: 1m 1s"},
		},
		{
			name:  "down to degraded",
			m:     Message{Event: "up", ServiceID: "api", Status: "degraded", Was: "down", DurationSeconds: 3600},
			title: "🟠 api is no longer down, now degraded", summary: "api was down for 1h.",
		},
		{
			name:  "paused while down",
			m:     Message{Event: "up", ServiceID: "api", Status: "paused", Was: "down"},
			title: "⏸️ api is paused (was down)",
		},
		{
			name:  "a reminder with one dependent",
			m:     Message{Event: "reminder", ServiceID: "db", Status: "down", Cause: "stale", At: at, LastSeen: at.Add(-2 * time.Hour), DependentCount: 1, Dependents: []string{"api"}},
			title: "🔁 db is still down (and 1 dependent service)", summary: "No heartbeat from db since 2025-11-26 10:00:00 UTC (2h ago).",
		},
		{name: "late", m: late, title: "🕒 cron is late", summary: "A heartbeat from cron is overdue: the last one came 3m ago."},
		{name: "flapping", m: Message{Event: "flapping", ServiceID: "x"}, title: "🔀 x is flapping"},
		{
			name:  "more dependents than named",
			m:     Message{Event: "down", ServiceID: "r", DependentCount: 12, Dependents: []string{"a", "b"}},
			title: "🔴 r is down (and 12 dependent services)", facts: []string{"Dependent services down: a, b and 10 more"},
		},
		{
			name:  "external alert",
			m:     Message{Event: EventExternal, Alert: &External{Title: "Disk", Message: "95% used", Severity: "critical", Source: "prom", Labels: map[string]string{"host": "n1"}}},
			title: "🚨 [CRITICAL] Disk", summary: "95% used", facts: []string{"Source: prom", "host: n1"},
		},
		{
			name:  "external alert resolved",
			m:     Message{Event: EventExternal, Alert: &External{Title: "Disk", Severity: "critical", Resolved: true}},
			title: "✅ [RESOLVED] Disk",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Title(); got != tt.title {
				t.Errorf("title: got %q, want %q", got, tt.title)
			}
			if tt.summary != "" {
				if got := tt.m.Summary(); got != tt.summary {
					t.Errorf("summary: got %q, want %q", got, tt.summary)
				}
			}
			text := tt.m.Text()
			for _, f := range tt.facts {
				if !strings.Contains(text, "\n"+f) {
					t.Errorf("text lacks %q:\n%s", f, text)
				}
			}
		})
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1500 * time.Millisecond: "2s", 61 * time.Second: "1m 1s", time.Hour: "1h",
		3*time.Hour + 20*time.Minute + 5*time.Second: "3h 20m", 50 * time.Hour: "2d 2h", -time.Second: "0s",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v): got %q, want %q", d, got, want)
		}
	}
}

func TestSeverity(t *testing.T) {
	for _, tt := range []struct {
		m    Message
		want string
	}{
		{Message{Event: "down"}, "critical"}, {Message{Event: "reminder", Status: "degraded"}, "warning"},
		{Message{Event: "degraded"}, "warning"}, {Message{Event: "up"}, "info"}, {Message{Event: "late"}, "warning"},
		{Message{Event: EventExternal, Alert: &External{Severity: "info"}}, "info"},
		{Message{Event: EventExternal, Alert: &External{Severity: "error"}}, "critical"},
	} {
		if got := tt.m.Severity(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.m, got, tt.want)
		}
	}
}
