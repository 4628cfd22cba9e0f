package ingest

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestWriterOpsCommitWithBeats: an Op runs in the writer's transaction beside beats; one
// that fails is undone alone, and the beats and the other Ops of its batch are stored.
func TestWriterOpsCommitWithBeats(t *testing.T) {
	db, ids := newTestDB(t, 2)
	w := newTestWriter(t, db, 100)
	setStatus := func(status string) Op {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec("UPDATE services SET name = ? WHERE id = ?", status, ids[0])
			return err
		}
	}
	boom := errors.New("op failed")
	var wg sync.WaitGroup
	results := make([]error, 3)
	now := time.Now()
	// Hold the writer's only connection so that everything below lands in one batch.
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range []Op{
		setStatus("down"),
		func(tx *sql.Tx) error {
			if _, err := tx.Exec("UPDATE services SET name = 'up' WHERE id = ?", ids[1]); err != nil {
				return err
			}
			return boom // its update must be undone
		},
		nil, // a beat
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if op == nil {
				results[i] = w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[1], Status: "up", At: now}})
				return
			}
			results[i] = w.Do(context.Background(), op)
		}()
	}
	for w.Queued() < 3 {
		time.Sleep(time.Millisecond)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if results[0] != nil || !errors.Is(results[1], boom) || results[2] != nil {
		t.Fatalf("outcomes %v, want nil, the op's own error, nil", results)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM services WHERE id = ? AND name = 'down'", ids[0]); got != 1 {
		t.Error("the first op's update was not committed")
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM services WHERE id = ? AND name = 'up'", ids[1]); got != 0 {
		t.Error("the failed op's update was committed")
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats WHERE service = ?", ids[1]); got != 1 {
		t.Errorf("%d beats stored beside the failed op, want 1", got)
	}
}

// TestWriterOpAfterClose: an Op offered to a closed writer is refused and never runs.
func TestWriterOpAfterClose(t *testing.T) {
	db, _ := newTestDB(t, 1)
	w, err := NewWriter(db, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := w.Do(context.Background(), func(*sql.Tx) error { ran = true; return nil }); !errors.Is(err, ErrClosed) || ran {
		t.Errorf("Do after Close: %v (ran %v), want ErrClosed and not run", err, ran)
	}
}
