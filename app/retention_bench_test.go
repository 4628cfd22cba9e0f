package app

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
)

// BenchmarkRetentionPass100k measures retention passes over 100,000 services with no
// stored history (as the scale benchmark's warmed fleet), and what they do to beats sent
// meanwhile through the writer at 300 a second: the pass's wall time, and the p99 and
// max of a beat's commit (from when it was due). The first pass after start-up is
// reported apart (first-*): it is the one that has to look at every service. Run it
// with -cpu 1: the scale benchmark pins the server to one core.
//
//	go test -run '^$' -bench RetentionPass100k -benchtime 3x -cpu 1 ./app/
func BenchmarkRetentionPass100k(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t, func(c *Config) { c.RateLimit = 0 })
	h.t = t
	ids := benchServices(b, h, 100_000)
	now := time.Now()

	dur, lat := passUnderBeats(b, h, ids, now)

	var all []time.Duration
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, l := passUnderBeats(b, h, ids, now.Add(time.Duration(i+1)*10*time.Minute))
		total += d
		all = append(all, l...)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "pass-ms")
	b.ReportMetric(percentileMs(all, 0.99), "beat-p99-ms")
	b.ReportMetric(percentileMs(all, 1), "beat-max-ms")
	// After the loop: ResetTimer drops the metrics reported before it.
	b.ReportMetric(float64(dur.Milliseconds()), "first-pass-ms")
	b.ReportMetric(percentileMs(lat, 0.99), "first-beat-p99-ms")
	b.ReportMetric(percentileMs(lat, 1), "first-beat-max-ms")
}

// benchServices inserts n services straight into the database and returns their ids.
func benchServices(b *testing.B, h *harness, n int) []string {
	b.Helper()
	ids := make([]string, n)
	rows := make([][]any, n)
	for i := range n {
		ids[i] = fmt.Sprintf("rb%013d", i)
		rows[i] = []any{ids[i], fmt.Sprintf("rb-%d", i), fmt.Sprintf("key-rb-%d", i)}
	}
	if err := store.InsertRows(h.app.NonconcurrentDB(), "services", []string{"id", "serviceId", "apiKey"}, rows); err != nil {
		b.Fatal(err)
	}
	settle(b, h)
	return ids
}

// settle copies the write-ahead log of the benchmark's own inserts back and truncates
// it, so the writer does not do it in the middle of the measured beats.
func settle(b *testing.B, h *harness) {
	b.Helper()
	if _, err := h.app.NonconcurrentDB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
		b.Fatal(err)
	}
}

// passUnderBeats runs one retention pass at now while beats go through the writer at
// 300 a second, from shortly before the pass until shortly after it; it returns the
// pass's duration and every beat's latency from when it was due to its commit.
func passUnderBeats(b *testing.B, h *harness, ids []string, now time.Time) (time.Duration, []time.Duration) {
	b.Helper()
	return underBeats(b, h, ids, func() error { return h.s.prune(now) })
}

// underBeats runs work while beats go through the writer at 300 a second, from shortly
// before it until shortly after; it returns work's duration and every beat's latency
// from when it was due to its commit.
func underBeats(b *testing.B, h *harness, ids []string, work func() error) (time.Duration, []time.Duration) {
	b.Helper()
	const every = time.Second / 300
	stop := make(chan struct{})
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		start := time.Now()
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * every)
			time.Sleep(time.Until(due))
			select {
			case <-stop:
				return
			default:
			}
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				err := h.s.writer.Submit(context.Background(), []ingest.Beat{{ServiceRecordID: id, Status: "up", At: time.Now()}})
				d := time.Since(due)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}(ids[i%len(ids)])
		}
	}()
	time.Sleep(200 * time.Millisecond) // beats flowing before the pass starts
	start := time.Now()
	if err := work(); err != nil {
		b.Fatal(err)
	}
	dur := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-sent
	wg.Wait()
	return dur, lat
}

// percentileMs is the p-th fraction's latency of lat in milliseconds (1 is the max).
func percentileMs(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := min(int(p*float64(len(s))), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

// BenchmarkRetentionTrim10kOver measures the first pass over 10,000 services that each
// hold one heartbeat more than the 100 kept (1,010,000 rows): every service is counted
// and trimmed, paced (10,000 are trimmed at the minimum rate, 500 a second). The beats'
// p99 and max are what they suffer meanwhile; the same beats' figures for 5 s without a
// pass are logged beside them, as this machine's floor.
//
//	go test -run '^$' -bench RetentionTrim10kOver -benchtime 1x -cpu 1 ./app/
func BenchmarkRetentionTrim10kOver(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t := &testing.T{}
		h := newHarness(t, func(c *Config) { c.RateLimit, c.KeepHeartbeats = 0, 100 })
		h.t = t
		ids := benchServices(b, h, 10_000)
		base := time.Now().UTC().Add(-time.Hour)
		rows := make([][]any, 0, 101*1000)
		for j, id := range ids {
			for k := range 101 {
				rows = append(rows, []any{fmt.Sprintf("b%08d%06d", j, k), id, "up", store.DBDate(base.Add(time.Duration(k) * time.Second))})
			}
			if len(rows) >= 100*1000 || j == len(ids)-1 {
				if err := store.InsertRows(h.app.NonconcurrentDB(), "heartbeats", []string{"id", "service", "status", "created"}, rows); err != nil {
					b.Fatal(err)
				}
				rows = rows[:0]
			}
		}
		settle(b, h)
		// The same beats for 5 s without a pass: what this machine gives them anyway.
		_, quiet := underBeats(b, h, ids, func() error { time.Sleep(5 * time.Second); return nil })
		b.StartTimer()
		dur, lat := passUnderBeats(b, h, ids, time.Now())
		b.StopTimer()
		b.Logf("beats during the pass: p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms", percentileMs(lat, 0.5), percentileMs(lat, 0.9), percentileMs(lat, 0.99), percentileMs(lat, 1))
		b.Logf("beats without a pass:  p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms", percentileMs(quiet, 0.5), percentileMs(quiet, 0.9), percentileMs(quiet, 0.99), percentileMs(quiet, 1))
		if got := h.count("heartbeats", "", nil); got > 100*len(ids)+len(lat) {
			b.Fatalf("%d heartbeats left, want at most %d", got, 100*len(ids)+len(lat))
		}
		b.ReportMetric(float64(dur.Milliseconds()), "pass-ms")
		b.ReportMetric(percentileMs(lat, 0.99), "beat-p99-ms")
		b.ReportMetric(percentileMs(lat, 1), "beat-max-ms")
		h.app.Cleanup()
	}
}
