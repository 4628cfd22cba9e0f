package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

// statusOf reads one service's entry from GET /api/status (the harness must allow it).
func statusOf(t *testing.T, h *harness, serviceID string, headers ...string) api.StatusResult {
	t.Helper()
	res := h.do("GET", "/api/status", "", headers...)
	if res.Code != 200 {
		t.Fatalf("GET /api/status: %d %s", res.Code, body(res))
	}
	var out struct{ Summary api.StatusSummary }
	if err := json.Unmarshal(res.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Summary.Results {
		if r.ServiceID == serviceID {
			return r
		}
	}
	t.Fatalf("%s not in /api/status", serviceID)
	return api.StatusResult{}
}

// setSeen stores a beat's effect directly, as the writer would have.
func setSeen(t *testing.T, h *harness, serviceID string, at time.Time, status string) {
	t.Helper()
	setState(t, h.app.DB(), serviceID, dbx.Params{"lastSeen": store.DBDate(at), "lastStatus": status, "lastMessage": "m"})
	var r store.EngineServiceRow
	if err := h.app.DB().NewQuery(store.SQLEngineServices + " WHERE s.serviceId = {:sid}").Bind(dbx.Params{"sid": serviceID}).One(&r); err != nil {
		t.Fatal(err)
	}
	h.s.alerts.Engine().Refresh(alerting.EngineService(r))
}

func TestReadRoutesAuth(t *testing.T) {
	h := newHarness(t)
	svc := h.service("web-1", "service-key", nil)
	h.apiKey("read-key", []string{"read"}, nil, false)
	h.apiKey("beat-key", []string{"heartbeat"}, nil, false)
	h.apiKey("off-key", []string{"read"}, nil, true)
	user, super := h.authToken("users"), h.authToken("_superusers")
	for _, path := range []string{"/api/status", "/api/services", "/api/logs?serviceId=web-1"} {
		for _, c := range []struct {
			name   string
			header string
			want   int
		}{
			{"anonymous", "", 401},
			{"user token", "Authorization: " + user, 200},
			{"superuser token", "Authorization: Bearer " + super, 200},
			{"read-scope api key", "Authorization: Bearer read-key", 200},
			{"heartbeat-only api key", "Authorization: Bearer beat-key", 401},
			{"disabled read key", "Authorization: Bearer off-key", 401},
			{"a service's own key", "Authorization: Bearer service-key", 401},
		} {
			res := h.do("GET", path, "", c.header)
			if res.Code != c.want {
				t.Errorf("%s as %s: %d, want %d", path, c.name, res.Code, c.want)
			}
			if c.want == 401 && body(res) != `{"error":"Unauthorized"}` {
				t.Errorf("%s as %s: body %s", path, c.name, body(res))
			}
		}
	}
	if strings.Contains(body(h.do("GET", "/api/services", "", "Authorization: Bearer read-key")), "service-key") {
		t.Error("/api/services shows a key")
	}
	_ = svc
}

func TestPublicStatus(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true })
	h.service("web-1", "k", nil)
	for _, path := range []string{"/api/status", "/api/services", "/api/logs?serviceId=web-1"} {
		if res := h.do("GET", path, ""); res.Code != 200 {
			t.Errorf("%s anonymous with --publicStatus: %d", path, res.Code)
		}
	}
	// PocketBase's own log list stays superuser-only.
	if res := h.do("GET", "/api/logs", ""); res.Code != 401 {
		t.Errorf("PocketBase /api/logs anonymous: %d, want 401", res.Code)
	}
}

func TestStatusComputedLive(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true })
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	h.service("up-1", "k1", map[string]any{"name": "Up One", "group": "prod"})
	h.service("late-1", "k2", nil)
	h.service("down-1", "k3", nil)
	h.service("reported-1", "k4", nil)
	h.service("degraded-1", "k5", nil)
	h.service("paused-1", "k6", map[string]any{"paused": true})
	h.service("new-1", "k7", nil)
	setSeen(t, h, "up-1", now.Add(-10*time.Second), "up")
	setSeen(t, h, "late-1", now.Add(-121*time.Second), "up")
	setSeen(t, h, "down-1", now.Add(-300*time.Second-time.Millisecond), "up")
	setSeen(t, h, "reported-1", now.Add(-time.Second), "down")
	setSeen(t, h, "degraded-1", now.Add(-time.Second), "degraded")
	setSeen(t, h, "paused-1", now.Add(-time.Hour), "up")

	res := h.do("GET", "/api/status", "")
	var out struct{ Summary api.StatusSummary }
	if err := json.Unmarshal(res.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.Summary
	if s.TotalServices != 7 || s.ServicesUp != 1 || s.ServicesLate != 1 || s.ServicesDown != 2 || s.ServicesDegraded != 1 || s.ServicesPaused != 1 || s.ServicesUnknown != 1 {
		t.Errorf("counts %+v", s)
	}
	if s.Timestamp != "2026-11-26T12:00:00.000Z" {
		t.Errorf("timestamp %s", s.Timestamp)
	}
	want := map[string]string{"up-1": "up", "late-1": "late", "down-1": "down", "reported-1": "down", "degraded-1": "degraded", "paused-1": "paused", "new-1": "unknown"}
	for _, r := range s.Results {
		if r.Status != want[r.ServiceID] {
			t.Errorf("%s: %s, want %s", r.ServiceID, r.Status, want[r.ServiceID])
		}
	}
	up := statusOf(t, h, "up-1")
	if up.ServiceName != "Up One" || up.Group != "prod" || *up.LastSeen != "2026-11-26T11:59:50.000Z" || *up.TimeSinceLastHeartbeat != 10000 || up.StalenessThreshold != 300000 || *up.LastStatus != "up" {
		t.Errorf("up-1 entry %+v", up)
	}
	if fresh := statusOf(t, h, "new-1"); fresh.LastSeen != nil || fresh.TimeSinceLastHeartbeat != nil || fresh.ServiceName != "new-1" {
		t.Errorf("never-seen entry %+v", fresh)
	}
	// Exact to the second: one more second turns late-1 (interval 120 s) into... still late,
	// and up-1 at 121 s since its beat into late.
	h.setClock(now.Add(111 * time.Second))
	if got := statusOf(t, h, "up-1").Status; got != "late" {
		t.Errorf("up-1 121 s after its beat: %s, want late", got)
	}
}

