package ingest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// registryFleet hands n services to add as the start-up load does: every string is its
// own allocation, as each row read from the database is, and every service has a
// pingId, as every stored one does.
func registryFleet(n int) func(add func(ServiceKey)) error {
	return func(add func(ServiceKey)) error {
		for i := range n {
			add(ServiceKey{RecordID: fmt.Sprintf("r%014d", i), ServiceID: fmt.Sprintf("svc-%07d", i),
				Key: fmt.Sprintf("key-%020d", i), PingID: fmt.Sprintf("be9c0000-0000-4000-8000-%012d", i)})
		}
		return nil
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchmarkRegistryMemory reports the live heap the registry holds per service (records,
// strings and indexes) after a streamed load of n services.
func benchmarkRegistryMemory(b *testing.B, n int) {
	var perService float64
	for b.Loop() {
		before := liveHeap()
		r := NewRegistry()
		if err := r.ReplaceServicesFrom(n, registryFleet(n)); err != nil {
			b.Fatal(err)
		}
		after := liveHeap()
		if r.Len() != n {
			b.Fatalf("registry holds %d services, want %d", r.Len(), n)
		}
		perService = float64(int64(after)-int64(before)) / float64(n)
		runtime.KeepAlive(r)
	}
	b.ReportMetric(perService, "B/service")
}

func BenchmarkRegistryMemory1M(b *testing.B) { benchmarkRegistryMemory(b, 1_000_000) }

// BenchmarkRegistryAuthorizeBeat is one beat authorised by its service's own key among
// 100k services and a few api keys (each compared on every beat).
func BenchmarkRegistryAuthorizeBeat(b *testing.B) {
	const n = 100_000
	r := NewRegistry()
	if err := r.ReplaceServicesFrom(n, registryFleet(n)); err != nil {
		b.Fatal(err)
	}
	r.SetAPIKeys([]APIKey{{ID: "all", Key: "k-all", Scopes: []Scope{ScopeHeartbeat}},
		{ID: "reader", Key: "k-read", Scopes: []Scope{ScopeRead}}})
	ids := make([]string, 1024)
	keys := make([]string, len(ids))
	for i := range ids {
		j := (i * 7919) % n
		ids[i], keys[i] = strings.Clone(fmt.Sprintf("svc-%07d", j)), fmt.Sprintf("key-%020d", j)
	}
	i := 0
	for b.Loop() {
		if _, err := r.AuthorizeBeat(ids[i&1023], keys[i&1023]); err != "" {
			b.Fatal(err)
		}
		i++
	}
}
