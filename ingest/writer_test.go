package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// newTestDB returns the write pool of a fresh app with our schema and n services.
func newTestDB(t *testing.T, n int) (*sql.DB, []string) {
	w, _, ids := newTestPools(t, n)
	return w, ids
}

// newTestPools returns the write pool and the read pool of a fresh app with n services.
func newTestPools(t *testing.T, n int) (writer, readers *sql.DB, ids []string) {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	col, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	ids = make([]string, n)
	for i := range ids {
		r := core.NewRecord(col)
		r.Set("serviceId", fmt.Sprintf("svc-%d", i))
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		ids[i] = r.Id
	}
	return app.NonconcurrentDB().(*dbx.DB).DB(), app.ConcurrentDB().(*dbx.DB).DB(), ids
}

func countRows(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWriterConcurrentSubmit: every beat acknowledged by Submit is in the database, and
// concurrent submitters share transactions.
func TestWriterConcurrentSubmit(t *testing.T) {
	db, ids := newTestDB(t, 8)
	w := newTestWriter(t, db, 100000)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const workers, each = 32, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b := Beat{ServiceRecordID: ids[(g+i)%len(ids)], Status: "up", Message: fmt.Sprintf("g%d-%d", g, i),
					Metadata: []byte(`{"g":1}`), At: t0.Add(time.Duration(g*each+i) * time.Millisecond)}
				if err := w.Submit(context.Background(), []Beat{b}); err != nil {
					t.Errorf("submit: %v", err)
					return
				}
				mu.Lock()
				acked++
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != acked || acked != workers*each {
		t.Errorf("%d rows for %d acknowledged beats (of %d sent)", got, acked, workers*each)
	}
	if got := countRows(t, db, "SELECT COUNT(DISTINCT message) FROM heartbeats"); got != workers*each {
		t.Errorf("%d distinct beats, want %d", got, workers*each)
	}
	// Each service's lastSeen is its newest beat, whatever order the batches landed in.
	for _, id := range ids {
		var last, newest string
		if err := db.QueryRow("SELECT lastSeen FROM service_states WHERE id = ?", id).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT MAX(created) FROM heartbeats WHERE service = ?", id).Scan(&newest); err != nil {
			t.Fatal(err)
		}
		if last != newest {
			t.Errorf("service %s lastSeen %s, newest beat %s", id, last, newest)
		}
	}
}

func TestWriterLastSeenOnlyMovesForward(t *testing.T) {
	db, ids := newTestDB(t, 1)
	w := newTestWriter(t, db, 10)
	defer w.Close(context.Background())
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	submit := func(at time.Time, status string) {
		if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: status, Message: status, At: at}}); err != nil {
			t.Fatal(err)
		}
	}
	submit(t0.Add(time.Second), "down")
	submit(t0, "up") // stamped earlier, committed later
	var seen, status, first string
	if err := db.QueryRow("SELECT lastSeen, lastStatus, firstSeen FROM service_states WHERE id = ?", ids[0]).Scan(&seen, &status, &first); err != nil {
		t.Fatal(err)
	}
	if seen != "2026-11-26 12:00:01.000Z" || status != "down" {
		t.Errorf("lastSeen %s lastStatus %s, want the newer beat's", seen, status)
	}
	// firstSeen is the first beat written, and a later one never moves it.
	submit(t0.Add(2*time.Second), "degraded") // a change of status: written at once
	if err := db.QueryRow("SELECT lastSeen, firstSeen FROM service_states WHERE id = ?", ids[0]).Scan(&seen, &first); err != nil {
		t.Fatal(err)
	}
	if seen != "2026-11-26 12:00:02.000Z" || first != "2026-11-26 12:00:01.000Z" {
		t.Errorf("after a third beat: lastSeen %s firstSeen %s, want 12:00:02 and the first written 12:00:01", seen, first)
	}
}

// TestWriterCloseDrains: Close commits what is queued, and later submits are refused.
func TestWriterCloseDrains(t *testing.T) {
	db, ids := newTestDB(t, 1)
	w := newTestWriter(t, db, 100000)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", At: time.Now()}})
		}()
	}
	time.Sleep(time.Millisecond)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch err {
		case nil:
			ok++
		case ErrClosed:
		default:
			t.Errorf("submit: %v", err)
		}
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != ok {
		t.Errorf("%d rows for %d acknowledged beats", got, ok)
	}
	if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], At: time.Now()}}); err != ErrClosed {
		t.Errorf("submit after close: %v, want ErrClosed", err)
	}
}

