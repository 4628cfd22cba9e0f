package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
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
	// ErrLogFull fails a batch when the write-ahead log is past its bound and readers kept
	// it from being truncated: the beats are not stored, so "retry later" is the truth.
	ErrLogFull = errors.New("ingest: write-ahead log full")
)

// Bounds of the write-ahead log. It grows by every page each commit dirties (~15 MB/s at
// 1,000 small commits a second) and, with automatic checkpoints off on the writer's
// connection, only the writer starts it over. Before a commit, a log of walTruncateAt or
// more is checkpointed and truncated to nothing, waiting (within the busy timeout) for
// readers still on it: at any rate the writer accepts, ingest slows down while the log is
// copied, instead of the disk filling. A log of walRefuseAt or more that readers kept
// from being truncated takes no more commits (ErrLogFull). So the log never exceeds
// walRefuseAt plus one batch (2,000 beats of at most ~10 KB: ~20 MB) plus what PocketBase
// wrote meanwhile: well under 64 MB on a 1 GB volume.
const (
	walTruncateAt = 16 << 20
	walRefuseAt   = 32 << 20
)

// Truncations that did not happen.
var (
	errLogBusy           = errors.New("ingest: truncate log: readers still on it past the busy timeout")
	errCheckpointRunning = errors.New("ingest: truncate log: a checkpoint is running")
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

	// A ping in Healthchecks' dialect: its kind ("" for a beat or a success; a "start"
	// or a "log" is stored but is no beat: it moves no lastSeen), the exit status of a
	// kind "exit", its run id and body, and, when it ended a run whose start was known,
	// when that run started.
	Kind       string
	ExitStatus int
	RID        string
	Body       string
	Started    time.Time
	// Runs, when set, is the service's service_states.runs after this ping (JSON; ""
	// for nothing known), written in the same transaction.
	Runs *string
}

// plain reports whether b is stored in heartbeats' original columns alone.
func (b *Beat) plain() bool {
	return b.Kind == "" && b.RID == "" && b.Body == "" && b.Started.IsZero()
}

// isBeat reports whether b moves the service's lastSeen: a start or a log does not.
func (b *Beat) isBeat() bool { return b.Kind != "start" && b.Kind != "log" }

type job struct {
	beats []Beat
	op    Op    // or, instead of beats, work to run in the batch's transaction
	opErr error // what op returned in the last attempt
	done  chan error
}

// Op is work that runs inside one of the writer's transactions, beside the beats of its
// batch, so it is committed as durably as they are and in order with them (the engine's
// transitions go through it). It runs under a savepoint: an Op that fails is undone
// alone, and the beats and other Ops of its batch are still committed. An Op may run
// more than once when its batch's transaction is tried again, each time on a fresh
// transaction, so it must not keep state of its own between runs.
type Op func(tx *sql.Tx) error

// Do runs op in the writer's next transaction and returns once that has committed: nil,
// op's own error (op then changed nothing), or the transaction's error.
func (w *Writer) Do(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ingest: do: %w", err)
	}
	j := &job{op: op, done: make(chan error, 1)}
	if err := w.enqueue(j); err != nil {
		return err
	}
	return <-j.done
}

// Writer commits beats to SQLite from one goroutine, many beats per transaction (group
// commit). Submit returns only after the transaction holding its beats has committed,
// so a caller that acknowledges after Submit never acknowledges a beat it could lose.
type Writer struct {
	onError func(error) // hears of failures no caller waits for

	db       *sql.DB
	maxBatch int
	maxQueue int64
	queued   atomic.Int64
	commits  atomic.Int64
	written  atomic.Pointer[func(map[string]int)] // see OnWritten

	failNext atomic.Int32 // tests: fail this many commits before touching the database
	ckptMu   sync.Mutex   // held by whichever checkpoint runs
	queue    chan *job

	walPath     string // the write-ahead log file; "" when the database has none
	walTruncate int64  // see walTruncateAt
	walRefuse   int64  // see walRefuseAt

	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
	done   chan struct{}

	// Owned by the writer goroutine.
	keyUse   map[string]time.Time // when lastUsedAt was last written per api key
	services map[string]*serviceState
	held     atomic.Int64 // len(services) after the last flush, for tests
	inserts  map[int]*sql.Stmt
	ping     *sql.Stmt // one heartbeats row with the ping columns
	runs     *sql.Stmt // a service's runs
	update   *sql.Stmt
	pragmas  *sql.Stmt
	// commits when the ticker last looked: unchanged a tick later means idle.
	commitsAtTick int64
}

