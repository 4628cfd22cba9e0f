package ingest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkWriterLatencyBesideBusyCore: beats at 300/s through the writer while another
// goroutine keeps the CPU busy (as a retention pass, a large reply or the collector do).
// Run with -cpu 1, the one core the benchmark gives the server. It reports the beats'
// p99 and max with the gathering bound (maxGather) and without it ("unbounded"): without
// it, each yield of the gathering loop can last a whole time slice, and a batch waits
// for the busy goroutine to finish.
func BenchmarkWriterLatencyBesideBusyCore(b *testing.B) {
	for _, c := range []struct {
		name   string
		gather time.Duration
	}{{"bounded", maxGather}, {"unbounded", time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			old := maxGather
			maxGather = c.gather
			defer func() { maxGather = old }()
			t := &testing.T{}
			db, ids := newTestDB(t, 100)
			w, err := NewWriter(db, 10000, func(error) {})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close(context.Background()) //nolint:errcheck // a benchmark
			for range b.N {
				ctx, cancel := context.WithCancel(context.Background())
				var busy sync.WaitGroup
				busy.Add(1)
				go func() { // a CPU-bound task that yields only when preempted
					defer busy.Done()
					x := 0
					for ctx.Err() == nil {
						for i := range 1_000_000 {
							x += i
						}
					}
					_ = x
				}()
				var mu sync.Mutex
				var lat []time.Duration
				var wg sync.WaitGroup
				tick := time.NewTicker(time.Second / 300)
				for i := range 600 { // 2 s at 300/s
					<-tick.C
					wg.Add(1)
					go func() {
						defer wg.Done()
						t0 := time.Now()
						if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[i%len(ids)], Status: "up", At: t0}}); err != nil {
							b.Error(err)
						}
						mu.Lock()
						lat = append(lat, time.Since(t0))
						mu.Unlock()
					}()
				}
				tick.Stop()
				wg.Wait()
				cancel()
				busy.Wait()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
			}
		})
	}
}
