package ingest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// isClosed reports whether Close has stopped the writer taking beats.
func (w *Writer) isClosed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.closed
}

// TestWriterCloseAnswersTrueOutcome: at shutdown PocketBase cancels every request's
// context and then stops the writer. A beat already queued is committed and answered
// with success; only a beat that arrives after Close began is refused, and it is not
// stored. Before, a queued beat whose context was cancelled got an error (a 503, which
// clients retry) and was stored all the same.
func TestWriterCloseAnswersTrueOutcome(t *testing.T) {
	db, ids := newTestDB(t, 4)
	w := newTestWriter(t, db, 10000)
	// Hold the write pool's one connection, so every beat below waits in the queue.
	hold, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	const queued = 200
	outcome := make([]error, queued)
	var wg sync.WaitGroup
	for i := range outcome {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			outcome[i] = w.Submit(ctx, []Beat{{ServiceRecordID: ids[i%len(ids)], Status: "up", Message: fmt.Sprintf("q%d", i), At: time.Now()}})
		}(i)
	}
	for w.Queued() < queued {
		time.Sleep(time.Millisecond)
	}
	cancel() // the server's base context: every request's context ends
	closed := make(chan error, 1)
	go func() { closed <- w.Close(context.Background()) }()
	// Once Close has stopped taking beats, one more arrives.
	for !w.isClosed() {
		time.Sleep(time.Millisecond)
	}
	late := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", Message: "late", At: time.Now()}})
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, err := range outcome {
		n := countRows(t, db, "SELECT COUNT(*) FROM heartbeats WHERE message = ?", fmt.Sprintf("q%d", i))
		switch {
		case err == nil && n != 1:
			t.Errorf("beat q%d acknowledged, %d rows", i, n)
		case err != nil && n != 0:
			t.Errorf("beat q%d refused (%v), yet %d rows: the client retries it and it is stored twice", i, err, n)
		case err != nil:
			t.Errorf("beat q%d was queued before Close and refused: %v", i, err)
		}
	}
	if late != ErrClosed {
		t.Errorf("beat sent after Close: %v, want ErrClosed", late)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM heartbeats WHERE message = 'late'"); n != 0 {
		t.Errorf("beat refused after Close has %d rows, want 0", n)
	}
}
