package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	monitorapp "github.com/heartbeat-monitor/heartbeat-monitor/app"
	"github.com/heartbeat-monitor/heartbeat-monitor/cli"
	"github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
)

// newApp is the real binary's app (import command, record hooks,
// migrations) on dir, bootstrapped and migrated, without serving.
// importThenBulk runs the real import (args, then --dir data) of services 0..n-1,
// bulk-inserts services n..2n-1 beside them (cron ones with cron set) and returns every
// service record.
func importThenBulk(t *testing.T, data string, n int, cron bool, args ...string) []*core.Record {
	t.Helper()
	app := newApp(t, data)
	var out bytes.Buffer
	app.RootCmd.SetOut(&out)
	app.RootCmd.SetArgs(append(args, "--dir", data))
	if err := app.RootCmd.Execute(); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("services: %d created, 0 updated", n); !strings.Contains(out.String(), want) {
		t.Fatalf("import output (want %q):\n%s", want, out.String())
	}
	if err := bulkInsertServices(context.Background(), data, n, 2*n, time.Now(), cron); err != nil {
		t.Fatal(err)
	}
	recs, err := app.FindAllRecords("services")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*n {
		t.Fatalf("got %d services, want %d", len(recs), 2*n)
	}
	return recs
}

func newApp(t *testing.T, dir string) *pocketbase.PocketBase {
	t.Helper()
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: dir})
	cli.Register(app)
	cfg := monitorapp.DefaultConfig()
	monitorapp.Register(app, &cfg)
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if err := app.RunAllMigrations(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.ResetBootstrapState(); err != nil {
			t.Error(err)
		}
	})
	return app
}

// TestGeneratedFileImportsAndBulkMatchesIt imports a generated
// services.json with the real `import` command, bulk-inserts the same
// number of services straight into the same database, and expects the two
// sets of records to be alike field for field: the bench's fast path must
// produce what a user's import produces.
func TestGeneratedFileImportsAndBulkMatchesIt(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	file := filepath.Join(dir, "services.json")
	if err := genFile(file, n); err != nil {
		t.Fatal(err)
	}
	recs := importThenBulk(t, filepath.Join(dir, "data"), n, false, "import", file)
	byID := map[string]*core.Record{}
	for _, r := range recs {
		byID[r.GetString("serviceId")] = r
	}
	idPattern := regexp.MustCompile(`^[a-z0-9]{15}$`)
	// pingId: import's is random (the field autogenerates it), bulk's is pingID(i);
	// both must be a pingId the server accepts.
	perService := []string{"id", "serviceId", "name", "apiKey", "pingId", "created", "updated"}
	pingShape := regexp.MustCompile(migrations.PingIDPattern)
	for i := range n {
		imported, bulk := byID[serviceID(i)], byID[serviceID(n+i)]
		if imported == nil || bulk == nil {
			t.Fatalf("service %d: imported %v, bulk %v", i, imported != nil, bulk != nil)
		}
		for j, r := range []*core.Record{imported, bulk} {
			idx := i + j*n
			if got, want := r.GetString("apiKey"), serviceKey(idx); got != want || len(got) < 16 {
				t.Errorf("%s: apiKey %q, want %q (16+ chars)", serviceID(idx), got, want)
			}
			if got, want := r.GetString("name"), "Bench service "+serviceID(idx)[3:]; got != want {
				t.Errorf("%s: name %q, want %q", serviceID(idx), got, want)
			}
			if !pingShape.MatchString(r.GetString("pingId")) {
				t.Errorf("%s: pingId %q is not a lower-case UUID", serviceID(idx), r.GetString("pingId"))
			}
			if !idPattern.MatchString(r.Id) || r.GetDateTime("created").IsZero() || r.GetDateTime("updated").IsZero() {
				t.Errorf("%s: id %q created %q updated %q: not PocketBase's shapes", serviceID(idx), r.Id, r.GetString("created"), r.GetString("updated"))
			}
		}
		a, b := maps.Clone(imported.FieldsData()), maps.Clone(bulk.FieldsData())
		for _, f := range perService {
			delete(a, f)
			delete(b, f)
		}
		for f, av := range a {
			if bv := b[f]; !sameValue(av, bv) {
				t.Errorf("%s: field %s: import %#v, bulk %#v", serviceID(i), f, av, bv)
			}
		}
	}
	if got := byID[serviceID(0)].GetInt("stalenessThreshold"); got != benchThreshold {
		t.Errorf("stalenessThreshold %d, want %d", got, benchThreshold)
	}
	if got := byID[serviceID(n)].GetInt("interval"); got != benchInterval {
		t.Errorf("bulk interval %d, want %d", got, benchInterval)
	}
}

