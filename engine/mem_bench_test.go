package engine

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// memFleet is n services as the start-up load hands them to the engine: every string is
// its own allocation, as each row read from the database is, and every service has
// beaten and is up, most without a name, in one of 100 groups.
func memFleet(n int) []Service {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	svcs := make([]Service, n)
	for i := range svcs {
		svcs[i] = Service{
			ID:        fmt.Sprintf("r%014d", i),
			ServiceID: fmt.Sprintf("svc-%07d", i),
			Group:     fmt.Sprintf("group-%02d", i%100),
			Model: monitor.Service{LastSeen: at.Add(-time.Duration(i%120) * time.Second), LastStatus: strings.Clone("up"),
				Interval: 2 * time.Minute, Threshold: 5 * time.Minute},
			State: monitor.Status(strings.Clone("up")),
			Since: at.Add(-time.Hour),
		}
		if i%10 == 0 {
			svcs[i].Name = fmt.Sprintf("Service number %d", i)
		}
	}
	return svcs
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// loadedEngine is an engine loaded with memFleet(n); the fleet's slice is garbage once
// it returns, so what stays live is what the engine holds.
func loadedEngine(n int) *Engine {
	e := New(Config{StartedAt: time.Unix(0, 0), NewID: func(time.Time) string { return "x" }})
	e.Load(memFleet(n), nil, nil)
	return e
}

// benchmarkEngineMemory reports the live heap the engine holds per service, strings,
// entries, indexes and queue included, after a load of n services.
func benchmarkEngineMemory(b *testing.B, n int) {
	var perService float64
	for b.Loop() {
		before := heapAlloc()
		e := loadedEngine(n)
		after := heapAlloc()
		if e.Len() != n {
			b.Fatalf("engine holds %d services, want %d", e.Len(), n)
		}
		perService = float64(int64(after)-int64(before)) / float64(n)
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perService, "B/service")
}

func BenchmarkEngineMemory100k(b *testing.B) { benchmarkEngineMemory(b, 100_000) }

func BenchmarkEngineMemory1M(b *testing.B) { benchmarkEngineMemory(b, 1_000_000) }