// NewWriter prepares its statements and starts a writer on db (PocketBase's
// single-connection write pool, so our transactions queue behind PocketBase's own writes
// instead of failing as busy). maxQueue bounds the beats waiting; past it Submit refuses
// with ErrQueueFull. onError, if not nil, hears of the failures no caller waits for: a
// held-back service update or a checkpoint that could not be written.
//
// The writer owns the write-ahead log's size (see walTruncateAt): every transaction it
// begins first turns SQLite's automatic checkpoints off on its connection, and it
// truncates the log under load and once idle. Setting the pragma per transaction rather
// than once matters: database/sql replaces a connection idle too long (PocketBase: 3
// minutes) with a new one that knows nothing of the pragmas set on the old one.
func NewWriter(db *sql.DB, maxQueue int, onError func(error)) (*Writer, error) {
	return newWriter(db, maxQueue, onError, walTruncateAt, walRefuseAt)
}

// newWriter is NewWriter with the log's bounds as parameters, for tests.
func newWriter(db *sql.DB, maxQueue int, onError func(error), walTruncate, walRefuse int64) (*Writer, error) {
	if maxQueue <= 0 {
		maxQueue = 10000
	}
	w := &Writer{
		onError:  onError,
		db:       db,
		maxBatch: 2000,
		maxQueue: int64(maxQueue),
		queue:    make(chan *job, maxQueue),
		done:     make(chan struct{}),
		keyUse:   map[string]time.Time{},
		services: map[string]*serviceState{},
		inserts:  map[int]*sql.Stmt{},

		walTruncate: walTruncate,
		walRefuse:   walRefuse,
	}
	var seq int
	var name string
	if err := db.QueryRow("PRAGMA database_list").Scan(&seq, &name, &w.walPath); err != nil {
		return nil, fmt.Errorf("ingest: database file: %w", err)
	}
	if w.walPath != "" {
		w.walPath += "-wal"
	}
	if err := w.prepare(); err != nil {
		w.closeStmts()
		return nil, err
	}
	go w.run()
	return w, nil
}

// Submit queues beats and waits for the outcome of the transaction that holds them: nil
// once it has committed, its error if it failed (and then none of them is stored). ctx
// only keeps beats from being queued: once queued they are committed or not whatever
// becomes of ctx, and Submit tells which. PocketBase cancels every request's context when
// it shuts down; answering "not stored" for a beat the drain then commits would make the
// client send it again, and store it twice.
func (w *Writer) Submit(ctx context.Context, beats []Beat) error {
	if len(beats) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ingest: submit: %w", err)
	}
	j := &job{beats: beats, done: make(chan error, 1)}
	if err := w.enqueue(j); err != nil {
		return err
	}
	// The writer answers every job it took, the last ones while Close drains the queue.
	return <-j.done
}

func (w *Writer) enqueue(j *job) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	n := int64(len(j.beats))
	if j.op != nil {
		n = 1
	}
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

// Commits is the number of transactions the writer has committed.
func (w *Writer) Commits() int64 { return w.commits.Load() }

// Queued is the number of beats waiting for a commit.
func (w *Writer) Queued() int64 { return w.queued.Load() }

