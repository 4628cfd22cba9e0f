package app

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// benchNow is the clock of the render measurements.
var benchNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// seedServices inserts n services straight into the table (the record API would take
// seconds for a thousand): a dozen groups, one in fifty down, one in ten with three
// incidents in the last 90 days.
func seedServices(t testing.TB, app core.App, n int, now time.Time) {
	t.Helper()
	groups := []string{"payments", "search", "billing", "auth", "notifications", "storage", "ingest", "reports", "web", "mobile-api", "cron", "internal"}
	svcs, states := make([][]any, 0, n), make([][]any, 0, n)
	var incs [][]any
	for i := range n {
		id := fmt.Sprintf("svc%012d", i)
		seen := now.Add(-time.Duration(5+i%100) * time.Second)
		if i%50 == 7 {
			seen = now.Add(-20 * time.Minute)
		}
		g := groups[i%len(groups)]
		svcs = append(svcs, []any{id, fmt.Sprintf("%s-%04d", g, i), fmt.Sprintf("%s worker %d", g, i), g, fmt.Sprintf("key%037d", i),
			120, 300, false, store.DBDate(now.AddDate(0, -6, 0)), store.DBDate(now.AddDate(0, -6, 0))})
		states = append(states, []any{id, id, store.DBDate(seen), "up", "processed 1,284 jobs in 2.1s", "up", store.DBDate(now.AddDate(0, 0, -30))})
		if i%10 == 4 {
			for k := 1; k <= 3; k++ {
				start := now.AddDate(0, 0, -(i%80 + k*7))
				end := start.Add(time.Duration(5+i%40) * time.Minute)
				incs = append(incs, []any{fmt.Sprintf("inc%08d%04d", i, k), id, "down", "stale", store.DBDate(start), store.DBDate(end), store.DBDate(start), store.DBDate(end)})
			}
		}
	}
	err := store.InsertRows(app.DB(), "services", []string{"id", "serviceId", "name", "group", "apiKey", "interval", "stalenessThreshold", "paused",
		"created", "updated"}, svcs)
	if err == nil {
		err = store.InsertRows(app.DB(), "service_states", []string{"id", "service", "lastSeen", "lastStatus", "lastMessage", "status", "statusChangedAt"}, states)
	}
	if err == nil {
		err = store.InsertRows(app.DB(), "incidents", []string{"id", "service", "status", "cause", "startedAt", "endedAt", "created", "updated"}, incs)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// dashboardWith is a served app holding n services, and a browser logged in to it.
// It takes a testing.TB so benchmarks can use it too; the alert ticker is off, so
// nothing rewrites the seeded services while they are measured.
func dashboardWith(t testing.TB, n int) *browser {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	cfg := DefaultConfig()
	cfg.ManualEngine = true
	s := register(app, &cfg)
	s.setNow(func() time.Time { return benchNow })
	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	var mux http.Handler
	err = app.OnServe().Trigger(&core.ServeEvent{App: app, Router: router}, func(e *core.ServeEvent) error {
		var err error
		mux, err = e.Router.BuildMux()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	seedServices(t, app, n, benchNow)
	s.alerts.StartedAt = benchNow.AddDate(0, 0, -1) // no restart grace: the quiet ones are down
	// The seeded facts, as a start would load them.
	if err := s.alerts.LoadEngine(); err != nil {
		t.Fatal(err)
	}
	s.alerts.Engine().StepAll(benchNow)
	newPerson(t, app, "users", "ann@example.com")
	b := &browser{t: t, mux: mux, ip: "10.0.0.1", cookies: map[string]*http.Cookie{}}
	if res := b.login("ann@example.com", dashPassword); res.Code != 303 {
		t.Fatalf("login: %d", res.Code)
	}
	return b
}

// TestOverviewServerRender measures the whole server side of the overview (the page
// picked from the engine, its SQLite queries, uptime maths, rendering) for 1,000
// services and the size of the refreshed partial for 100. With RENDER_REPORT=1 it
// prints the figures for `make bench`, and those of a few pages of 100,000 services:
//
//	RENDER_REPORT=1 go test ./app/ -run TestOverviewServerRender -v
func TestOverviewServerRender(t *testing.T) {
	report := os.Getenv("RENDER_REPORT") != ""
	if testing.Short() && !report {
		t.Skip("-short")
	}
	b := dashboardWith(t, 1000)
	runs := 5
	if report {
		runs = 51
	}
	times := make([]time.Duration, 0, runs)
	size := 0
	for range runs {
		start := time.Now()
		res := b.send("GET", "/", nil)
		times = append(times, time.Since(start))
		if res.Code != 200 {
			t.Fatalf("GET /: %d", res.Code)
		}
		size = res.Body.Len()
	}
	slices.Sort(times)

	live := dashboardWith(t, 100).send("GET", "/overview/live", nil, "HX-Request: true")
	if live.Code != 200 {
		t.Fatalf("GET /overview/live: %d", live.Code)
	}
	if live.Body.Len() >= 30*1024 {
		t.Errorf("live partial for 100 services: %d bytes, want under 30 KB", live.Body.Len())
	}
	if report {
		fmt.Printf("server: GET / with 1000 services (one page: engine, SQLite, uptime maths, render): median %.1f ms (min %.1f, p90 %.1f) over %d runs, %d KB\n",
			renderMillis(times[len(times)/2]), renderMillis(times[0]), renderMillis(times[len(times)*9/10]), runs, size/1024)
		fmt.Printf("server: GET /overview/live with 100 services: %.1f KB\n", float64(live.Body.Len())/1024)
		big := dashboardWith(t, 100_000)
		for _, path := range []string{"/", "/?page=1000", "/?q=payments-0996", "/?status=down&page=20"} {
			times = times[:0]
			for range 11 {
				start := time.Now()
				res := big.send("GET", path, nil)
				times = append(times, time.Since(start))
				if res.Code != 200 {
					t.Fatalf("GET %s: %d", path, res.Code)
				}
				size = res.Body.Len()
			}
			slices.Sort(times)
			fmt.Printf("server: GET %s with 100000 services: median %.1f ms (min %.1f) over %d runs, %d KB\n",
				path, renderMillis(times[len(times)/2]), renderMillis(times[0]), len(times), size/1024)
		}
	}
}

func renderMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkOverviewHandler1000 is GET / with 1,000 services, end to end in the process.
func BenchmarkOverviewHandler1000(b *testing.B) {
	br := dashboardWith(b, 1000)
	for b.Loop() {
		if res := br.send("GET", "/", nil); res.Code != 200 {
			b.Fatalf("GET /: %d", res.Code)
		}
	}
}
