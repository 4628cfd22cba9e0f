package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// walSize is the size of db's write-ahead log file, 0 when there is none.
func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// dbPath is the file behind db's main database.
func dbPath(t *testing.T, db *sql.DB) string {
	t.Helper()
	var seq int
	var name, file string
	if err := db.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestWALStaysBoundedUnderLoad: beats written as fast as the writer takes them, beside
// readers that keep snapshots open, never grow the write-ahead log past its bound, and
// once the load stops the log shrinks back to nothing. Before, the log grew by ~15 MB/s
// under load and stayed at PocketBase's 200 MB journal_size_limit: a full 1 GB volume in
// a minute. The bounds are scaled down 16 times, so that the test writes several times
// its bound in a few seconds; the server's (16 and 32 MB) keep the log under 64 MB.
func TestWALStaysBoundedUnderLoad(t *testing.T) {
	const truncateAt, refuseAt = walTruncateAt / 16, walRefuseAt / 16
	// At most the refusal bound plus one batch: 8 senders of 20 beats of ~8 KB, with room
	// for the index pages and the services' pages.
	const maxWAL = refuseAt + 2<<20
	db, readers, ids := newTestPools(t, 200)
	path := dbPath(t, db)
	// As app.start runs the writer: log checkpoints are its job, not its commits'.
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		t.Fatal(err)
	}
	w, err := newWriter(db, 10000, func(err error) { t.Error(err) }, truncateAt, refuseAt)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	stopCkpt := w.StartCheckpointer(readers, 250*time.Millisecond)
	defer stopCkpt()

	// Log traffic well past the bound, several times over.
	const traffic = 4 * maxWAL
	var (
		stop    atomic.Bool
		peak    atomic.Int64
		written atomic.Int64 // bytes of beats committed: the log written is at least that
		wg      sync.WaitGroup
	)
	sample := func() {
		if s := walSize(t, path); s > peak.Load() {
			peak.Store(s)
		}
	}
	// Readers holding snapshots a little while, as dashboard and API reads do: a log
	// they still read from cannot be started over.
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				tx, err := readers.Begin()
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				if err := tx.QueryRow("SELECT COUNT(*) FROM heartbeats").Scan(&n); err != nil {
					t.Error(err)
				}
				time.Sleep(2 * time.Millisecond)
				if err := tx.Rollback(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for !stop.Load() {
			sample()
			time.Sleep(time.Millisecond)
		}
	}()
	// Beats with the largest metadata a beat may carry, 20 to a Submit: the log grows by
	// what the commits write, and these write it fastest.
	meta := []byte(`{"x":"` + strings.Repeat("m", 8000) + `"}`)
	var senders sync.WaitGroup
	for g := 0; g < 8; g++ {
		senders.Add(1)
		go func(g int) {
			defer senders.Done()
			for i := 0; written.Load() < traffic; i++ {
				beats := make([]Beat, 20)
				for j := range beats {
					beats[j] = Beat{ServiceRecordID: ids[(g*31+i*20+j)%len(ids)], Status: "up", Metadata: meta, At: time.Now()}
				}
				if err := w.Submit(context.Background(), beats); err != nil {
					t.Error(err)
					return
				}
				written.Add(int64(len(beats) * len(meta)))
				sample()
			}
		}(g)
	}
	senders.Wait()
	stop.Store(true)
	wg.Wait()
	sampler.Wait()
	sample()
	t.Logf("committed %.0f MB of beats, log peaked at %.1f MB", float64(written.Load())/(1<<20), float64(peak.Load())/(1<<20))
	if p := peak.Load(); p > maxWAL {
		t.Errorf("write-ahead log reached %.1f MB under load, want at most %.1f MB", float64(p)/(1<<20), float64(maxWAL)/(1<<20))
	}

	// Once the load stops the log shrinks back, without another beat to trigger it.
	deadline := time.Now().Add(5 * time.Second)
	for walSize(t, path) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := walSize(t, path); s > 0 {
		t.Errorf("write-ahead log still %d bytes 5 s after the load stopped, want it truncated", s)
	}
}