// Close stops taking beats (Submit then returns ErrClosed and stores nothing), commits
// every beat already queued, and waits for that or ctx. The commits do not depend on ctx:
// when it ends first they go on, and each Submit still gets its true outcome.
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
	defer w.closeStmts()
	tick := time.NewTicker(lastWriteEvery / 4)
	defer tick.Stop()
	for {
		var j *job
		select {
		case next, ok := <-w.queue:
			if !ok {
				w.flushPending(true)
				return
			}
			j = next
		case <-tick.C:
			w.flushPending(false)
			w.shrinkIfIdle()
			continue
		}
		batch := []*job{j}
		n := len(j.beats)
		// Gather what is queued, then yield once so that handlers ready to run can queue
		// their beats too, and gather again for as long as that brings more. On a single
		// core (GOMAXPROCS=1) handlers cannot run while this goroutine does: without the
		// yield every batch held one beat and group commit never happened. Gathering
		// stops after maxGather: when another goroutine is busy on that one core (a
		// retention pass, a large reply, the collector), each yield can last a whole
		// time slice (10 ms) and bring in only a few beats, and a batch that kept
		// gathering would not commit until the other work ended.
		gatherFrom := time.Now()
		for n < w.maxBatch && time.Since(gatherFrom) < maxGather {
			got := false
		fill:
			for n < w.maxBatch {
				select {
				case more, ok := <-w.queue:
					if !ok {
						break fill
					}
					batch = append(batch, more)
					n += len(more.beats)
					got = true
				default:
					break fill
				}
			}
			if !got && len(batch) > 1 {
				break
			}
			runtime.Gosched()
			if !got && len(w.queue) == 0 {
				break
			}
		}
		err := w.boundLog()
		if err == nil {
			err = w.commitRetrying(batch)
		}
		for _, b := range batch {
			if b.op != nil {
				w.queued.Add(-1)
				if err == nil {
					b.done <- b.opErr
					continue
				}
			}
			w.queued.Add(-int64(len(b.beats)))
			b.done <- err
		}
	}
}

// logSize is the size of the write-ahead log file (0 when there is none). It stats the
// file and never opens it, nor the -shm: closing any descriptor of a file drops every
// POSIX lock this process holds on it, SQLite's included, and another process (an
// import, a backup) may then recover and shrink the wal-index this one has mapped: the
// server died of SIGBUS that way (sqlite.org/howtocorrupt.html, section 2.2).
func (w *Writer) logSize() int64 {
	if w.walPath == "" {
		return 0
	}
	fi, err := os.Stat(w.walPath)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			w.report(fmt.Errorf("ingest: log size: %w", err))
		}
		return 0
	}
	return fi.Size()
}

// truncateLog copies the whole log into the database file and truncates it, from the
// writer's own connection between two commits, so nothing is appended meanwhile. SQLite
// waits, within the busy timeout, for readers still on the log's frames. Unless wait is
// set, a checkpoint already running (StartCheckpointer's, which can take 100 ms) is not
// waited for: errCheckpointRunning, and the caller tries again later.
func (w *Writer) truncateLog(wait bool) error {
	if wait {
		w.ckptMu.Lock()
	} else if !w.ckptMu.TryLock() {
		return errCheckpointRunning
	}
	defer w.ckptMu.Unlock()
	var busy, logFrames, done int
	if err := w.db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("ingest: truncate log: %w", err)
	}
	if busy != 0 {
		return errLogBusy
	}
	return nil
}

// boundLog runs before each commit: it truncates a log past walTruncate, and refuses the
// commit when that failed and the log is past walRefuse (see walTruncateAt).
func (w *Writer) boundLog() error {
	size := w.logSize()
	if size < w.walTruncate {
		return nil
	}
	full := size >= w.walRefuse
	err := w.truncateLog(full)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errCheckpointRunning):
		return nil // not full: try again before the next commit
	}
	w.report(err)
	if !full {
		return nil
	}
	return fmt.Errorf("ingest: log of %d MB: %w: %w", size>>20, ErrLogFull, err)
}

