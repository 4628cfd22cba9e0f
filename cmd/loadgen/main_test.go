package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopbackURL(t *testing.T) {
	for _, raw := range []string{
		"http://127.0.0.1:8090", "http://localhost:1/", "http://[::1]:8090", "https://127.0.0.1",
	} {
		if _, err := loopbackURL(raw); err != nil {
			t.Errorf("loopbackURL(%q) = %v, want ok", raw, err)
		}
	}
	for _, raw := range []string{
		"", "http://10.0.0.1:8090", "http://example.com", "http://127.0.0.2", "ftp://127.0.0.1",
		"http://localhost.example.com", "::not a url",
	} {
		if _, err := loopbackURL(raw); err == nil {
			t.Errorf("loopbackURL(%q) accepted, want refusal", raw)
		}
	}
	got, err := loopbackURL("http://127.0.0.1:8090/")
	if err != nil || got != "http://127.0.0.1:8090" {
		t.Errorf("trailing slash: got %q, %v", got, err)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(d, 50); got != 50*time.Millisecond {
		t.Errorf("p50 = %v", got)
	}
	if got := percentile(d, 99); got != 99*time.Millisecond {
		t.Errorf("p99 = %v", got)
	}
	if got := percentile(d, 100); got != 100*time.Millisecond {
		t.Errorf("p100 = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty p50 = %v", got)
	}
	if got := percentile(d[:1], 99); got != time.Millisecond {
		t.Errorf("single p99 = %v", got)
	}
}

func TestAlreadyExists(t *testing.T) {
	pb := `{"data":{"serviceId":{"code":"validation_not_unique","message":"Value must be unique."}},"message":"Failed to create record.","status":400}`
	if !alreadyExists([]byte(pb)) {
		t.Error("PocketBase not-unique reply not recognised")
	}
	if alreadyExists([]byte(`{"data":{"interval":{"code":"validation_required"}}}`)) {
		t.Error("unrelated validation error taken for already-exists")
	}
}

// fakeServer answers heartbeats: every 10th one with 503, the others 200,
// and counts the 200s.
func fakeServer(t *testing.T, ok *atomic.Int64) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/heartbeat" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var b struct {
			ServiceID string `json:"serviceId"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &b); err != nil || r.Header.Get("Authorization") != "Bearer bench-key-"+b.ServiceID {
			http.Error(w, "bad", http.StatusUnauthorized)
			return
		}
		if n.Add(1)%10 == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ok.Add(1)
		io.WriteString(w, `{"success":true,"message":"Heartbeat received","timestamp":"x"}`)
	}))
}

func TestRunClosedAndOpen(t *testing.T) {
	var ok atomic.Int64
	srv := fakeServer(t, &ok)
	defer srv.Close()

	for _, cfg := range []runConfig{
		{mode: "closed", concurrency: 4, maxBeats: 500},
		{mode: "open", concurrency: 4, rate: 400},
	} {
		ok.Store(0)
		cfg.baseURL = srv.URL
		cfg.services = 7
		cfg.duration = 300 * time.Millisecond
		cfg.grace = time.Second
		cfg.timeout = time.Second
		if cfg.maxBeats == 0 {
			cfg.maxBeats = 1_000_000
		}
		if err := cfg.validate(); err != nil {
			t.Fatalf("%s: validate: %v", cfg.mode, err)
		}
		res, err := runLoad(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: runLoad: %v", cfg.mode, err)
		}
		if res.OK2xx == 0 || res.OK2xx != ok.Load() {
			t.Errorf("%s: ok2xx = %d, server counted %d", cfg.mode, res.OK2xx, ok.Load())
		}
		if res.Sent != res.OK2xx+res.Status503+res.Status429+res.OtherErrors {
			t.Errorf("%s: sent %d != sum of outcomes %+v", cfg.mode, res.Sent, res)
		}
		if res.Status503 == 0 || res.OtherErrors != 0 || res.BadBody != 0 {
			t.Errorf("%s: unexpected outcome counts %+v", cfg.mode, res)
		}
		if res.P50Ms <= 0 || res.P99Ms < res.P50Ms || res.MaxMs < res.P99Ms {
			t.Errorf("%s: bad latency figures %+v", cfg.mode, res)
		}
		switch cfg.mode {
		case "closed":
			if res.Sent > cfg.maxBeats {
				t.Errorf("closed: sent %d > maxBeats %d", res.Sent, cfg.maxBeats)
			}
		case "open":
			// 400/s for 0.3 s: 120 scheduled beats.
			if res.Scheduled != 120 || res.Sent+res.Dropped != res.Scheduled {
				t.Errorf("open: scheduled %d sent %d dropped %d", res.Scheduled, res.Sent, res.Dropped)
			}
		}
	}
}

func TestValidateRefusesBadFlags(t *testing.T) {
	base := runConfig{services: 10, concurrency: 1, duration: time.Second, timeout: time.Second, mode: "closed", maxBeats: 1}
	bad := []func(*runConfig){
		func(c *runConfig) { c.services = 0 },
		func(c *runConfig) { c.concurrency = 0 },
		func(c *runConfig) { c.duration = time.Hour },
		func(c *runConfig) { c.mode = "burst" },
		func(c *runConfig) { c.mode = "open"; c.rate = 0 },
		func(c *runConfig) { c.maxBeats = 0 },
		func(c *runConfig) { c.endpoint = "ping" },
	}
	for i, f := range bad {
		c := base
		f(&c)
		if err := c.validate(); err == nil {
			t.Errorf("case %d: accepted %+v", i, c)
		}
	}
	if err := base.validate(); err != nil {
		t.Errorf("base config refused: %v", err)
	}
}

func TestSetup(t *testing.T) {
	var mu sync.Mutex
	made := map[string]bool{"svc-00003": true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/collections/_superusers/auth-with-password":
			io.WriteString(w, `{"token":"tok","record":{}}`)
		case "/api/collections/services/records":
			if r.Header.Get("Authorization") != "tok" {
				http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
			var b map[string]any
			if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
				http.Error(w, "bad json", http.StatusBadRequest)
				return
			}
			id, _ := b["serviceId"].(string)
			var i int
			if _, err := fmt.Sscanf(id, "svc-%05d", &i); err != nil || b["pingId"] != benchPingID(i) {
				http.Error(w, `{"message":"bad pingId"}`, http.StatusBadRequest)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if made[id] {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"data":{"serviceId":{"code":"validation_not_unique","message":"Value must be unique."}},"message":"Failed to create record.","status":400}`)
				return
			}
			made[id] = true
			io.WriteString(w, `{"id":"abc"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := setupConfig{baseURL: srv.URL, email: "a@b.c", password: "pw", services: 50, concurrency: 4,
		interval: 120, staleness: 300, timeout: 10 * time.Second}
	if err := runSetup(context.Background(), cfg); err != nil {
		t.Fatalf("setup: %v", err)
	}
	if len(made) != 50 {
		t.Errorf("%d services exist, want 50", len(made))
	}
	// Re-running tolerates "already exists".
	if err := runSetup(context.Background(), cfg); err != nil {
		t.Fatalf("second setup: %v", err)
	}
}

func TestWriteReport(t *testing.T) {
	results := []result{
		{Label: "ours", Mode: "closed", Concurrency: 64, BeatsPerSec: 3000, P99Ms: 5},
		{Label: "floor", Mode: "closed", Concurrency: 64, BeatsPerSec: 6000, P99Ms: 2},
		{Label: "ours", Mode: "open", Concurrency: 64, Rate: 3000, BeatsPerSec: 3000},
	}
	var buf bytes.Buffer
	if err := writeReport(&buf, results, "ours", "floor"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "closed loop, 64 clients: 0.50") {
		t.Errorf("ratio missing from report:\n%s", buf.String())
	}
}

// pingIDShape is the server's pattern for a pingId (migrations.PingIDPattern).
var pingIDShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestBenchPingIDs(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 999, 10000, maxServices - 1} {
		id := benchPingID(i)
		if !pingIDShape.MatchString(id) {
			t.Errorf("benchPingID(%d) = %q, not a pingId the server accepts", i, id)
		}
		if seen[id] {
			t.Errorf("benchPingID(%d) = %q twice", i, id)
		}
		seen[id] = true
	}
}

// TestRunPings: each ping endpoint GETs the URL of every service, the one setup made
// (its pingId, or its key and serviceId), with no body, and counts "OK" replies.
func TestRunPings(t *testing.T) {
	const services = 7
	byPath := map[string]map[string]int{endpointPingUUID: {}, endpointPingSlug: {}}
	for i := range services {
		byPath[endpointPingUUID]["/ping/"+benchPingID(i)] = i
		byPath[endpointPingSlug]["/ping/bench-key-"+serviceID(i)+"/"+serviceID(i)] = i
	}
	for _, ep := range []string{endpointPingUUID, endpointPingSlug} {
		var mu sync.Mutex
		hits := map[int]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i, known := byPath[ep][r.URL.Path]
			if r.Method != http.MethodGet || !known || r.ContentLength > 0 || r.Header.Get("Authorization") != "" {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			mu.Lock()
			hits[i]++
			mu.Unlock()
			io.WriteString(w, "OK")
		}))
		cfg := runConfig{baseURL: srv.URL, services: services, concurrency: 2, duration: 200 * time.Millisecond,
			grace: time.Second, timeout: time.Second, mode: "closed", endpoint: ep, maxBeats: 70}
		if err := cfg.validate(); err != nil {
			t.Fatalf("%s: validate: %v", ep, err)
		}
		res, err := runLoad(context.Background(), cfg)
		srv.Close()
		if err != nil {
			t.Fatalf("%s: runLoad: %v", ep, err)
		}
		if res.OK2xx != 70 || res.OtherErrors != 0 || res.BadBody != 0 || res.Endpoint != ep {
			t.Errorf("%s: %+v, want 70 OK replies", ep, res)
		}
		if len(hits) != services {
			t.Errorf("%s: %d services pinged, want %d", ep, len(hits), services)
		}
	}
}

// TestRunCountsBadPingReply: a 2xx ping reply other than OK is a bad body.
func TestRunCountsBadPingReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"success":true}`)
	}))
	defer srv.Close()
	cfg := runConfig{baseURL: srv.URL, services: 3, concurrency: 1, duration: time.Second,
		grace: time.Second, timeout: time.Second, mode: "closed", endpoint: endpointPingUUID, maxBeats: 5}
	res, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.BadBody != 5 {
		t.Errorf("badBody = %d, want 5", res.BadBody)
	}
}
