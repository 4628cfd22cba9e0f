package ingest

import (
	"context"
	"testing"
	"time"
)

// TestWriterWithoutCheckpointsBesideAReader: while a reader holds a read transaction on
// the log for good (as Litestream does while it replicates), a writer from
// NewWriterWithoutCheckpoints keeps committing beats at once. NewWriter's writer would
// truncate the log once idle and wait on that reader for the whole busy timeout, with
// every beat behind it.
func TestWriterWithoutCheckpointsBesideAReader(t *testing.T) {
	db, readers, ids := newTestPools(t, 1)
	w, err := NewWriterWithoutCheckpoints(db, 100, func(err error) { t.Logf("writer: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	beat := func() time.Duration {
		t.Helper()
		start := time.Now()
		if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	beat()
	tx, err := readers.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM heartbeats").Scan(&n); err != nil {
		t.Fatal(err)
	}
	beat()
	// The writer has no clock to step: let a few of its 250 ms ticks find it idle, the
	// moment NewWriter's writer would start truncating the log.
	time.Sleep(700 * time.Millisecond)
	if took := beat(); took > 2*time.Second {
		t.Errorf("a beat beside a reader holding the log took %v to commit, want well under 2 s", took)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 3 {
		t.Errorf("%d beats stored, want 3", got)
	}
}
