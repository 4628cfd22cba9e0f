package ingest

import (
	"database/sql"
	"fmt"
	"math"
	"sync"
	"time"
)

// NewWriterWithoutCheckpoints is NewWriter for a database whose log another component
// checkpoints: Litestream, while the server replicates. Litestream holds a read
// transaction open so that it sees every frame before the log starts over, and the
// writer's truncating checkpoint would wait on it for the whole busy timeout (10 s of
// stalled beats). This writer never checkpoints: its bounds are out of reach, and it
// holds its checkpoint lock for good, so an idle tick finds "a checkpoint running" and
// skips. Do not start its checkpointer.
func NewWriterWithoutCheckpoints(db *sql.DB, maxQueue int, onError func(error)) (*Writer, error) {
	w, err := newWriter(db, maxQueue, onError, math.MaxInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	w.ckptMu.Lock()
	return w, nil
}

// Checkpoint copies what it can of the write-ahead log back into the database file
// without waiting for any lock (a PASSIVE checkpoint), and reports how many frames the
// log holds and how many of them are now in the database file.
func Checkpoint(db *sql.DB) (logFrames, done int, err error) {
	var busy int
	if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		return 0, 0, fmt.Errorf("ingest: checkpoint: %w", err)
	}
	return logFrames, done, nil
}

// StartCheckpointer runs a passive Checkpoint on readers every interval until stop is
// called. The writer's connection runs with wal_autocheckpoint=0: SQLite would otherwise
// checkpoint (and fsync) inside whichever commit crossed the threshold, and every beat
// waiting for that commit would wait for the checkpoint too. readers must be a pool other
// than the writer's, so this copying never holds the writer's connection. Beside a busy
// writer these checkpoints never catch up, and SQLite only starts the log over once one
// has: the writer truncates the log itself (see walTruncateAt), with less left to copy
// for what these did.
func (w *Writer) StartCheckpointer(readers *sql.DB, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		last := int64(-1)
		for {
			select {
			case <-done:
				return
			case <-t.C:
				// Nothing committed since the last one: nothing new to copy. An idle server
				// then costs no checkpoint four times a second.
				if c := w.commits.Load(); c == last {
					continue
				} else {
					last = c
				}
				w.ckptMu.Lock() // one checkpoint at a time: a second one gets SQLITE_BUSY
				_, _, err := Checkpoint(readers)
				w.ckptMu.Unlock()
				if err != nil {
					w.report(err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}
