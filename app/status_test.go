package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
)

// statusReply is /api/status as a client reads it.
type statusReply struct {
	Summary struct {
		TotalServices int `json:"totalServices"`
		ServicesUp    int `json:"servicesUp"`
		ServicesDown  int `json:"servicesDown"`
		ServicesLate  int `json:"servicesLate"`
		Results       []struct {
			ServiceID              string `json:"serviceId"`
			Group                  string `json:"group"`
			Status                 string `json:"status"`
			TimeSinceLastHeartbeat *int64 `json:"timeSinceLastHeartbeat"`
			StalenessThreshold     int64  `json:"stalenessThreshold"`
		} `json:"results"`
		Page    *int  `json:"page"`
		PerPage *int  `json:"perPage"`
		HasMore *bool `json:"hasMore"`
	} `json:"summary"`
}

func (h *harness) status(query string) statusReply {
	h.t.Helper()
	res := h.do("GET", "/api/status"+query, "", "Authorization: Bearer read-key-long-enough")
	if res.Code != 200 {
		h.t.Fatalf("GET /api/status%s: %d %s", query, res.Code, body(res))
	}
	var r statusReply
	if err := json.Unmarshal(res.Body.Bytes(), &r); err != nil {
		h.t.Fatalf("GET /api/status%s: %v in %s", query, err, body(res))
	}
	return r
}

func ids(r statusReply) string {
	var out []string
	for _, s := range r.Summary.Results {
		out = append(out, s.ServiceID)
	}
	return strings.Join(out, ",")
}

