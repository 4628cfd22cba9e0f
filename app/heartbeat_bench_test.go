package app

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkHeartbeat measures the server-side cost of a beat through the real router and
// writer, with 1,000 services and 64 concurrent senders.
func BenchmarkHeartbeat(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t, func(c *Config) { c.RateLimit = 0 })
	h.t = t
	const n = 1000
	for i := 0; i < n; i++ {
		h.service(fmt.Sprintf("svc-%05d", i), fmt.Sprintf("key-svc-%05d", i), nil)
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) % n
			req := httptest.NewRequest("POST", "/api/heartbeat", strings.NewReader(fmt.Sprintf(`{"serviceId":"svc-%05d","status":"up","message":"bench","metadata":{"host":"x"}}`, i)))
			req.Header.Set("Authorization", fmt.Sprintf("Bearer key-svc-%05d", i))
			rec := httptest.NewRecorder()
			h.mux.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d %s", rec.Code, rec.Body.String())
			}
		}
	})
}
