package ingest

import (
	"database/sql"
	"fmt"
	"sync"
	"time"
)

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
// called. With it, the writer's connection runs with wal_autocheckpoint=0: SQLite would
// otherwise checkpoint (and fsync) inside whichever commit crossed the threshold, and
// every beat waiting for that commit would wait for the checkpoint too. readers must be
// a pool other than the writer's, so a checkpoint never holds the writer's connection.
// Beside a busy writer these checkpoints never catch up, and SQLite only starts the log
// over once one has: when the log holds maxFrames frames (of a page each) or more, the
// writer is asked to checkpoint between two commits (see RequestCheckpoint).
func (w *Writer) StartCheckpointer(readers *sql.DB, interval time.Duration, maxFrames int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				w.ckptMu.Lock() // one checkpoint at a time: a second one gets SQLITE_BUSY
				logFrames, copied, err := Checkpoint(readers)
				w.ckptMu.Unlock()
				switch {
				case err != nil:
					w.report(err)
				case logFrames >= maxFrames && copied < logFrames:
					w.RequestCheckpoint()
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
