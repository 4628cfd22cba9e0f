package app

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// Pacing of a retention pass. A pass works in steps (a read of a chunk of services, or a
// transaction of DELETEs on the write connection that ends after trimBudget) and rests
// after each for at least restFactor times what it took: on the one core the server may
// have, the beats' goroutines and the writer run in between, and wait behind a pass for
// about one step. It also keeps to a schedule: the services it counts or trims are
// spread over passSpread, but never slower than the minimum rates, so a small pass ends
// in moments and a large one does not burst. Deleting rows dirties pages the write-ahead
// log must take and a checkpoint copy back, and a burst of them fills the log until the
// writer stops to truncate it (beats then wait tens of milliseconds): trimming 1,000,000
// services is spread over the 5 minutes, 10,000 over 20 s.
const (
	heldChunk    = 64   // services one HeldRows read counts: at most 64 x 2 x (keep+1) index entries
	logsChunk    = 4096 // logs one LogsWritten read lists
	trimBudget   = time.Millisecond
	restFactor   = 2
	restAtMost   = 50 * time.Millisecond
	passSpread   = 5 * time.Minute
	minCountRate = 20000 // services counted a second, at least
	minTrimRate  = 500   // services trimmed a second, at least
)

// retention makes a retention pass cost what changed since the last one, not the fleet.
// It keeps, per service, an upper bound of the heartbeats and logs it holds: the first
// pass counts every service's history (on the read pool, up to one past what is kept);
// after that the ingest writer adds the beats it commits (wrote), and each pass adds the
// logs written since the previous one (counted by rowid: the engine writes them through
// the writer's Ops, which it does not count). A pass then looks only at the services
// whose bound is past what is kept, trims them, and sets their bound to what is kept
// plus what was written meanwhile.
//
// A bound only ever overestimates (a beat committed while the pass counts may be counted
// twice), so no service past what it keeps is missed, except in one case: a log that
// takes the rowid of a newer log deleted before it (SQLite reuses the largest rowid) is
// not counted, until that service's next trim.
type retention struct {
	mu       sync.Mutex
	held     map[string]held     // bound per service record id; absent: none held
	over     map[string]struct{} // services whose bound is past keep
	keep     store.Retention     // what over was decided against
	logsMark int64               // logs up to this rowid are in held
	counted  bool                // held covers every service (the first pass ran)

	passMu sync.Mutex          // one pass at a time
	sleep  func(time.Duration) // between steps of a pass
}

// held is an upper bound of the rows a service holds.
type held struct{ beats, logs int }

func newRetention() *retention {
	return &retention{held: map[string]held{}, over: map[string]struct{}{}, sleep: time.Sleep}
}

// schedule paces one phase of a pass (see passSpread).
type schedule struct {
	start time.Time
	rate  float64 // items a second at most; 0: no schedule, only the rest after each step
	done  int
	sleep func(time.Duration)
}

// newSchedule paces total items: spread over passSpread, at least minRate a second.
func (r *retention) newSchedule(total int, minRate float64) *schedule {
	return &schedule{start: time.Now(), rate: max(minRate, float64(total)/passSpread.Seconds()), sleep: r.sleep}
}

// rest follows a step that did items in busy: restFactor times busy, or longer when
// the phase is ahead of its schedule.
func (s *schedule) rest(items int, busy time.Duration) {
	s.done += items
	wait := min(restFactor*busy, restAtMost)
	if s.rate > 0 {
		if ahead := time.Duration(float64(s.done)/s.rate*float64(time.Second)) - time.Since(s.start); ahead > wait {
			wait = ahead
		}
	}
	s.sleep(wait)
}

// wrote is the ingest writer's commit hook: beats are the heartbeats it just committed,
// per service record id.
func (r *retention) wrote(beats map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, n := range beats {
		h := r.held[id]
		h.beats += n
		r.set(id, h)
	}
}

// set records h for id and whether it is past keep; r.mu is held.
func (r *retention) set(id string, h held) {
	if h == (held{}) {
		delete(r.held, id)
	} else {
		r.held[id] = h
	}
	if (r.keep.Heartbeats > 0 && h.beats > r.keep.Heartbeats) || (r.keep.Logs > 0 && h.logs > r.keep.Logs) {
		r.over[id] = struct{}{}
	} else {
		delete(r.over, id)
	}
}

