package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
)

// pruneBatch bounds one DELETE: about a millisecond of the write connection, so a
// transaction of them stays within the TrimServices budget.
const pruneBatch = 200

// Statements of retention. The per-service DELETEs remove at most {:batch} rows past the
// newest {:keep} and run until they remove fewer.
const (
	// SQLServicesAfter pages through every service by id, for the pass that counts the
	// history of each (the first one after start-up).
	SQLServicesAfter = "SELECT id FROM services WHERE id > {:after} ORDER BY id LIMIT {:n}"
	// SQLHeldRows (its IN list filled by HeldRows) counts each service's heartbeats and
	// logs on the read pool, each up to {:capBeats} and {:capLogs}: enough to tell
	// whether it is past what is kept, without walking a long history.
	SQLHeldRows = "SELECT id, (SELECT count(*) FROM (SELECT 1 FROM heartbeats WHERE service = services.id LIMIT {:capBeats})) AS beats, " +
		"(SELECT count(*) FROM (SELECT 1 FROM logs WHERE service = services.id LIMIT {:capLogs})) AS logs FROM services WHERE id IN (%s)"
	// SQLLogsMark is the newest rowid of logs: logs are written by the engine's Ops, which
	// the writer does not count, so a pass counts the rows past the previous mark.
	SQLLogsMark = "SELECT coalesce(max(rowid), 0) FROM logs"
	// SQLLogsWritten lists the service of each log of rowid in ({:from}, {:to}]: a range
	// of the table itself, counted in Go rather than grouped in a temporary B-tree.
	SQLLogsWritten       = "SELECT service FROM logs WHERE rowid > {:from} AND rowid <= {:to}"
	SQLPruneHeartbeats   = "DELETE FROM heartbeats WHERE rowid IN (SELECT rowid FROM heartbeats WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:batch} OFFSET {:keep})"
	SQLPruneLogs         = "DELETE FROM logs WHERE rowid IN (SELECT rowid FROM logs WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:batch} OFFSET {:keep})"
	SQLPruneSummaries    = "DELETE FROM summaries WHERE rowid IN (SELECT rowid FROM summaries ORDER BY created DESC, rowid DESC LIMIT {:batch} OFFSET {:keep})"
	SQLPruneIncidents    = "DELETE FROM incidents WHERE rowid IN (SELECT rowid FROM incidents WHERE endedAt != '' AND endedAt < {:cutoff} LIMIT {:batch})"
	SQLPruneNotification = `DELETE FROM notifications WHERE rowid IN (SELECT rowid FROM notifications WHERE status != 'pending'
		AND created < {:cutoff} AND (incident = '' OR incident NOT IN (SELECT id FROM incidents WHERE endedAt = '')) LIMIT {:batch})`
	SQLPruneAlerts = "DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts WHERE created < {:cutoff} LIMIT {:batch})"
)

// Retention is how much history is kept; 0 or less keeps everything of that kind.
type Retention struct {
	Heartbeats    int // newest heartbeats kept per service
	Logs          int // newest staleness logs kept per service
	Summaries     int // newest summaries kept
	IncidentsDays int // days closed incidents (and sent notifications, alerts) are kept
}

// HeldRow is how many heartbeats and logs a service holds, or, for HeldRows, at most
// one more than is kept of each.
type HeldRow struct {
	ID    string `db:"id"`
	Beats int    `db:"beats"`
	Logs  int    `db:"logs"`
}

// ServicesAfter returns up to n service record ids after after, in id order.
func ServicesAfter(db DBs, after string, n int) ([]string, error) {
	var ids []string
	if err := db.DB().NewQuery(SQLServicesAfter).Bind(dbx.Params{"after": after, "n": n}).Column(&ids); err != nil {
		return nil, fmt.Errorf("store: services after %q: %w", after, err)
	}
	return ids, nil
}

// HeldRows counts, on the read pool, the heartbeats and logs of the services ids that
// still exist, each kind up to one past what keep keeps (none of a kind kept whole).
// It costs at most that many index entries per service, whatever the history's length.
func HeldRows(db DBs, ids []string, keep Retention) ([]HeldRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	params := dbx.Params{"capBeats": 0, "capLogs": 0}
	if keep.Heartbeats > 0 {
		params["capBeats"] = keep.Heartbeats + 1
	}
	if keep.Logs > 0 {
		params["capLogs"] = keep.Logs + 1
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		name := "i" + strconv.Itoa(i)
		params[name] = id
		names[i] = "{:" + name + "}"
	}
	q := fmt.Sprintf(SQLHeldRows, strings.Join(names, ","))
	return queryAll[HeldRow](db.DB(), q, params, "count held rows")
}

// LogsMark returns the newest rowid of logs.
func LogsMark(db DBs) (int64, error) {
	var mark int64
	if err := db.DB().NewQuery(SQLLogsMark).Row(&mark); err != nil {
		return 0, fmt.Errorf("store: logs mark: %w", err)
	}
	return mark, nil
}

