package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

type incidentRow struct {
	Status    string `db:"status"`
	Cause     string `db:"cause"`
	StartedAt string `db:"startedAt"`
	EndedAt   string `db:"endedAt"`
}

func incidentsOf(t *testing.T, h *harness, recordID string) []incidentRow {
	t.Helper()
	var rows []incidentRow
	err := h.app.DB().NewQuery("SELECT status, cause, startedAt, endedAt FROM incidents WHERE service = {:id} ORDER BY startedAt").
		Bind(dbx.Params{"id": recordID}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestStalenessIncidents(t *testing.T) {
	h := newHarness(t)
	svc := h.service("web-1", "k", nil) // interval 120 s, threshold 300 s
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		name    string
		seen    time.Time // zero: no new beat
		status  string
		checkAt time.Time
		want    string // service status after the check
		inc     []incidentRow
	}{
		{"first beat", t0, "up", t0.Add(time.Minute), "up", nil},
		{"quiet past the interval", time.Time{}, "", t0.Add(3 * time.Minute), "late", nil},
		{"quiet past the threshold: down from the moment it passed", time.Time{}, "", t0.Add(6 * time.Minute), "down",
			[]incidentRow{{"down", "stale", "2026-11-26 12:05:00.000Z", ""}}},
		{"still down: the same incident goes on", time.Time{}, "", t0.Add(7 * time.Minute), "down",
			[]incidentRow{{"down", "stale", "2026-11-26 12:05:00.000Z", ""}}},
		{"recovers: closed at the recovering beat", t0.Add(7*time.Minute + 30*time.Second), "up", t0.Add(8 * time.Minute), "up",
			[]incidentRow{{"down", "stale", "2026-11-26 12:05:00.000Z", "2026-11-26 12:07:30.000Z"}}},
		{"reports degraded", t0.Add(8*time.Minute + 10*time.Second), "degraded", t0.Add(9 * time.Minute), "degraded",
			[]incidentRow{{"down", "stale", "2026-11-26 12:05:00.000Z", "2026-11-26 12:07:30.000Z"}, {"degraded", "reported", "2026-11-26 12:08:10.000Z", ""}}},
		{"reports down: degraded closes, down opens", t0.Add(9*time.Minute + 10*time.Second), "down", t0.Add(10 * time.Minute), "down",
			[]incidentRow{{"down", "stale", "2026-11-26 12:05:00.000Z", "2026-11-26 12:07:30.000Z"}, {"degraded", "reported", "2026-11-26 12:08:10.000Z", "2026-11-26 12:09:10.000Z"},
				{"down", "reported", "2026-11-26 12:09:10.000Z", ""}}},
	}
	for _, st := range steps {
		if !st.seen.IsZero() {
			setSeen(t, h, "web-1", st.seen, st.status)
		}
		if err := h.s.alerts.CheckStaleness(st.checkAt); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		rec, err := h.app.FindRecordById("service_states", svc.Id)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := rec.GetString("status"); got != st.want {
			t.Errorf("%s: status %s, want %s", st.name, got, st.want)
		}
		got := incidentsOf(t, h, svc.Id)
		if len(got) != len(st.inc) {
			t.Errorf("%s: incidents %+v, want %+v", st.name, got, st.inc)
			continue
		}
		for i := range got {
			if got[i] != st.inc[i] {
				t.Errorf("%s: incident %d = %+v, want %+v", st.name, i, got[i], st.inc[i])
			}
		}
	}
	changes, prev := 0, "unknown"
	for _, st := range steps {
		if st.want != prev {
			changes++
		}
		prev = st.want
	}
	if n := h.count("logs", "service = {:id}", dbx.Params{"id": svc.Id}); n != changes {
		t.Errorf("%d logs, want one per change of state (%d), none for a check that changes nothing", n, changes)
	}
	if n := h.count("summaries", "", nil); n != len(steps) {
		t.Errorf("%d summaries, want one per check (%d)", n, len(steps))
	}
}

func TestStalenessPausedClosesIncident(t *testing.T) {
	h := newHarness(t)
	svc := h.service("web-1", "k", nil)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	setSeen(t, h, "web-1", t0, "down")
	if err := h.s.alerts.CheckStaleness(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	svc, _ = h.app.FindRecordById("services", svc.Id)
	svc.Set("paused", true)
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	if err := h.s.alerts.CheckStaleness(t0.Add(2 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	inc := incidentsOf(t, h, svc.Id)
	if len(inc) != 1 || inc[0].EndedAt != "2026-11-26 12:02:00.000Z" {
		t.Errorf("incidents after pausing: %+v, want one closed at the check", inc)
	}
}

func TestStalenessSummary(t *testing.T) {
	h := newHarness(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.service("a", "k1", nil)
	h.service("b", "k2", nil)
	h.service("c", "k3", map[string]any{"paused": true})
	setSeen(t, h, "a", now.Add(-time.Second), "up")
	setSeen(t, h, "b", now.Add(-10*time.Minute), "up")
	if err := h.s.alerts.CheckStaleness(now); err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Total   int    `db:"totalServices"`
		Up      int    `db:"servicesUp"`
		Down    int    `db:"servicesDown"`
		Paused  int    `db:"servicesPaused"`
		Results string `db:"results"`
		Created string `db:"created"`
	}
	if err := h.app.DB().NewQuery("SELECT totalServices, servicesUp, servicesDown, servicesPaused, results, created FROM summaries").One(&sum); err != nil {
		t.Fatal(err)
	}
	if sum.Total != 3 || sum.Up != 1 || sum.Down != 1 || sum.Paused != 1 || sum.Created != "2026-11-26 12:00:00.000Z" {
		t.Errorf("summary %+v", sum)
	}
	// The results are the services whose state changed since the last summary.
	var results []alerting.SummaryEntry
	if err := json.Unmarshal([]byte(sum.Results), &results); err != nil || len(results) != 3 {
		t.Fatalf("results %s (%v), want the three services that changed state", sum.Results, err)
	}
	byID := map[string]alerting.SummaryEntry{}
	for _, r := range results {
		byID[r.ServiceID] = r
	}
	if b := byID["b"]; b.Status != "down" || b.TimeSinceLastHeartbeat == nil || *b.TimeSinceLastHeartbeat != 600000 {
		t.Errorf("b in the results: %+v, want down, 600000 ms since its beat", b)
	}
	if c := byID["c"]; c.Status != "paused" || c.TimeSinceLastHeartbeat != nil {
		t.Errorf("c in the results: %+v, want paused, never seen", c)
	}
	// A minute later nothing changed: the counts again, and no results.
	if err := h.s.alerts.CheckStaleness(now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := h.app.DB().NewQuery("SELECT totalServices, servicesUp, servicesDown, servicesPaused, results, created FROM summaries ORDER BY created DESC LIMIT 1").One(&sum); err != nil {
		t.Fatal(err)
	}
	if sum.Total != 3 || sum.Up != 1 || sum.Down != 1 || sum.Paused != 1 || sum.Results != "[]" {
		t.Errorf("the next summary %+v, want the same counts and no results", sum)
	}
}

func TestCronJobsRegisteredAndRecover(t *testing.T) {
	h := newHarness(t)
	ids := map[string]bool{}
	for _, j := range h.app.Cron().Jobs() {
		ids[j.Id()] = j.Expression() != ""
	}
	if !ids["staleness"] || !ids["retention"] {
		t.Errorf("cron jobs %v, want staleness and retention", ids)
	}
	if j := findJob(h, "staleness"); j == nil || j.Expression() != "* * * * *" {
		t.Errorf("staleness job must run every minute")
	}
	// A panicking body is recovered and logged, not fatal.
	h.s.cronJob("boom", func() error { panic("kaboom") })()
}

func findJob(h *harness, id string) interface{ Expression() string } {
	for _, j := range h.app.Cron().Jobs() {
		if j.Id() == id {
			return j
		}
	}
	return nil
}

func TestRetention(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepHeartbeats, c.KeepLogs, c.KeepSummaries, c.KeepIncidentsDays = 5, 3, 4, 30 })
	a := h.service("a", "k1", nil)
	b := h.service("b", "k2", nil)
	h.s.cfg.RateLimit = 0
	for i := 0; i < 12; i++ {
		h.beat("a", "k1")
	}
	for i := 0; i < 3; i++ {
		h.beat("b", "k2")
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 6; i++ {
		if err := h.s.alerts.CheckStaleness(now.Add(time.Duration(i) * time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Logs are written per change of state: give each service a history of six.
	for _, svc := range []string{a.Id, b.Id} {
		for i := range 6 {
			err := store.InsertRows(h.app.DB(), "logs", []string{"id", "service", "status", "previousStatus", "lastSeen", "timeSinceLastHeartbeat", "stalenessThreshold", "created"},
				[][]any{{svc[:8] + "log" + itoa(i), svc, "down", "up", "", 0, 300000, store.DBDate(now.Add(-time.Duration(i+1) * time.Hour))}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// Two closed incidents, one older than 30 days, and one open incident older still.
	for _, inc := range [][2]string{{"2026-09-01 00:00:00.000Z", "2026-09-02 00:00:00.000Z"}, {"2026-11-20 00:00:00.000Z", "2026-11-21 00:00:00.000Z"}, {"2026-08-01 00:00:00.000Z", ""}} {
		err := store.InsertRows(h.app.DB(), "incidents", []string{"id", "service", "status", "cause", "startedAt", "endedAt"},
			[][]any{{"inc" + strings.ReplaceAll(inc[0][:10], "-", ""), b.Id, "down", "stale", inc[0], inc[1]}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var newest []string
	if err := h.app.DB().NewQuery("SELECT id FROM heartbeats WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT 5").Bind(dbx.Params{"id": a.Id}).Column(&newest); err != nil {
		t.Fatal(err)
	}
	if err := h.s.prune(now); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		table, where string
		params       dbx.Params
		want         int
	}{
		{"heartbeats", "service = {:id}", dbx.Params{"id": a.Id}, 5},
		{"heartbeats", "service = {:id}", dbx.Params{"id": b.Id}, 3},
		{"logs", "service = {:id}", dbx.Params{"id": a.Id}, 3},
		{"logs", "service = {:id}", dbx.Params{"id": b.Id}, 3},
		{"summaries", "", nil, 4},
		{"incidents", "", nil, 2},
		{"incidents", "endedAt = ''", nil, 1},
	} {
		if got := h.count(c.table, c.where, c.params); got != c.want {
			t.Errorf("%s %s %v: %d rows after pruning, want %d", c.table, c.where, c.params, got, c.want)
		}
	}
	var kept []string
	if err := h.app.DB().NewQuery("SELECT id FROM heartbeats WHERE service = {:id} ORDER BY created DESC, rowid DESC").Bind(dbx.Params{"id": a.Id}).Column(&kept); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kept, ",") != strings.Join(newest, ",") {
		t.Errorf("kept %v, want the newest %v", kept, newest)
	}
}

// TestRetentionInBatches prunes more rows than one DELETE batch takes.
func TestRetentionInBatches(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepHeartbeats = 10 })
	a := h.service("a", "k1", nil)
	rows := make([][]any, 0, 2500)
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2500; i++ {
		rows = append(rows, []any{"hb" + strings.Repeat("0", 13-len(itoa(i))) + itoa(i), a.Id, "up", store.DBDate(base.Add(time.Duration(i) * time.Second))})
	}
	if err := store.InsertRows(h.app.DB(), "heartbeats", []string{"id", "service", "status", "created"}, rows); err != nil {
		t.Fatal(err)
	}
	if err := h.s.prune(base); err != nil {
		t.Fatal(err)
	}
	if got := h.count("heartbeats", "", nil); got != 10 {
		t.Errorf("%d heartbeats left, want 10", got)
	}
}
