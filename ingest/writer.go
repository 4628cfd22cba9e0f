package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DateLayout is how PocketBase stores dates; stored strings sort in time order.
const DateLayout = "2006-01-02 15:04:05.000Z"

// Errors Submit returns instead of queueing.
var (
	ErrQueueFull = errors.New("ingest: queue full")
	ErrClosed    = errors.New("ingest: writer closed")
)

// Beat is one heartbeat ready to be stored.
type Beat struct {
	ServiceRecordID string
	APIKeyID        string // the api_keys record that authorised it, if any
	Status          string
	Message         string
	Metadata        []byte // compact JSON object or nil
	SourceIP        string
	UserAgent       string
	At              time.Time
}

type job struct {
	beats []Beat
	done  chan error
}

// Writer commits beats to SQLite from one goroutine, many beats per transaction (group
// commit). Submit returns only after the transaction holding its beats has committed,
// so a caller that acknowledges after Submit never acknowledges a beat it could lose.
type Writer struct {
	db       *sql.DB
	maxBatch int
	maxQueue int64
	queued   atomic.Int64
	queue    chan *job

	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
	done   chan struct{}

	keyUse map[string]time.Time // when lastUsedAt was last written per api key
}

// NewWriter starts a writer on db (PocketBase's single-connection write pool, so our
// transactions queue behind PocketBase's own writes instead of failing as busy).
// maxQueue bounds the beats waiting; past it Submit refuses with ErrQueueFull.
func NewWriter(db *sql.DB, maxQueue int) *Writer {
	if maxQueue <= 0 {
		maxQueue = 10000
	}
	w := &Writer{
		db:       db,
		maxBatch: 2000,
		maxQueue: int64(maxQueue),
		queue:    make(chan *job, maxQueue),
		done:     make(chan struct{}),
		keyUse:   map[string]time.Time{},
	}
	go w.run()
	return w
}

// Submit queues beats and waits until they are committed, the commit fails, or ctx ends
// (in which case the beats may still be committed).
func (w *Writer) Submit(ctx context.Context, beats []Beat) error {
	if len(beats) == 0 {
		return nil
	}
	j := &job{beats: beats, done: make(chan error, 1)}
	if err := w.enqueue(j); err != nil {
		return err
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) enqueue(j *job) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	n := int64(len(j.beats))
	if w.queued.Add(n) > w.maxQueue {
		w.queued.Add(-n)
		return ErrQueueFull
	}
	select {
	case w.queue <- j:
		return nil
	default:
		w.queued.Add(-n)
		return ErrQueueFull
	}
}

// Queued is the number of beats waiting for a commit.
func (w *Writer) Queued() int64 { return w.queued.Load() }

// Close stops taking beats, commits every beat already queued, and waits for that or ctx.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: drain: %w", ctx.Err())
	}
}

func (w *Writer) run() {
	defer close(w.done)
	for j := range w.queue {
		batch := []*job{j}
		n := len(j.beats)
	fill:
		for n < w.maxBatch {
			select {
			case more, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, more)
				n += len(more.beats)
			default:
				break fill
			}
		}
		err := w.commit(batch)
		for _, b := range batch {
			w.queued.Add(-int64(len(b.beats)))
			b.done <- err
		}
	}
}

// heartbeatCols are the columns of one inserted heartbeat row.
const heartbeatCols = 8

// rowsPerInsert keeps a multi-row INSERT well under SQLite's bound-parameter limit.
const rowsPerInsert = 250

func (w *Writer) commit(batch []*job) (err error) {
	tx, err := w.db.Begin()
	if err != nil {
		return fmt.Errorf("ingest: begin: %w", err)
	}
	defer func() {
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
		}
	}()

	type last struct {
		at     time.Time
		status string
		msg    string
	}
	latest := map[string]last{}
	keysUsed := map[string]time.Time{}
	rows := make([]any, 0, rowsPerInsert*heartbeatCols)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		n := len(rows) / heartbeatCols
		q := "INSERT INTO heartbeats (id, service, status, message, metadata, sourceIp, userAgent, created) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?),", n), ",")
		if _, err := tx.Exec(q, rows...); err != nil {
			return fmt.Errorf("ingest: insert heartbeats: %w", err)
		}
		rows = rows[:0]
		return nil
	}
	for _, j := range batch {
		for _, b := range j.beats {
			var meta any
			if b.Metadata != nil {
				meta = string(b.Metadata)
			}
			rows = append(rows, NewID(), b.ServiceRecordID, b.Status, b.Message, meta, b.SourceIP, b.UserAgent, b.At.UTC().Format(DateLayout))
			if len(rows) == rowsPerInsert*heartbeatCols {
				if err := flush(); err != nil {
					return err
				}
			}
			if l, ok := latest[b.ServiceRecordID]; !ok || !b.At.Before(l.at) {
				latest[b.ServiceRecordID] = last{b.At, b.Status, b.Message}
			}
			if b.APIKeyID != "" && b.At.Sub(w.keyUse[b.APIKeyID]) >= time.Minute {
				keysUsed[b.APIKeyID] = b.At
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}

	// lastSeen only moves forward: two handlers can stamp beats in one order and
	// land in batches in the other.
	upd, err := tx.Prepare("UPDATE services SET lastSeen = ?1, lastStatus = ?2, lastMessage = ?3 WHERE id = ?4 AND lastSeen <= ?1")
	if err != nil {
		return fmt.Errorf("ingest: prepare: %w", err)
	}
	defer upd.Close()
	for id, l := range latest {
		if _, err := upd.Exec(l.at.UTC().Format(DateLayout), l.status, l.msg, id); err != nil {
			return fmt.Errorf("ingest: update service: %w", err)
		}
	}
	for id, at := range keysUsed {
		if _, err := tx.Exec("UPDATE api_keys SET lastUsedAt = ? WHERE id = ?", at.UTC().Format(DateLayout), id); err != nil {
			return fmt.Errorf("ingest: update key: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ingest: commit: %w", err)
	}
	for id, at := range keysUsed {
		w.keyUse[id] = at
	}
	return nil
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewID makes a PocketBase-style record id: 15 chars of [a-z0-9].
func NewID() string {
	var b [15]byte
	for i := range b {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b[:])
}
