package ingest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestWALStartedOverUnderLoad: under load, a log past its bound is started over (the next
// commits write over its file from the start) instead of truncated to nothing and grown
// again, which cost the kernel a fresh page for every page of it, every time. The log
// still holds no more than its bound plus a batch, so its file never grows past that;
// once idle it is truncated as before (TestWALStaysBoundedUnderLoad).
func TestWALStartedOverUnderLoad(t *testing.T) {
	const truncateAt, refuseAt = 256 << 10, 4 << 20
	const margin = 512 << 10 // one batch of 10 beats of 2 KB, with the index pages
	db, ids := newTestDB(t, 50)
	path := dbPath(t, db)
	// The log of the test's set-up goes first: the load starts from an empty one.
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	w, err := newWriter(db, 1000, func(err error) { t.Error(err) }, truncateAt, refuseAt)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	meta := []byte(`{"x":"` + strings.Repeat("m", 2000) + `"}`)
	reached, shrunk, peak := false, int64(-1), int64(0)
	for i, written := 0, 0; written < 8*truncateAt; i++ {
		beats := make([]Beat, 10)
		for j := range beats {
			beats[j] = Beat{ServiceRecordID: ids[(i*10+j)%len(ids)], Status: "up", Metadata: meta, At: time.Now()}
		}
		if err := w.Submit(context.Background(), beats); err != nil {
			t.Fatal(err)
		}
		written += len(beats) * len(meta)
		s := walSize(t, path)
		peak = max(peak, s)
		if reached && (shrunk < 0 || s < shrunk) {
			shrunk = s
		}
		reached = reached || s >= truncateAt
	}
	if !reached {
		t.Fatalf("log peaked at %d KB, never reached its bound of %d KB: the test wrote too little", peak>>10, truncateAt>>10)
	}
	if shrunk < truncateAt {
		t.Errorf("log file shrank to %d KB under load after reaching %d KB, want it written over, not truncated", shrunk>>10, truncateAt>>10)
	}
	if peak > truncateAt+margin {
		t.Errorf("log file reached %d KB, want at most %d KB: it was not started over", peak>>10, (truncateAt+margin)>>10)
	}
}