// pass applies keep at now. A pass still running when the next is due covers it: the
// next returns at once.
func (r *retention) pass(db store.DBs, keep store.Retention, now time.Time) error {
	if !r.passMu.TryLock() {
		return nil
	}
	defer r.passMu.Unlock()
	r.mu.Lock()
	if keep != r.keep {
		r.keep, r.counted = keep, false // what is over changes with keep: count again
	}
	counted := r.counted
	r.mu.Unlock()
	if keep.Heartbeats > 0 || keep.Logs > 0 {
		var err error
		if counted {
			err = r.countLogs(db)
		} else {
			err = r.countAll(db, keep)
		}
		if err != nil {
			return err
		}
		if err := r.trimOver(db, keep); err != nil {
			return err
		}
	}
	shared := r.newSchedule(0, 0)
	if err := store.PruneShared(db, keep, now, func(busy time.Duration) { shared.rest(0, busy) }); err != nil {
		return fmt.Errorf("app: retention: %w", err)
	}
	return nil
}

// countAll counts the history of every service, replacing the bounds: the first pass
// after start-up, which finds the services already past what is kept.
func (r *retention) countAll(db store.DBs, keep store.Retention) error {
	// The mark is read first: logs after it may be counted now and again by the next
	// pass, which only overestimates.
	mark, err := store.LogsMark(db)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.held, r.over = map[string]held{}, map[string]struct{}{}
	r.mu.Unlock()
	pace := r.newSchedule(0, minCountRate) // a read: no log to fill, no need to spread
	for after := ""; ; {
		start := time.Now()
		ids, err := store.ServicesAfter(db, after, heldChunk)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		rows, err := store.HeldRows(db, ids, keep)
		if err != nil {
			return err
		}
		r.mu.Lock()
		for _, row := range rows {
			h := r.held[row.ID] // beats the writer committed since the reset
			h.beats += row.Beats
			h.logs += row.Logs
			r.set(row.ID, h)
		}
		r.mu.Unlock()
		after = ids[len(ids)-1]
		pace.rest(len(ids), time.Since(start))
	}
	r.mu.Lock()
	r.logsMark, r.counted = mark, true
	r.mu.Unlock()
	return nil
}

// countLogs adds the logs written since the previous pass to the bounds.
func (r *retention) countLogs(db store.DBs) error {
	to, err := store.LogsMark(db)
	if err != nil {
		return err
	}
	r.mu.Lock()
	from := r.logsMark
	r.mu.Unlock()
	pace := r.newSchedule(0, 0)
	for from < to {
		start := time.Now()
		end := min(from+logsChunk, to)
		rows, err := store.LogsWritten(db, from, end)
		if err != nil {
			return err
		}
		r.mu.Lock()
		for id, n := range rows {
			h := r.held[id]
			h.logs += n
			r.set(id, h)
		}
		r.logsMark = end
		r.mu.Unlock()
		from = end
		pace.rest(0, time.Since(start))
	}
	return nil
}

// trimOver trims the services whose bound is past keep, a few at a time, and sets each
// bound to what is kept plus what was written since the bounds were read: the DELETEs
// leave at most keep rows of what was there, so that is still an upper bound.
func (r *retention) trimOver(db store.DBs, keep store.Retention) error {
	r.mu.Lock()
	targets := make([]store.TrimTarget, 0, len(r.over))
	before := make(map[string]held, len(r.over))
	for id := range r.over {
		h := r.held[id]
		before[id] = h
		targets = append(targets, store.TrimTarget{ID: id, Beats: keep.Heartbeats > 0 && h.beats > keep.Heartbeats, Logs: keep.Logs > 0 && h.logs > keep.Logs})
	}
	r.mu.Unlock()
	slices.SortFunc(targets, func(a, b store.TrimTarget) int { return strings.Compare(a.ID, b.ID) })
	pace := r.newSchedule(len(targets), minTrimRate)
	for len(targets) > 0 {
		start := time.Now()
		n, err := store.TrimServices(db, targets, keep, trimBudget)
		if err != nil {
			return fmt.Errorf("app: retention: %w", err)
		}
		r.mu.Lock()
		for _, t := range targets[:n] {
			was, now := before[t.ID], r.held[t.ID]
			h := held{beats: now.beats, logs: now.logs}
			if t.Beats {
				h.beats = keep.Heartbeats + now.beats - was.beats
			}
			if t.Logs {
				h.logs = keep.Logs + now.logs - was.logs
			}
			r.set(t.ID, h)
		}
		r.mu.Unlock()
		targets = targets[n:]
		pace.rest(n, time.Since(start))
	}
	return nil
}

// bindRetention gives s its retention and, once the writer runs, the writer's commits:
// the OnServe hook bound here runs after the one that starts the writer, and before the
// server takes a beat.
func bindRetention(app core.App, s *server) {
	s.retention = newRetention()
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if s.writer != nil {
			s.writer.OnWritten(s.retention.wrote)
		}
		return se.Next()
	})
}
