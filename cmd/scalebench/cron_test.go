package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/migrations"
)

// TestCronChecksImportWithTheirPingIDsAndBulkMatches imports a generated checks.json
// with the real `import --from healthchecks`, bulk-inserts as many cron services beside
// them, and expects both halves to carry each service's known pingId, schedule, zone and
// grace: the load generator builds its ping URLs from the index alone.
func TestCronChecksImportWithTheirPingIDsAndBulkMatches(t *testing.T) {
	const n = 24
	dir := t.TempDir()
	file := filepath.Join(dir, "checks.json")
	if err := genChecksFile(file, n); err != nil {
		t.Fatal(err)
	}
	recs := importThenBulk(t, filepath.Join(dir, "data"), n, true, "import", file, "--from", "healthchecks")
	shape := regexp.MustCompile(migrations.PingIDPattern)
	seen := map[string]bool{}
	zones := map[string]bool{}
	for _, r := range recs {
		var i int
		sid := r.GetString("serviceId")
		if !regexp.MustCompile(`^sb-\d{7}$`).MatchString(sid) {
			t.Fatalf("serviceId %q", sid)
		}
		i = atoi(t, sid[3:])
		expr, tz, grace := cronSpec(i)
		how := "import"
		if i >= n {
			how = "bulk"
		}
		if got := r.GetString("pingId"); got != pingID(i) || !shape.MatchString(got) || seen[got] {
			t.Errorf("%s (%s): pingId %q, want %q, a lower-case UUID, unique", sid, how, got, pingID(i))
		}
		seen[r.GetString("pingId")] = true
		if r.GetString("schedule") != expr || r.GetString("timezone") != tz || r.GetInt("grace") != grace || r.GetInt("maxRuntime") != 0 {
			t.Errorf("%s (%s): schedule %q zone %q grace %d maxRuntime %d, want %q %q %d 0", sid, how,
				r.GetString("schedule"), r.GetString("timezone"), r.GetInt("grace"), r.GetInt("maxRuntime"), expr, tz, grace)
		}
		if r.GetBool("paused") {
			t.Errorf("%s (%s): paused", sid, how)
		}
		zones[r.GetString("schedule")+" "+r.GetString("timezone")] = true
	}
	if len(zones) != len(cronSchedules)*len(cronZones) {
		t.Errorf("%d schedule and zone pairs, want every one of %d", len(zones), len(cronSchedules)*len(cronZones))
	}
}

// TestCronLoadSpeaksHealthchecksDialect runs cron mode's load against a stub that
// answers like the ping API and expects the mix: pings by UUID, each start followed
// about 2 s later by exit status 0 with the same rid on the same ping URL, and pings by
// the fleet key and serviceId; every reply must be "OK".
func TestCronLoadSpeaksHealthchecksDialect(t *testing.T) {
	const services, rate = 50, 200
	var mu sync.Mutex
	started := map[string]string{} // rid -> pingId of its start
	var uuid, starts, finishes, slugs, bad int
	var badPaths []string
	uuidPath := regexp.MustCompile(`^/ping/([0-9a-f-]{36})(/start|/0)?$`)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		rid := r.URL.Query().Get("rid")
		m := uuidPath.FindStringSubmatch(r.URL.Path)
		switch {
		case r.Method != http.MethodGet:
			bad++
		case strings.HasPrefix(r.URL.Path, "/ping/"+benchFleetKey+"/sb-"):
			slugs++
		case m == nil:
			bad++
			badPaths = append(badPaths, r.URL.String())
		case m[2] == "" && rid == "":
			uuid++
		case m[2] == "/start" && rid != "":
			started[rid] = m[1]
			starts++
		case m[2] == "/0" && rid != "" && started[rid] == m[1]:
			finishes++
		default:
			bad++
			badPaths = append(badPaths, r.URL.String())
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if _, err := w.Write([]byte("OK")); err != nil {
			t.Error(err)
		}
	}))
	defer stub.Close()
	res := runLoad(context.Background(), loadConfig{baseURL: stub.URL, services: services, rate: rate, duration: 3 * time.Second,
		inflight: 64, timeout: 5 * time.Second, cron: true, fleetKey: benchFleetKey})
	if res.Errors != 0 || res.Dropped != 0 || res.OK != 600 {
		t.Fatalf("ok %d errors %d dropped %d (first %q); want 600 acknowledged", res.OK, res.Errors, res.Dropped, res.FirstError)
	}
	if bad != 0 {
		t.Errorf("%d requests not in the dialect, e.g. %v", bad, badPaths[:min(3, len(badPaths))])
	}
	// 600 steps: 30 cycles of 14 uuid, 2 start, 2 finish, 2 slug; the finishes of the
	// steps before 402 + 16 (2 s at 200/s, then the first finish slot) have no start
	// yet and are uuid pings instead: 10 cycles of finishes remain.
	if starts != 60 || slugs != 60 || finishes != 20 || uuid != 460 {
		t.Errorf("uuid %d starts %d finishes %d slugs %d; want 460, 60, 20, 60", uuid, starts, finishes, slugs)
	}
	if res.Kinds["finish"] != 20 || res.Kinds["uuid"] != 460 || res.FinishDelayS != 2.01 {
		t.Errorf("kinds %v, finish delay %v s", res.Kinds, res.FinishDelayS)
	}
}

// TestAlignFirePicksTheNextFiveMinuteMark: with time enough before the next */5 mark
// for the stages before the load, that mark is the one the load straddles, at once.
func TestAlignFirePicksTheNextFiveMinuteMark(t *testing.T) {
	c := scaleConfig{settle: 2 * time.Second, idle: 5 * time.Second, duration: 20 * time.Second}
	now := time.Date(2026, 11, 30, 20, 51, 10, 0, time.UTC)
	t0 := time.Now()
	fire, err := alignFire(context.Background(), func() time.Time { return now }, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 30, 20, 55, 0, 0, time.UTC); !fire.Equal(want) {
		t.Errorf("fire %v, want %v", fire, want)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("waited %v with minutes to spare", d)
	}
}

// TestFleetCountsReadsTheSummary reads the counts from /api/status's summary object.
func TestFleetCountsReadsTheSummary(t *testing.T) {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+benchReadKey || r.URL.Query().Get("perPage") != "1" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		if _, err := w.Write([]byte(`{"summary":{"totalServices":10,"servicesUp":6,"servicesLate":3,"servicesDown":1,"servicesUnknown":0,` +
			`"results":[{"serviceId":"sb-0000000","status":"up"}],"page":1,"perPage":1,"hasMore":true}}`)); err != nil {
			t.Error(err)
		}
	}))
	defer stub.Close()
	f, err := fleetCounts(context.Background(), newHTTPClient(1, 5*time.Second), stub.URL)
	if err != nil {
		t.Fatal(err)
	}
	if *f != (fleetState{Up: 6, Late: 3, Down: 1}) {
		t.Errorf("counts %+v, want 6 up, 3 late, 1 down", *f)
	}
}
