package ingest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestInsertNeedsNoStatementJournal: a failed heartbeat INSERT fails its whole transaction
// (commitTx rolls it back), so SQLite need not be able to undo one statement alone. A
// statement that can abort alone inside a transaction makes SQLite copy every page it
// changes into a statement journal first: that copying was 7% of the server's CPU under
// load. EXPLAIN shows it as a Halt or HaltIfNull with P2 = 2 (OE_Abort).
func TestInsertNeedsNoStatementJournal(t *testing.T) {
	db, _ := newTestDB(t, 1)
	for _, n := range chunkSizes {
		rows, err := db.Query("EXPLAIN "+insertHeartbeats(n), make([]any, n*heartbeatCols)...)
		if err != nil {
			t.Fatal(err)
		}
		aborts := 0
		for rows.Next() {
			var addr, p1, p2, p3, p5 int
			var op string
			var p4, comment any
			if err := rows.Scan(&addr, &op, &p1, &p2, &p3, &p4, &p5, &comment); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(op, "Halt") && p2 == 2 {
				aborts++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if aborts != 0 {
			t.Errorf("insert of %d rows: %d statement-abort halts, want 0 (each needs a statement journal)", n, aborts)
		}
	}
}

// TestFailedInsertStoresNoneOfItsBatch: with OR FAIL, a row that fails keeps the rows
// its statement inserted before it in the transaction; the batch must still be all or
// nothing (its beats were not acknowledged), and the next batch stored as usual.
func TestFailedInsertStoresNoneOfItsBatch(t *testing.T) {
	db, ids := newTestDB(t, 2)
	if _, err := db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON heartbeats WHEN NEW.message = 'boom'
		BEGIN SELECT RAISE(FAIL, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(db, 100, nil) // the failures are the point: nothing to report
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	batch := func(bad int) []Beat {
		beats := make([]Beat, 10) // a statement of 8 rows, then two of one
		for i := range beats {
			beats[i] = Beat{ServiceRecordID: ids[i%2], Status: "up", Message: "ok", At: time.Now()}
		}
		if bad >= 0 {
			beats[bad].Message = "boom"
		}
		return beats
	}
	if err := w.Submit(context.Background(), batch(5)); err == nil {
		t.Fatal("a batch with a failing row was acknowledged")
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 0 {
		t.Errorf("%d rows of the failed batch stored, want 0", got)
	}
	if err := w.Submit(context.Background(), batch(-1)); err != nil {
		t.Fatalf("next batch: %v", err)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 10 {
		t.Errorf("%d rows after the next batch, want 10", got)
	}
}