// shrinkIfIdle truncates the log when nothing was committed for a whole tick, so the log
// of a burst does not stay on disk after it. A busy log is tried again at the next tick.
func (w *Writer) shrinkIfIdle() {
	c := w.commits.Load()
	idle := c == w.commitsAtTick
	w.commitsAtTick = c
	if !idle || w.logSize() == 0 {
		return
	}
	if err := w.truncateLog(false); err != nil && !errors.Is(err, errLogBusy) && !errors.Is(err, errCheckpointRunning) {
		w.report(err)
	}
}

// report passes an error no caller waits for to onError.
func (w *Writer) report(err error) {
	if w.onError != nil {
		w.onError(err)
	}
}

// flushPending writes the service updates held back for services that have gone quiet:
// those whose lastWriteEvery has passed, or, when all is set (closing), every one.
func (w *Writer) flushPending(all bool) {
	now := time.Now()
	due := map[string]lastBeat{}
	for id, st := range w.services {
		switch {
		case st.pending != nil && (all || now.Sub(st.writtenAt) >= lastWriteEvery):
			due[id] = *st.pending
		case st.pending == nil && now.Sub(st.writtenAt) >= lastWriteEvery:
			// Nothing held back and nothing to hold back for: its next beat is written
			// at once whether or not it is remembered, so it is forgotten. The map holds
			// the services written in about the last second, not every one that ever
			// beat, and this walk costs what beat lately, not the fleet.
			delete(w.services, id)
		}
	}
	w.held.Store(int64(len(w.services)))
	if len(due) == 0 {
		return
	}
	if err := w.commitTx(nil, due, now); err != nil {
		w.report(err)
	}
}

func (w *Writer) closeStmts() {
	for _, st := range w.inserts {
		st.Close()
	}
	for _, st := range []*sql.Stmt{w.ping, w.runs} {
		if st != nil {
			st.Close()
		}
	}
	if w.update != nil {
		w.update.Close()
	}
	if w.pragmas != nil {
		w.pragmas.Close()
	}
}

// heartbeatCols are the columns of one inserted heartbeat row.
const heartbeatCols = 8

// chunkSizes are the row counts of the prepared multi-row INSERTs a batch is split into:
// a few statements prepared once, instead of parsing a new statement for every batch.
var chunkSizes = []int{128, 32, 8, 1}

// maxGather bounds how long the writer gathers a batch before it commits (see run).
var maxGather = 2 * time.Millisecond

// lastWriteEvery bounds how often a service's lastSeen is rewritten while its reported
// status stays the same. A service beating many times a second would otherwise dirty
// its services page in every batch; its beats are all stored, only lastSeen lags by
// at most this much (a change of status is written at once).
const lastWriteEvery = time.Second

// serviceState is what the writer last wrote to a service, and what it holds back.
type serviceState struct {
	writtenAt time.Time // wall time of the last write
	status    string    // lastStatus as last written
	pending   *lastBeat // newest beat not yet written to the service, if any
}

type lastBeat struct {
	at     time.Time
	status string
	msg    string
}

// insertHeartbeats is the INSERT of rows heartbeats (heartbeatCols values each). OR FAIL
// rather than the default OR ABORT: a failed insert fails the whole batch (commitTx rolls
// its transaction back), so SQLite need not be able to undo that one statement alone, and
// it then keeps no statement journal, a copy of every page the statement changes (7% of
// the server's CPU at 64 clients).
func insertHeartbeats(rows int) string {
	return "INSERT OR FAIL INTO heartbeats (id, service, status, message, metadata, sourceIp, userAgent, created) VALUES " +
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?),", rows), ",")
}

