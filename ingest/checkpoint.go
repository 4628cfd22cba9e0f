package ingest

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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

// logFill is how much of the write-ahead log holds frames not yet started over: the
// file's size, or less once a RESTART checkpoint let later commits write over it from
// the start. SQLite keeps the count of valid frames (mxFrame) and the page size in the
// wal-index header at the start of the -shm file, in native byte order (see
// sqlite.org/walformat.html). Without it the file's size is the answer: never less
// than the fill.
func (w *Writer) logFill() int64 {
	size := w.logSize()
	if size == 0 {
		return 0
	}
	shm, err := os.Open(strings.TrimSuffix(w.walPath, "-wal") + "-shm")
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			w.report(fmt.Errorf("ingest: log fill: %w", err))
		}
		return size
	}
	defer shm.Close()
	var hdr [20]byte
	if _, err := io.ReadFull(shm, hdr[:]); err != nil {
		w.report(fmt.Errorf("ingest: log fill: %w", err))
		return size
	}
	page := int64(binary.NativeEndian.Uint16(hdr[14:16]))
	if page == 1 {
		page = 1 << 16
	}
	frames := int64(binary.NativeEndian.Uint32(hdr[16:20]))
	if page < 512 {
		return size
	}
	return min(size, 32+frames*(24+page))
}