// sameValue compares two record field values by their printed form.
func sameValue(a, b any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestPercentileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%g = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
	if got := median([]time.Duration{3, 1, 2}); got != 2 {
		t.Errorf("median = %v, want 2", got)
	}
}

func TestMinuteBoundaries(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.TimeOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		from, to string
		want     int
	}{
		{"10:00:30", "10:00:50", 0},
		{"10:00:50", "10:01:10", 1},
		{"10:00:00.5", "10:03:00.5", 3},
		{"10:00:30", "10:02:29", 2}, // 2 minutes is enough whenever it starts... almost
	} {
		if got := minuteBoundaries(at(tc.from), at(tc.to)); got != tc.want {
			t.Errorf("%s..%s: %d boundaries, want %d", tc.from, tc.to, got, tc.want)
		}
	}
	if !nearMinuteBoundary(at("10:00:02")) || !nearMinuteBoundary(at("10:00:59.5")) || nearMinuteBoundary(at("10:00:30")) {
		t.Error("nearMinuteBoundary: want true from 1 s before to 5 s after a minute only")
	}
}

func TestProcParsers(t *testing.T) {
	stat := "1234 (heartbeat mon) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0 100 200 300"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 3s (250+50 ticks)", got, err)
	}
	status := "Name:\tx\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
	if kb, err := parseStatusField(strings.NewReader(status), "VmRSS"); err != nil || kb != 102400 {
		t.Errorf("VmRSS = %d, %v; want 102400", kb, err)
	}
	if _, err := parseStatusField(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("a missing field: want an error")
	}
}