// prepare makes the statements the writer runs, once, outside any transaction: the
// write pool has one connection, which a transaction holds, so a statement prepared on
// the pool from inside one would wait for itself. tx.Stmt then reuses them.
func (w *Writer) prepare() error {
	for _, rows := range chunkSizes {
		st, err := w.db.Prepare(insertHeartbeats(rows))
		if err != nil {
			return fmt.Errorf("ingest: prepare insert: %w", err)
		}
		w.inserts[rows] = st
	}
	st, err := w.db.Prepare(`INSERT OR FAIL INTO heartbeats (id, service, status, message, metadata, sourceIp, userAgent, created,
		kind, exitStatus, rid, body, started) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("ingest: prepare ping insert: %w", err)
	}
	w.ping = st
	if w.runs, err = w.db.Prepare(`INSERT INTO service_states (id, service, runs)
		SELECT ?1, ?1, ?2 WHERE EXISTS (SELECT 1 FROM services WHERE id = ?1)
		ON CONFLICT(id) DO UPDATE SET runs = excluded.runs`); err != nil {
		return fmt.Errorf("ingest: prepare runs update: %w", err)
	}
	// The service's state row is keyed by its record id and made by its first beat;
	// firstSeen is written once, and an older beat never overwrites a newer lastSeen.
	// A service deleted meanwhile gets no row.
	st, err = w.db.Prepare(`INSERT INTO service_states (id, service, lastSeen, lastStatus, lastMessage, firstSeen)
		SELECT ?4, ?4, ?1, ?2, ?3, ?1 WHERE EXISTS (SELECT 1 FROM services WHERE id = ?4)
		ON CONFLICT(id) DO UPDATE SET lastSeen = excluded.lastSeen, lastStatus = excluded.lastStatus, lastMessage = excluded.lastMessage,
			firstSeen = iif(service_states.firstSeen = '', excluded.lastSeen, service_states.firstSeen)
		WHERE excluded.lastSeen >= service_states.lastSeen`)
	if err != nil {
		return fmt.Errorf("ingest: prepare update: %w", err)
	}
	w.update = st
	if w.pragmas, err = w.db.Prepare("PRAGMA wal_autocheckpoint=0"); err != nil {
		return fmt.Errorf("ingest: prepare pragmas: %w", err)
	}
	return nil
}

// commit stores a batch of beats, with the service updates that are due. What it
// holds back is remembered only once the transaction has committed, so a failed commit
// leaves no trace of beats that were not stored.
func (w *Writer) commit(batch []*job) error {
	now := time.Now()
	newest := map[string]lastBeat{}
	for _, j := range batch {
		for _, b := range j.beats {
			if !b.isBeat() {
				continue
			}
			if l, ok := newest[b.ServiceRecordID]; !ok || !b.At.Before(l.at) {
				newest[b.ServiceRecordID] = lastBeat{b.At, b.Status, b.Message}
			}
		}
	}
	due := map[string]lastBeat{}
	for id, l := range newest {
		st := w.services[id]
		if st == nil {
			due[id] = l
			continue
		}
		if st.pending != nil && st.pending.at.After(l.at) {
			l = *st.pending
		}
		if st.status != l.status || now.Sub(st.writtenAt) >= lastWriteEvery {
			due[id] = l
		}
	}
	if err := w.commitTx(batch, due, now); err != nil {
		return err
	}
	for id, l := range newest {
		if _, written := due[id]; written {
			continue
		}
		st := w.services[id]
		if st.pending == nil || !l.at.Before(st.pending.at) {
			st.pending = &l
		}
	}
	return nil
}

// commitTx inserts the batch's beats and writes the due service updates in one
// transaction, and records what it wrote once that has committed.
// commitAttempts bounds the tries of one batch: a failed transaction rolled back
// entirely, so trying it again cannot store a beat twice, and a transient failure
// (a lock that could not be had) should not cost every beat in the batch a 503.
var commitAttempts = []time.Duration{0, 10 * time.Millisecond, 50 * time.Millisecond}

func (w *Writer) commitRetrying(batch []*job) error {
	var err error
	for _, pause := range commitAttempts {
		time.Sleep(pause)
		if err = w.commit(batch); err == nil {
			return nil
		}
		w.report(err)
	}
	return err
}

func (w *Writer) commitTx(batch []*job, due map[string]lastBeat, now time.Time) (err error) {
	if w.failNext.Load() > 0 {
		w.failNext.Add(-1)
		return errors.New("ingest: injected failure")
	}
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
	// On whatever connection the pool gave: a checkpoint is the writer's to run, between
	// commits, never inside one (see StartCheckpointer).
	if _, err := tx.Stmt(w.pragmas).Exec(); err != nil {
		return fmt.Errorf("ingest: pragmas: %w", err)
	}

	keysUsed := map[string]time.Time{}
	var rows []any
	for _, j := range batch {
		for i := range j.beats {
			b := &j.beats[i]
			var meta any
			if b.Metadata != nil {
				meta = string(b.Metadata)
			}
			if b.APIKeyID != "" && b.At.Sub(w.keyUse[b.APIKeyID]) >= time.Minute {
				keysUsed[b.APIKeyID] = b.At
			}
			if !b.plain() {
				if err := w.insertPing(tx, b, meta); err != nil {
					return err
				}
				continue
			}
			rows = append(rows, NewID(b.At), b.ServiceRecordID, b.Status, b.Message, meta, b.SourceIP, b.UserAgent, b.At.UTC().Format(DateLayout))
		}
	}
	for len(rows) > 0 {
		n := len(rows) / heartbeatCols
		size := chunkSizes[len(chunkSizes)-1]
		for _, c := range chunkSizes {
			if c <= n {
				size = c
				break
			}
		}
		if _, err := tx.Stmt(w.inserts[size]).Exec(rows[:size*heartbeatCols]...); err != nil {
			return fmt.Errorf("ingest: insert heartbeats: %w", err)
		}
		rows = rows[size*heartbeatCols:]
	}

	if len(due) > 0 {
		upd := tx.Stmt(w.update)
		// lastSeen only moves forward: two handlers can stamp beats in one order and
		// land in batches in the other.
		for id, l := range due {
			if _, err := upd.Exec(l.at.UTC().Format(DateLayout), l.status, l.msg, id); err != nil {
				return fmt.Errorf("ingest: update service: %w", err)
			}
		}
	}
	if err := runOps(tx, batch); err != nil {
		return err
	}
	for id, at := range keysUsed {
		if _, err := tx.Exec("UPDATE api_keys SET lastUsedAt = ? WHERE id = ?", at.UTC().Format(DateLayout), id); err != nil {
			return fmt.Errorf("ingest: update key: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ingest: commit: %w", err)
	}
	w.commits.Add(1)
	w.noteWritten(batch)
	for id, at := range keysUsed {
		w.keyUse[id] = at
	}
	for id, l := range due {
		st := w.services[id]
		if st == nil {
			st = &serviceState{}
			w.services[id] = st
		}
		st.writtenAt, st.status = now, l.status
		if st.pending != nil && !st.pending.at.After(l.at) {
			st.pending = nil
		}
	}
	return nil
}

// insertPing stores a ping with the columns a beat leaves empty, and the service's runs
// it changed.
func (w *Writer) insertPing(tx *sql.Tx, b *Beat, meta any) error {
	started := ""
	if !b.Started.IsZero() {
		started = b.Started.UTC().Format(DateLayout)
	}
	_, err := tx.Stmt(w.ping).Exec(NewID(b.At), b.ServiceRecordID, b.Status, b.Message, meta, b.SourceIP, b.UserAgent,
		b.At.UTC().Format(DateLayout), b.Kind, b.ExitStatus, b.RID, b.Body, started)
	if err != nil {
		return fmt.Errorf("ingest: insert ping: %w", err)
	}
	if b.Runs != nil {
		var runs any
		if *b.Runs != "" {
			runs = *b.Runs
		}
		if _, err := tx.Stmt(w.runs).Exec(b.ServiceRecordID, runs); err != nil {
			return fmt.Errorf("ingest: update runs: %w", err)
		}
	}
	return nil
}

// InsertRows inserts rows into table in multi-row statements inside tx, with every value
// bound: for Ops that write more than beats.
func InsertRows(tx *sql.Tx, table string, cols []string, rows [][]any) error {
	const perStatement = 100
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for start := 0; start < len(rows); start += perStatement {
		chunk := rows[start:min(start+perStatement, len(rows))]
		args := make([]any, 0, len(chunk)*len(cols))
		for _, r := range chunk {
			if len(r) != len(cols) {
				return fmt.Errorf("ingest: insert %s: %d values for %d columns", table, len(r), len(cols))
			}
			args = append(args, r...)
		}
		q := "INSERT INTO " + table + " (" + strings.Join(quoted, ",") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", len(chunk)), ",")
		if _, err := tx.Exec(q, args...); err != nil {
			return fmt.Errorf("ingest: insert %s: %w", table, err)
		}
	}
	return nil
}

// runOps runs the batch's Ops in tx, each under its own savepoint: a failing Op is rolled
// back alone and keeps its error for its caller. Only a failure of the savepoint
// statements themselves fails the transaction.
func runOps(tx *sql.Tx, batch []*job) error {
	for _, j := range batch {
		if j.op == nil {
			continue
		}
		if _, err := tx.Exec("SAVEPOINT writer_op"); err != nil {
			return fmt.Errorf("ingest: savepoint: %w", err)
		}
		j.opErr = j.op(tx)
		if j.opErr != nil {
			if _, err := tx.Exec("ROLLBACK TO writer_op"); err != nil {
				return fmt.Errorf("ingest: roll back op: %w", err)
			}
		}
		if _, err := tx.Exec("RELEASE writer_op"); err != nil {
			return fmt.Errorf("ingest: release savepoint: %w", err)
		}
	}
	return nil
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewID makes a PocketBase-style record id (15 chars of [a-z0-9]) that sorts by time:
// 9 chars of base-36 milliseconds since 1970, then 6 random ones. Rows inserted in time
// order then append to the primary-key index instead of dirtying a random page of it.
func NewID(at time.Time) string {
	var b [15]byte
	ms := uint64(max(at.UnixMilli(), 0))
	for i := 8; i >= 0; i-- {
		b[i] = idAlphabet[ms%36]
		ms /= 36
	}
	for i := 9; i < len(b); i++ {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b[:])
}

// Reconcile brings every service's lastSeen, lastStatus and lastMessage up to its newest
// stored heartbeat. The writer may hold a service's update back for up to lastWriteEvery;
// if the process dies in that window the beats are stored but lastSeen lags, and this,
// run at start-up before any beat is taken, repairs it.
func Reconcile(db *sql.DB) error {
	// SQLite's bare-column rule: status and message come from the row holding MAX(created).
	_, err := db.Exec(`INSERT INTO service_states (id, service, lastSeen, lastStatus, lastMessage)
		SELECT hb.service, hb.service, hb.created, hb.status, hb.message
		FROM (SELECT service, status, message, MAX(created) AS created FROM heartbeats WHERE kind NOT IN ('start', 'log') GROUP BY service) AS hb
		WHERE EXISTS (SELECT 1 FROM services WHERE id = hb.service)
		ON CONFLICT(id) DO UPDATE SET lastSeen = excluded.lastSeen, lastStatus = excluded.lastStatus, lastMessage = excluded.lastMessage
		WHERE excluded.lastSeen > service_states.lastSeen`)
	if err != nil {
		return fmt.Errorf("ingest: reconcile: %w", err)
	}
	return nil
}