func TestWriterBatchSubmitIsAtomicAndBounded(t *testing.T) {
	db, ids := newTestDB(t, 2)
	w := newTestWriter(t, db, 3)
	defer w.Close(context.Background())
	four := make([]Beat, 4)
	for i := range four {
		four[i] = Beat{ServiceRecordID: ids[i%2], Status: "up", At: time.Now()}
	}
	if err := w.Submit(context.Background(), four); err != ErrQueueFull {
		t.Errorf("4 beats into a queue of 3: %v, want ErrQueueFull", err)
	}
	if err := w.Submit(context.Background(), four[:3]); err != nil {
		t.Errorf("3 beats: %v", err)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 3 {
		t.Errorf("%d rows, want 3", got)
	}
	if w.Queued() != 0 {
		t.Errorf("%d beats still counted as queued", w.Queued())
	}
}

func newTestWriter(t *testing.T, db *sql.DB, maxQueue int) *Writer {
	t.Helper()
	w, err := NewWriter(db, maxQueue, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWriterHoldsBackRepeatUpdates: a service beating again within lastWriteEvery with
// the same status has its lastSeen written within lastWriteEvery, not in every batch;
// a change of status is written at once.
func TestWriterHoldsBackRepeatUpdates(t *testing.T) {
	db, ids := newTestDB(t, 1)
	w := newTestWriter(t, db, 10)
	defer w.Close(context.Background())
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	lastSeen := func() (string, string) {
		var seen, status string
		if err := db.QueryRow("SELECT lastSeen, lastStatus FROM service_states WHERE id = ?", ids[0]).Scan(&seen, &status); err != nil {
			t.Fatal(err)
		}
		return seen, status
	}
	submit := func(at time.Time, status string) {
		if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: status, At: at}}); err != nil {
			t.Fatal(err)
		}
	}
	submit(t0, "up")
	if seen, _ := lastSeen(); seen != t0.Format(DateLayout) {
		t.Fatalf("first beat not written at once: %s", seen)
	}
	submit(t0.Add(10*time.Millisecond), "down")
	if seen, st := lastSeen(); seen != t0.Add(10*time.Millisecond).Format(DateLayout) || st != "down" {
		t.Fatalf("a change of status was held back: %s %s", seen, st)
	}
	later := t0.Add(20 * time.Millisecond)
	submit(later, "down")
	deadline := time.Now().Add(3 * lastWriteEvery)
	for {
		seen, _ := lastSeen()
		if seen == later.Format(DateLayout) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("held-back lastSeen never written: %s", seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 3 {
		t.Errorf("%d heartbeats, want every one of 3 stored", got)
	}
}

// TestReconcile: beats stored while their service update was still held back (the
// process died in that window) bring lastSeen up to date at the next start.
func TestReconcile(t *testing.T) {
	db, ids := newTestDB(t, 2)
	if _, err := db.Exec(`INSERT INTO heartbeats (id, service, status, message, created) VALUES
		('a1', ?1, 'up', 'old', '2026-11-26 12:00:00.000Z'),
		('a2', ?1, 'down', 'newest', '2026-11-26 12:00:05.000Z'),
		('a3', ?1, 'up', 'middle', '2026-11-26 12:00:03.000Z'),
		('b1', ?2, 'up', 'b-old', '2026-11-26 11:00:00.000Z')`, ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO service_states (id, service, lastSeen, lastStatus, lastMessage) VALUES (?1, ?1, '2026-11-26 11:30:00.000Z', 'up', 'kept')`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := Reconcile(db); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][3]string{
		ids[0]: {"2026-11-26 12:00:05.000Z", "down", "newest"},
		ids[1]: {"2026-11-26 11:30:00.000Z", "up", "kept"}, // already newer than its beats
	} {
		var got [3]string
		if err := db.QueryRow("SELECT lastSeen, lastStatus, lastMessage FROM service_states WHERE id = ?", id).Scan(&got[0], &got[1], &got[2]); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("service %s: %v, want %v", id, got, want)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	a, b := NewID(t0), NewID(t0.Add(time.Millisecond))
	if len(a) != 15 || a >= b {
		t.Errorf("NewID: %q then %q, want 15 chars sorting by time", a, b)
	}
	for _, c := range a {
		if !strings.ContainsRune(idAlphabet, c) {
			t.Errorf("id %q has %q", a, c)
		}
	}
}

// TestWriterGroupsCommitsOnOneCore: with one core, as the server runs when pinned, 64
// concurrent senders must share transactions rather than commit one beat each.
func TestWriterGroupsCommitsOnOneCore(t *testing.T) {
	db, ids := newTestDB(t, 16)
	w := newTestWriter(t, db, 100000)
	defer w.Close(context.Background())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const senders, each = 64, 20
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[(g+i)%len(ids)], Status: "up", At: time.Now()}}); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	beats := senders * each
	if c := w.Commits(); c > int64(beats/8) {
		t.Errorf("%d commits for %d beats from %d senders: group commit is not grouping", c, beats, senders)
	} else {
		t.Logf("%d commits for %d beats (%.1f beats per commit)", c, beats, float64(beats)/float64(c))
	}
}

// TestCheckpoint: with the writer's automatic checkpoints off, Checkpoint copies the
// whole log back, and the checkpointer keeps resetting the log as beats are written.
func TestCheckpoint(t *testing.T) {
	db, ids := newTestDB(t, 4)
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, db, 1000)
	defer w.Close(context.Background())
	write := func() {
		beats := make([]Beat, 100)
		for i := range beats {
			beats[i] = Beat{ServiceRecordID: ids[i%len(ids)], Status: "up", Message: strings.Repeat("m", 200), At: time.Now()}
		}
		if err := w.Submit(context.Background(), beats); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint := func() (int, int) {
		logFrames, done, err := Checkpoint(db)
		if err != nil {
			t.Fatal(err)
		}
		return logFrames, done
	}
	write()
	if logFrames, done := checkpoint(); logFrames == 0 || done != logFrames {
		t.Fatalf("checkpoint: %d of %d frames copied, want all of a non-empty log", done, logFrames)
	}
	for i := 0; i < 20; i++ { // no checkpointer: the log grows with every write
		write()
		time.Sleep(5 * time.Millisecond)
	}
	grown, _ := checkpoint()
	stop := w.StartCheckpointer(db, 2*time.Millisecond)
	for i := 0; i < 20; i++ {
		write()
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	kept, _ := checkpoint()
	if kept*2 > grown {
		t.Errorf("log of %d frames after 20 writes with the checkpointer, %d without: it is not being reset", kept, grown)
	}
}

// TestWriterRetriesFailedCommit: a batch whose transaction fails is tried again; beats
// are acknowledged once stored, and stored once. Past the last attempt the error is the
// caller's.
func TestWriterRetriesFailedCommit(t *testing.T) {
	db, ids := newTestDB(t, 1)
	var reported atomic.Int32
	w, err := NewWriter(db, 100, func(error) { reported.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	w.failNext.Store(2)
	if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", At: time.Now()}}); err != nil {
		t.Fatalf("after two failed attempts: %v, want the third to succeed", err)
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 1 || reported.Load() != 2 {
		t.Errorf("%d rows, %d failures reported; want 1 row and 2 reports", got, reported.Load())
	}
	w.failNext.Store(int32(len(commitAttempts)))
	if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", At: time.Now()}}); err == nil {
		t.Error("every attempt failed but Submit reported success")
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM heartbeats"); got != 1 {
		t.Errorf("%d rows after a batch that failed every attempt, want 1", got)
	}
}

// TestWriterForgetsQuietServices: the writer remembers a service only while it may hold
// its update back (about a second after writing it). A fleet of a million that each beat
// once every two minutes would otherwise stay in its memory, and every tick would walk
// it; here 2,000 services beat once, and about a second later it holds none of them,
// while a held-back update is still written.
func TestWriterForgetsQuietServices(t *testing.T) {
	db, ids := newTestDB(t, 2000)
	w := newTestWriter(t, db, 10000)
	defer w.Close(context.Background())
	now := time.Now().UTC()
	beats := make([]Beat, len(ids))
	for i, id := range ids {
		beats[i] = Beat{ServiceRecordID: id, Status: "up", At: now}
	}
	if err := w.Submit(context.Background(), beats); err != nil {
		t.Fatal(err)
	}
	// A repeat beat of one service within the second is held back, then written.
	held := now.Add(5 * time.Millisecond)
	if err := w.Submit(context.Background(), []Beat{{ServiceRecordID: ids[0], Status: "up", At: held}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * lastWriteEvery)
	for w.held.Load() != 0 || time.Since(now) < lastWriteEvery {
		if time.Now().After(deadline) {
			t.Fatalf("the writer still remembers %d services %s after they beat", w.held.Load(), time.Since(now))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var seen string
	if err := db.QueryRow("SELECT lastSeen FROM service_states WHERE id = ?", ids[0]).Scan(&seen); err != nil {
		t.Fatal(err)
	}
	if seen != held.Format(DateLayout) {
		t.Errorf("held-back lastSeen %s, want %s", seen, held.Format(DateLayout))
	}
}