// statusFleet is 2,500 services in two groups (more than one chunk of the engine's scan),
// one in ten of them quiet for ten minutes (down), the rest beating.
func statusFleet(t *testing.T) *harness {
	h := newHarness(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	rows, states := make([][]any, 0, 2500), make([][]any, 0, 2500)
	for i := range 2500 {
		seen := now.Add(-10 * time.Second)
		if i%10 == 3 {
			seen = now.Add(-10 * time.Minute)
		}
		group := []string{"alpha", "beta"}[i%2]
		rec := fmt.Sprintf("rec%012d", i)
		rows = append(rows, []any{rec, fmt.Sprintf("svc-%04d", i), group, fmt.Sprintf("key-%036d", i), 120, 300,
			store.DBDate(now.AddDate(0, 0, -1)), store.DBDate(now.AddDate(0, 0, -1))})
		states = append(states, []any{rec, rec, store.DBDate(seen), "up", "unknown"})
	}
	err := store.InsertRows(h.app.DB(), "services", []string{"id", "serviceId", "group", "apiKey", "interval", "stalenessThreshold", "created", "updated"}, rows)
	if err == nil {
		err = store.InsertRows(h.app.DB(), "service_states", []string{"id", "service", "lastSeen", "lastStatus", "status"}, states)
	}
	if err != nil {
		t.Fatal(err)
	}
	h.s.alerts.StartedAt = now.AddDate(0, 0, -1) // running all along: no restart grace
	h.reloadEngine()
	return h
}

func TestStatusFiltersAndPages(t *testing.T) {
	h := statusFleet(t)

	all := h.status("")
	if n := len(all.Summary.Results); n != 2500 || all.Summary.TotalServices != 2500 || all.Summary.ServicesDown != 250 || all.Summary.ServicesUp != 2250 {
		t.Fatalf("unfiltered: %d results, counts %+v", n, all.Summary)
	}
	if all.Summary.Page != nil || all.Summary.HasMore != nil {
		t.Error("the unfiltered reply has the original shape: no paging fields")
	}
	if first, last := all.Summary.Results[0], all.Summary.Results[2499]; first.ServiceID != "svc-0000" || first.Group != "alpha" || last.Group != "beta" {
		t.Errorf("order: first %+v last %+v, want by group then serviceId", first, last)
	}
	for _, r := range all.Summary.Results {
		if r.ServiceID == "svc-0003" && (r.Status != "down" || *r.TimeSinceLastHeartbeat != 600000 || r.StalenessThreshold != 300000) {
			t.Errorf("a quiet service: %+v, want down, 600000 ms since its beat, threshold 300000 ms", r)
		}
	}

	down := h.status("?status=down")
	if len(down.Summary.Results) != 250 || down.Summary.TotalServices != 2500 {
		t.Errorf("status=down: %d results (counts total %d), want 250 results and the whole fleet counted", len(down.Summary.Results), down.Summary.TotalServices)
	}
	for _, r := range down.Summary.Results {
		if r.Status != "down" {
			t.Fatalf("status=down lists %+v", r)
		}
	}
	if got := len(h.status("?status=down,up").Summary.Results); got != 2500 {
		t.Errorf("status=down,up: %d results, want 2500", got)
	}
	if got := h.status("?group=beta&status=down"); len(got.Summary.Results) != 250 { // the quiet ones are odd: in beta
		t.Errorf("group=beta&status=down: %d results, want 250", len(got.Summary.Results))
	}
	if got := h.status("?group=alpha&status=down"); len(got.Summary.Results) != 0 {
		t.Errorf("group=alpha&status=down: %d results, want none", len(got.Summary.Results))
	}
	if got := ids(h.status("?q=SVC-000")); got != "svc-0000,svc-0002,svc-0004,svc-0006,svc-0008,svc-0001,svc-0003,svc-0005,svc-0007,svc-0009" {
		t.Errorf("q=SVC-000 (case-insensitive): %s", got)
	}

	p1 := h.status("?perPage=1000")
	p3 := h.status("?perPage=1000&page=3")
	if len(p1.Summary.Results) != 1000 || *p1.Summary.Page != 1 || !*p1.Summary.HasMore {
		t.Errorf("page 1: %d results, page %v, hasMore %v", len(p1.Summary.Results), p1.Summary.Page, p1.Summary.HasMore)
	}
	if len(p3.Summary.Results) != 500 || *p3.Summary.HasMore || p3.Summary.Results[0].ServiceID != all.Summary.Results[2000].ServiceID {
		t.Errorf("page 3: %d results from %s, hasMore %v; want the last 500 from %s", len(p3.Summary.Results), p3.Summary.Results[0].ServiceID, *p3.Summary.HasMore, all.Summary.Results[2000].ServiceID)
	}
	if got := h.status("?page=2&perPage=100&status=down"); len(got.Summary.Results) != 100 || got.Summary.Results[0].ServiceID != down.Summary.Results[100].ServiceID {
		t.Errorf("page 2 of down: %s...", got.Summary.Results[0].ServiceID)
	}
	if got := h.status("?page=99"); len(got.Summary.Results) != 0 || *got.Summary.HasMore {
		t.Errorf("a page past the end: %d results", len(got.Summary.Results))
	}
	if got := *h.status("?perPage=5000").Summary.PerPage; got != api.MaxPerPage {
		t.Errorf("perPage=5000 gives %d a page, want the maximum %d", got, api.MaxPerPage)
	}
}

func TestStatusBadQueries(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	for _, q := range []string{"?status=broken", "?status=up,", "?page=0", "?page=x", "?perPage=-1"} {
		res := h.do("GET", "/api/status"+q, "", "Authorization: Bearer read-key-long-enough")
		if res.Code != 400 || !strings.HasPrefix(body(res), `{"error":"`) {
			t.Errorf("GET /api/status%s: %d %s, want a 400 in the seed's shape", q, res.Code, body(res))
		}
	}
}

// TestStatusIsTheEnginesAnswer: /api/status, the overview and the service page say the
// same thing at every moment, restart grace included (they disagreed before the engine:
// the page said down while the alerts were still giving the grace).
// viewOf is the engine's view of a service, unknown when the engine does not hold it.
func viewOf(eng *engine.Engine, serviceID string) engine.View {
	v, ok := eng.Get(serviceID)
	if !ok {
		v.State = monitor.Unknown
	}
	return v
}

func TestStatusIsTheEnginesAnswer(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	h.service("db", "db-key-long-enough", map[string]any{"interval": 10, "stalenessThreshold": 15})
	t0 := time.Date(2026, 11, 26, 14, 30, 9, 0, time.UTC)
	setSeen(t, h, "db", t0, "up")
	// The server restarts at 14:30:40: quiet since before the start, db gets a fresh 15 s.
	start := t0.Add(31 * time.Second)
	h.setClock(start)
	h.s.alerts.StartedAt = start
	h.reloadEngine()
	for _, c := range []struct {
		at   time.Duration // after the start
		want string
	}{{0, "up"}, {10 * time.Second, "up"}, {11 * time.Second, "late"}, {15 * time.Second, "late"}, {16 * time.Second, "down"}} {
		h.setClock(start.Add(c.at))
		got := h.status("").Summary.Results[0].Status
		view := viewOf(h.s.alerts.Engine(), "db")
		if got != c.want || string(view.State) != c.want {
			t.Errorf("%s after the restart: /api/status %s, engine %s; want %s", c.at, got, view.State, c.want)
		}
	}
	if v := viewOf(h.s.alerts.Engine(), "db"); !v.Since.Equal(start.Add(15 * time.Second)) {
		t.Errorf("down since %s, want the fresh threshold passing at %s", v.Since, start.Add(15*time.Second))
	}
	if inc := h.incident(viewOf(h.s.alerts.Engine(), "db").ID); inc.StartedAt != store.DBDate(start.Add(15*time.Second)) {
		t.Errorf("incident %+v, want it to start when the page says the service went down", inc)
	}
}
