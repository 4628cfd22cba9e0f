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

// StartCheckpointer runs Checkpoint on db every interval until stop is called. With it,
// the writer's connection runs with wal_autocheckpoint=0: SQLite would otherwise
// checkpoint (and fsync) inside whichever commit crossed the threshold, and every beat
// waiting for that commit would wait for the checkpoint too. db should be a pool other
// than the writer's, so a checkpoint never holds the writer's only connection. Under
// sustained load these checkpoints never catch up with the writer and the log cannot
// start over; once the log holds maxFrames frames (of a page each), backlog is called
// (the server then asks the writer to checkpoint between two commits).
func StartCheckpointer(db *sql.DB, interval time.Duration, maxFrames int, backlog func(), onErr func(error)) (stop func()) {
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
				logFrames, done, err := Checkpoint(db)
				if err != nil && onErr != nil {
					onErr(err)
				}
				if err == nil && logFrames >= maxFrames && done < logFrames && backlog != nil {
					backlog()
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