// TestRunLoadSendsEveryScheduledBeat drives a local stub: at 200/s for 1 s
// every beat is sent once, with each service's own key, and acknowledged;
// a failing server's replies are counted as errors, never as latency.
func TestRunLoadSendsEveryScheduledBeat(t *testing.T) {
	var hits, badKey atomic.Int64
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			return // the warm-up
		}
		hits.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		id := regexp.MustCompile(`"serviceId":"sb-(\d+)"`).FindSubmatch(body)
		if id == nil || r.Header.Get("Authorization") != "Bearer "+serviceKey(atoi(t, string(id[1]))) {
			badKey.Add(1)
		}
		if _, err := io.WriteString(w, `{"success":true,"message":"Heartbeat received"}`); err != nil {
			t.Error(err)
		}
	}))
	defer ok.Close()
	res := runLoad(context.Background(), loadConfig{baseURL: ok.URL, services: 7, rate: 200, duration: time.Second, inflight: 256, timeout: 5 * time.Second})
	if res.Scheduled != 200 || res.OK != 200 || res.Dropped != 0 || res.Errors != 0 || hits.Load() != 200 {
		t.Errorf("scheduled %d ok %d dropped %d errors %d hits %d; want 200 sent and acknowledged", res.Scheduled, res.OK, res.Dropped, res.Errors, hits.Load())
	}
	t.Logf("against a stub: p50 %.2f ms, p99 %.2f ms, max %.2f ms", res.P50Ms, res.P99Ms, res.MaxMs)
	if badKey.Load() != 0 {
		t.Errorf("%d beats carried the wrong key", badKey.Load())
	}
	if res.FirstBeats != 7 {
		t.Errorf("first beats %d, want 7 (one per service)", res.FirstBeats)
	}
	if res.P50Ms <= 0 || res.P99Ms < res.P50Ms || res.MaxMs < res.P99Ms || !res.EveryService {
		t.Errorf("latency p50 %v p99 %v max %v, every service %v", res.P50Ms, res.P99Ms, res.MaxMs, res.EveryService)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			return
		}
		http.Error(w, `{"error":"Invalid API key"}`, http.StatusUnauthorized)
	}))
	defer bad.Close()
	res = runLoad(context.Background(), loadConfig{baseURL: bad.URL, services: 7, rate: 50, duration: 200 * time.Millisecond, inflight: 8, timeout: 5 * time.Second})
	if res.OK != 0 || res.Errors != 10 || !strings.Contains(res.FirstError, "HTTP 401") {
		t.Errorf("against a 401 server: ok %d errors %d first %q; want 10 errors", res.OK, res.Errors, res.FirstError)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestChecksJudgeTheIssueTargets gives the summary a 100k run that meets
// every target and one that misses p99 and ran too short.
func TestChecksJudgeTheIssueTargets(t *testing.T) {
	good := scaleResult{
		Services: 100_000, Import: &importResult{Seconds: 8, PeakMB: 250}, IdleWindowS: 30, IdleCPUPct: 1.5,
		Load:  &loadResult{Rate: 300, DurationS: 180, Scheduled: 54000, OK: 54000, AchievedPS: 299.9, P50Ms: 1, P99Ms: 4, MaxMs: 60, MinuteMarks: 3},
		Alert: &alertResult{QueuedMs: 300, SeenMs: 350, WebhookMs: 400},
	}
	for _, c := range checks(good) {
		if c.Result != pass {
			t.Errorf("good run: %s = %s (%s), want PASS", c.What, c.Result, c.Got)
		}
	}
	if len(checks(good)) != 8 {
		t.Errorf("100k: %d checks, want 8 (import time and RSS, rate, p99, max, idle CPU, minute boundaries, alert)", len(checks(good)))
	}
	badLoad := *good.Load
	badLoad.P99Ms, badLoad.DurationS, badLoad.MinuteMarks = 12, 20, 0
	bad := good
	bad.Load = &badLoad
	bad.IdleAfterCPUPct = 2.5 // idle before the load was fine, after it not
	got := map[string]verdict{}
	for _, c := range checks(bad) {
		got[c.What] = c.Result
	}
	for what, want := range map[string]verdict{"p99 at 300/s": miss, "300 beats/s for 3 min": miss, "load spans minute boundaries": miss, "max at 300/s": pass, "import 100k": pass, "idle CPU (worse of before/after load)": miss} {
		if got[what] != want {
			t.Errorf("%s = %s, want %s", what, got[what], want)
		}
	}
	unmeasured := checks(scaleResult{Services: 1_000_000, StoppedAt: "start-up: server RSS 4100 MB passed the limit"})
	for _, c := range unmeasured {
		if c.Result != notMeasured {
			t.Errorf("1M without figures: %s = %s, want n/a", c.What, c.Result)
		}
	}
	var sb strings.Builder
	printSummary(&sb, []scaleResult{bad, {Services: 1_000_000, StoppedAt: "start-up: too slow"}})
	for _, want := range []string{"p99 at 300/s", "12.00 ms", "MISS", "run stopped", "start-up: too slow"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestCounterCountsAcrossWrites(t *testing.T) {
	c := &counter{marker: []byte(`"serviceId":`)}
	body := []byte(`{"results":[{"serviceId":"a"},{"serviceId":"b"},{"serviceId":"c"}]}`)
	for i := 0; i < len(body); i += 5 { // every split point of the marker, in 5-byte writes
		if _, err := c.Write(body[i:min(i+5, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	if c.n != 3 {
		t.Errorf("counted %d, want 3", c.n)
	}
}

func TestTableAlignsColumns(t *testing.T) {
	var sb strings.Builder
	table(&sb, [][]string{{"a", "bb"}, {"ccc", "d"}, {"ü", "e"}})
	want := "a    bb\n---  --\nccc  d\nü    e\n"
	if sb.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", sb.String(), want)
	}
	if humanCount(1_000_000) != "1M" || humanCount(100_000) != "100k" || humanCount(1234) != "1234" {
		t.Error("humanCount: want 1M, 100k, 1234")
	}
}

// TestWarmInterval: a warmed fleet's interval leaves room for one round of the load and
// the minute before it, so no service goes late while the load is on its way to it.
func TestWarmInterval(t *testing.T) {
	for _, c := range []struct {
		n    int
		rate float64
		want time.Duration
	}{
		{10_000, 300, 3 * time.Minute},                   // a round is 33 s: the floor
		{100_000, 300, 500*time.Second + time.Minute},    // 333 s a round
		{1_000_000, 8500, 176*time.Second + time.Minute}, // 118 s a round
	} {
		if got := warmInterval(c.n, c.rate); got != c.want {
			t.Errorf("warmInterval(%d, %v) = %s, want %s", c.n, c.rate, got, c.want)
		}
	}
}

// TestShortfallSaysWhy: a run that did not keep its rate says how far it got and
// whether the server's core was the limit; a run that kept it says nothing.
func TestShortfallSaysWhy(t *testing.T) {
	cpu := scaleResult{LoadCPUPct: 90, Load: &loadResult{Rate: 8500, DurationS: 180, OK: 1_400_000, AchievedPS: 7900, Dropped: 60000}}
	if got := shortfall(cpu); !strings.Contains(got, "7900 of 8500 beats/s") || !strings.Contains(got, "CPU-bound") || !strings.Contains(got, "114 µs") {
		t.Errorf("CPU-bound run: %q", got)
	}
	wait := cpu
	wait.LoadCPUPct = 40
	if got := shortfall(wait); !strings.Contains(got, "waited") {
		t.Errorf("waiting run: %q", got)
	}
	kept := scaleResult{LoadCPUPct: 12, Load: &loadResult{Rate: 300, DurationS: 180, OK: 54000, Scheduled: 54000, AchievedPS: 300}}
	if got := shortfall(kept); got != "" {
		t.Errorf("a run that kept its rate: %q, want nothing", got)
	}
}