func TestServicesList(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true })
	h.service("b-svc", "secret-b", map[string]any{"name": "B", "description": "the b", "group": "g1", "interval": 60, "stalenessThreshold": 180})
	h.service("a-svc", "secret-a", map[string]any{"paused": true})
	got := body(h.do("GET", "/api/services", ""))
	want := `[{"id":"a-svc","name":"a-svc","description":"","group":"","enabled":false,"interval":120,"stalenessThreshold":300},` +
		`{"id":"b-svc","name":"B","description":"the b","group":"g1","enabled":true,"interval":60,"stalenessThreshold":180}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestLogsRoute(t *testing.T) {
	h := newHarness(t)
	super := "Authorization: " + h.authToken("_superusers")
	h.service("web-1", "k", map[string]any{"name": "Web"})
	h.service("db-1", "k2", nil)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	setSeen(t, h, "web-1", t0.Add(-time.Second), "up")
	for i := 0; i < 3; i++ {
		if err := h.s.alerts.CheckStaleness(t0.Add(time.Duration(i) * 4 * time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	res := h.do("GET", "/api/logs?serviceId=web-1", "", super)
	var logs []api.LogEntry
	if err := json.Unmarshal(res.Body.Bytes(), &logs); err != nil {
		t.Fatalf("%d %s: %v", res.Code, body(res), err)
	}
	if len(logs) != 3 {
		t.Fatalf("%d logs, want 3", len(logs))
	}
	// Newest first: at t0+8m the service (seen t0-1s, threshold 300 s) is down.
	if logs[0].Status != "down" || logs[0].PreviousStatus != "late" || logs[0].Timestamp != "2026-11-26T12:08:00.000Z" ||
		*logs[0].TimeSinceLastHeartbeat != 481000 || logs[0].StalenessThreshold != 300000 || logs[0].ServiceName != "Web" || *logs[0].LastSeen != "2026-11-26T11:59:59.000Z" {
		t.Errorf("newest log %+v", logs[0])
	}
	if logs[2].Status != "up" || logs[2].PreviousStatus != "unknown" {
		t.Errorf("oldest log %+v", logs[2])
	}
	if res := h.do("GET", "/api/logs?serviceId=web-1&limit=1", "", super); strings.Count(body(res), `"serviceId"`) != 1 {
		t.Errorf("limit=1: %s", body(res))
	}
	for q, want := range map[string]string{
		"serviceId=ghost":         `404 {"error":"Unknown serviceId"}`,
		"serviceId=web-1&limit=0": `400 {"error":"limit must be a positive integer"}`,
		"serviceId=web-1&limit=x": `400 {"error":"limit must be a positive integer"}`,
		"serviceId=a/b":           `400 {"error":"Invalid service format"}`,
	} {
		res := h.do("GET", "/api/logs?"+q, "", super)
		if got := strings.TrimSpace(strings.Join([]string{itoa(res.Code), body(res)}, " ")); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	// Without serviceId the request is PocketBase's: a superuser still reads its logs.
	h.app.Logger().Info("hello from the test")
	pb := h.do("GET", "/api/logs?page=1&perPage=5", "", super)
	if pb.Code != 200 || !strings.Contains(body(pb), `"items"`) || !strings.Contains(body(pb), `"totalItems"`) {
		t.Errorf("PocketBase /api/logs: %d %s", pb.Code, body(pb))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestStatusTimedPause(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true })
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	h.service("maint-1", "k", map[string]any{"pausedUntil": now.Add(time.Hour)})
	setSeen(t, h, "maint-1", now.Add(-time.Hour), "up")
	if st := statusOf(t, h, "maint-1"); st.Status != "paused" {
		t.Errorf("during a timed pause: %s, want paused", st.Status)
	}
	if strings.Contains(body(h.do("GET", "/api/services", "")), `"enabled":true`) {
		t.Error("/api/services shows a service in a timed pause as enabled")
	}
	h.setClock(now.Add(61 * time.Minute))
	if st := statusOf(t, h, "maint-1"); st.Status != "down" {
		t.Errorf("after the pause: %s, want down", st.Status)
	}
}