// TestWriterPragmasOnNewConnection: database/sql closes a pool's idle connection (PocketBase
// sets a 3-minute idle time on its write pool) and opens a new one, which knows nothing of
// the pragmas set on the old one. The writer's commits must still run with its own.
func TestWriterPragmasOnNewConnection(t *testing.T) {
	db, ids := newTestDB(t, 1)
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0"); err != nil { // as the server once did, at start
		t.Fatal(err)
	}
	w := newTestWriter(t, db, 10)
	defer w.Close(context.Background())
	submit := func() {
		if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	submit()
	// The pool drops its idle connection, as it does after PocketBase's idle time.
	before := db.Stats().MaxIdleClosed
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(1)
	if db.Stats().MaxIdleClosed == before {
		t.Fatal("the pool kept its connection; the test did not replace it")
	}
	submit() // on a new connection
	var got int
	if err := db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 0 {
		t.Errorf("wal_autocheckpoint = %d on the writer's new connection, want 0", got)
	}
}

// TestWALFullRefusesBeats: a reader that keeps the log from being truncated past the busy
// timeout (a stuck query, a long backup) does not let it grow without bound: past the
// refusal bound the beats are refused, and not stored; once the reader lets go, beats are
// taken again and the log truncated.
func TestWALFullRefusesBeats(t *testing.T) {
	const truncateAt, refuseAt = 256 << 10, 512 << 10
	db, readers, ids := newTestPools(t, 4)
	path := dbPath(t, db)
	// A short wait for readers, on the write pool's one connection, so the test is quick.
	if _, err := db.Exec("PRAGMA busy_timeout=50"); err != nil {
		t.Fatal(err)
	}
	var busy atomic.Int32
	w, err := newWriter(db, 1000, func(err error) {
		if errors.Is(err, errLogBusy) {
			busy.Add(1)
			return
		}
		t.Error(err)
	}, truncateAt, refuseAt)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	meta := []byte(`{"x":"` + strings.Repeat("m", 8000) + `"}`)
	submit := func(msg string) error {
		beats := make([]Beat, 10)
		for i := range beats {
			beats[i] = Beat{ServiceRecordID: ids[i%len(ids)], Status: "up", Message: msg, Metadata: meta, At: time.Now()}
		}
		return w.Submit(context.Background(), beats)
	}
	if err := submit("before"); err != nil {
		t.Fatal(err)
	}
	// A reader whose snapshot includes frames of the log, held open.
	stuck, err := readers.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := stuck.QueryRow("SELECT COUNT(*) FROM heartbeats").Scan(&n); err != nil {
		t.Fatal(err)
	}
	var refused error
	var refusedMsg string
	for i := 0; i < 100 && refused == nil; i++ {
		refusedMsg = fmt.Sprintf("while-stuck-%d", i)
		refused = submit(refusedMsg)
		if s := walSize(t, path); s > refuseAt+1<<20 {
			t.Fatalf("log at %d KB with a reader stuck on it, want at most %d KB", s>>10, (refuseAt+1<<20)>>10)
		}
	}
	if !errors.Is(refused, ErrLogFull) {
		t.Fatalf("100 batches with the log held by a reader: %v, want ErrLogFull", refused)
	}
	if busy.Load() == 0 {
		t.Error("no truncation reported busy")
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats WHERE message = ?", refusedMsg); got != 0 {
		t.Errorf("refused batch has %d rows, want 0", got)
	}
	if err := stuck.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := submit("after"); err != nil {
		t.Fatalf("reader gone: %v, want beats taken again", err)
	}
	if s := walSize(t, path); s > truncateAt {
		t.Errorf("log at %d KB after the reader let go and a beat was stored, want it truncated first", s>>10)
	}
}
