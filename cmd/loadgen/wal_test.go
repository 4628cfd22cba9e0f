package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sizes returns a size function that reads vals in turn (the last one from then on), and
// the count of reads made.
func sizes(vals ...int64) (func() (int64, error), *int) {
	n := new(int)
	return func() (int64, error) {
		v := vals[min(*n, len(vals)-1)]
		*n++
		return v, nil
	}, n
}

// TestSampleMax: the bench's "max WAL during load" is the largest size read at any tick,
// not the last one: a log truncated before the run ended still shows its peak.
func TestSampleMax(t *testing.T) {
	size, reads := sizes(1, 70<<20, 3, 0)
	tick := make(chan time.Time)
	stop := make(chan struct{})
	done := make(chan int64)
	go func() {
		peak, _, err := sampleMax(size, tick, stop)
		if err != nil {
			t.Error(err)
		}
		done <- peak
	}()
	tick <- time.Time{}
	tick <- time.Time{}
	close(stop)
	if got := <-done; got != 70<<20 {
		t.Errorf("peak %d, want %d", got, 70<<20)
	}
	if *reads != 4 {
		t.Errorf("%d reads, want one at the start, one per tick and one at stop", *reads)
	}
}

// TestSettle: the size after load is read until the log is gone, or when the wait is up.
func TestSettle(t *testing.T) {
	size, _ := sizes(9, 5, 0, 7)
	tick := make(chan time.Time, 10)
	tick <- time.Time{}
	tick <- time.Time{}
	if got, err := settle(size, tick, nil); err != nil || got != 0 {
		t.Errorf("settle = %d, %v; want 0 once the log is truncated", got, err)
	}
	size, _ = sizes(9, 8, 8)
	give := make(chan time.Time, 1)
	give <- time.Time{}
	if got, err := settle(size, make(chan time.Time), give); err != nil || got != 8 {
		t.Errorf("settle = %d, %v; want the size read when the wait is up, 8", got, err)
	}
}

// TestFileSize: a missing log (SQLite removes it on a clean close) is 0 bytes, not an error.
func TestFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db-wal")
	if got, err := fileSize(path); err != nil || got != 0 {
		t.Errorf("missing file: %d, %v; want 0, nil", got, err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 1234)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := fileSize(path); err != nil || got != 1234 {
		t.Errorf("file of 1234 bytes: %d, %v", got, err)
	}
}

func TestFormatResultShowsWAL(t *testing.T) {
	line := formatResult(result{Mode: "closed", WAL: &walFigures{MaxBytes: 20 << 20, AfterBytes: 0, SettleS: 0.3}})
	if !strings.Contains(line, "walMax=20.0MB walAfter=0.0MB(0.3s)") {
		t.Errorf("line %q lacks the WAL figures", line)
	}
}
