package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
)

// pruneBatch bounds one DELETE, so the ingest writer never waits long behind pruning.
const pruneBatch = 1000

// Statements of retention; each deletes at most {:batch} rows and runs until it
// deletes fewer.
const (
	SQLServiceIDs = "SELECT id FROM services"
	// SQLHasOldHeartbeats and SQLHasOldLogs tell, on the read pool, whether a service
	// has more than {:keep} rows: only then does its DELETE take the write connection.
	SQLHasOldHeartbeats  = "SELECT 1 FROM heartbeats WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT 1 OFFSET {:keep}"
	SQLHasOldLogs        = "SELECT 1 FROM logs WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT 1 OFFSET {:keep}"
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

// Prune applies retention to heartbeats, logs, summaries and closed incidents. Each
// DELETE is its own short transaction. Per service, a read on the read pool first asks
// whether there is anything to delete: a fleet of 100,000 services whose beats are within
// retention then costs 200,000 index lookups beside the writer, not 200,000 write
// transactions that held up its commits (a beat waited up to 1.8 s while they ran).
func Prune(db DBs, keep Retention, now time.Time) error {
	var ids []string
	if err := db.DB().NewQuery(SQLServiceIDs).Column(&ids); err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	for _, id := range ids {
		for _, t := range []struct {
			has, q string
			keep   int
		}{{SQLHasOldHeartbeats, SQLPruneHeartbeats, keep.Heartbeats}, {SQLHasOldLogs, SQLPruneLogs, keep.Logs}} {
			if t.keep <= 0 {
				continue
			}
			var one int
			err := db.DB().NewQuery(t.has).Bind(dbx.Params{"id": id, "keep": t.keep}).Row(&one)
			if errors.Is(err, sql.ErrNoRows) {
				continue // nothing past what is kept
			} else if err != nil {
				return fmt.Errorf("store: prune: %w", err)
			}
			if err := deleteAll(db, t.q, dbx.Params{"id": id, "keep": t.keep}); err != nil {
				return err
			}
		}
	}
	if keep.Summaries > 0 {
		if err := deleteAll(db, SQLPruneSummaries, dbx.Params{"keep": keep.Summaries}); err != nil {
			return err
		}
	}
	if keep.IncidentsDays > 0 {
		cutoff := now.AddDate(0, 0, -keep.IncidentsDays)
		if err := deleteAll(db, SQLPruneIncidents, dbx.Params{"cutoff": DBDate(cutoff)}); err != nil {
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
	if err := deleteAll(db, SQLPruneNotification, params()); err != nil {
		return err
	}
	return deleteAll(db, SQLPruneAlerts, params())
}

// deleteAll runs a batched DELETE until it removes nothing.
func deleteAll(db DBs, q string, params dbx.Params) error {
	params["batch"] = pruneBatch
	for {
		res, err := db.NonconcurrentDB().NewQuery(q).Bind(params).Execute()
		if err != nil {
			return fmt.Errorf("store: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: prune: %w", err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}