// LogsWritten counts per service record id the logs of rowid in (from, to].
func LogsWritten(db DBs, from, to int64) (map[string]int, error) {
	var services []string
	if err := db.DB().NewQuery(SQLLogsWritten).Bind(dbx.Params{"from": from, "to": to}).Column(&services); err != nil {
		return nil, fmt.Errorf("store: count written logs: %w", err)
	}
	n := map[string]int{}
	for _, s := range services {
		n[s]++
	}
	return n, nil
}

// TrimTarget is a service past what is kept of its heartbeats, its logs, or both.
type TrimTarget struct {
	ID          string
	Beats, Logs bool
}

// TrimServices deletes what is past keep of targets, in order, in one transaction on the
// write connection that ends once it has run for budget and trimmed a target or deleted
// a row (so that every call makes progress): the ingest writer waits behind it for
// about that long. It returns how many targets it trimmed completely; the caller gives
// the rest to the next call.
func TrimServices(db DBs, targets []TrimTarget, keep Retention, budget time.Duration) (done int, err error) {
	w := db.NonconcurrentDB()
	if d, ok := w.(*dbx.DB); ok {
		tx, bErr := d.Begin()
		if bErr != nil {
			return 0, fmt.Errorf("store: trim: begin: %w", bErr)
		}
		defer func() {
			if err != nil {
				if rbErr := tx.Rollback(); rbErr != nil {
					err = fmt.Errorf("store: trim: %w (rollback: %w)", err, rbErr)
				}
				done = 0
				return
			}
			if err = tx.Commit(); err != nil {
				err, done = fmt.Errorf("store: trim: commit: %w", err), 0
			}
		}()
		w = tx
	}
	// Each DELETE is prepared once per transaction: parsing it again for every service
	// cost about as much as running it.
	prepared := map[string]*dbx.Query{}
	defer func() {
		for _, q := range prepared {
			if cErr := q.Close(); cErr != nil && err == nil {
				err, done = fmt.Errorf("store: trim: %w", cErr), 0
			}
		}
	}()
	start, deleted := time.Now(), int64(0)
	for _, t := range targets {
		for _, k := range []struct {
			on   bool
			q    string
			keep int
		}{{t.Beats, SQLPruneHeartbeats, keep.Heartbeats}, {t.Logs, SQLPruneLogs, keep.Logs}} {
			for k.on && k.keep > 0 {
				if time.Since(start) >= budget && (done > 0 || deleted > 0) {
					// Out of time, and something to show for it: the next transaction
					// redoes this service's DELETEs, which find only what is left.
					return done, nil
				}
				q := prepared[k.q]
				if q == nil {
					q = w.NewQuery(k.q).Prepare()
					prepared[k.q] = q
				}
				n, err := execCount(q.Bind(dbx.Params{"id": t.ID, "keep": k.keep, "batch": pruneBatch}))
				if err != nil {
					return done, err
				}
				deleted += n
				if n < pruneBatch {
					break
				}
			}
		}
		done++
	}
	return done, nil
}

// PruneShared applies retention to summaries and closed incidents, the history that is
// not per service, one batched DELETE at a time; rest, if not nil, runs between them
// with the time the DELETE took.
func PruneShared(db DBs, keep Retention, now time.Time, rest func(time.Duration)) error {
	if keep.Summaries > 0 {
		if err := deleteAll(db, SQLPruneSummaries, dbx.Params{"keep": keep.Summaries}, rest); err != nil {
			return err
		}
	}
	if keep.IncidentsDays > 0 {
		cutoff := now.AddDate(0, 0, -keep.IncidentsDays)
		if err := deleteAll(db, SQLPruneIncidents, dbx.Params{"cutoff": DBDate(cutoff)}, rest); err != nil {
			return err
		}
	}
	return nil
}

// PruneAlerts applies retention to notifications and external alerts: the same days as
// incidents, but never a notification still pending or one an open incident's recovery
// needs to find its channels.
func PruneAlerts(db DBs, keepDays int, now time.Time) error {
	if keepDays <= 0 {
		return nil
	}
	params := func() dbx.Params { return dbx.Params{"cutoff": DBDate(now.AddDate(0, 0, -keepDays))} }
	if err := deleteAll(db, SQLPruneNotification, params(), nil); err != nil {
		return err
	}
	return deleteAll(db, SQLPruneAlerts, params(), nil)
}

// deleteAll runs a batched DELETE, each its own transaction, until it removes nothing.
func deleteAll(db DBs, q string, params dbx.Params, rest func(time.Duration)) error {
	params["batch"] = pruneBatch
	for {
		start := time.Now()
		n, err := execCount(db.NonconcurrentDB().NewQuery(q).Bind(params))
		if err != nil {
			return err
		}
		if n < pruneBatch {
			return nil
		}
		if rest != nil {
			rest(time.Since(start))
		}
	}
}

// execCount runs q and returns the rows it changed.
func execCount(q *dbx.Query) (int64, error) {
	res, err := q.Execute()
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	return n, nil
}
