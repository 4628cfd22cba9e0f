package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The ping benchmarks put the three ways to beat side by side as the server runs them:
// through the fast path (fastBeat.serve, what a request to the real server reaches), with
// the engine's own loop on, 1,000 services and 32 goroutines per CPU. make bench measures
// the same on a running server; these are for go test -cpuprofile.

// benchPingID is the pingId of the i-th service of the ping benchmarks.
func benchPingID(i int64) string {
	return fmt.Sprintf("be9c0000-0000-4000-8000-%012d", i)
}

// pingBenchHarness is the one server of the ping benchmarks, made by the first of them
// to run: a benchmark function runs once per b.N tried, and 1,000 saves each time would
// swamp a CPU profile. (Like BenchmarkHeartbeat's, its cleanups never run.)
var pingBenchHarness = sync.OnceValue(func() *harness {
	t := &testing.T{}
	h := newHarness(t, func(c *Config) { c.RateLimit = 0; c.ManualEngine = false })
	h.t = t
	for i := int64(0); i < pingBenchServices; i++ {
		h.service(fmt.Sprintf("svc-%05d", i), fmt.Sprintf("key-svc-%05d", i), map[string]any{"pingId": benchPingID(i)})
	}
	return h
})

const pingBenchServices = 1000

// benchFastPath serves the request build makes for service i b.N times and fails on
// any reply but 200.
func benchFastPath(b *testing.B, build func(i int64) *http.Request) {
	h := pingBenchHarness()
	if h.s.fast.ping.action == nil || h.s.fast.beat.action == nil {
		b.Fatal("the fast path has no routes bound")
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			req := build(next.Add(1) % pingBenchServices)
			h.s.fast.serve(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s %s: status %d %s", req.Method, req.URL.Path, rec.Code, rec.Body.String())
			}
		}
	})
}

// BenchmarkFastHeartbeat is POST /api/heartbeat as make bench sends it.
func BenchmarkFastHeartbeat(b *testing.B) {
	benchFastPath(b, func(i int64) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/api/heartbeat",
			strings.NewReader(fmt.Sprintf(`{"serviceId":"svc-%05d","status":"up","message":"bench","metadata":{"host":"x"}}`, i)))
		req.Header.Set("Authorization", fmt.Sprintf("Bearer key-svc-%05d", i))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
}

// BenchmarkPingUUID is GET /ping/<pingId>.
func BenchmarkPingUUID(b *testing.B) {
	benchFastPath(b, func(i int64) *http.Request {
		return httptest.NewRequest(http.MethodGet, "/ping/"+benchPingID(i), nil)
	})
}

// BenchmarkPingSlug is GET /ping/<key>/<serviceId>.
func BenchmarkPingSlug(b *testing.B) {
	benchFastPath(b, func(i int64) *http.Request {
		return httptest.NewRequest(http.MethodGet, fmt.Sprintf("/ping/key-svc-%05d/svc-%05d", i, i), nil)
	})
}
