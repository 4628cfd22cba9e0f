package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
)

// pruneBatch bounds one DELETE, so the ingest writer never waits long behind pruning.
const pruneBatch = 1000

// prune applies retention: the newest KeepHeartbeats heartbeats and KeepLogs logs per
// service, the newest KeepSummaries summaries, and closed incidents younger than
// KeepIncidentsDays. Each DELETE is its own short transaction.
func (s *server) prune(now time.Time) error {
	var ids []string
	if err := s.app.DB().NewQuery("SELECT id FROM services").Column(&ids); err != nil {
		return fmt.Errorf("hooks: prune: %w", err)
	}
	for _, id := range ids {
		for _, t := range []struct {
			table string
			keep  int
		}{{"heartbeats", s.cfg.KeepHeartbeats}, {"logs", s.cfg.KeepLogs}} {
			if t.keep <= 0 {
				continue
			}
			q := "DELETE FROM " + t.table + " WHERE rowid IN (SELECT rowid FROM " + t.table +
				" WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:batch} OFFSET {:keep})"
			if err := s.deleteAll(q, dbx.Params{"id": id, "keep": t.keep}); err != nil {
				return err
			}
		}
	}
	if s.cfg.KeepSummaries > 0 {
		q := "DELETE FROM summaries WHERE rowid IN (SELECT rowid FROM summaries ORDER BY created DESC, rowid DESC LIMIT {:batch} OFFSET {:keep})"
		if err := s.deleteAll(q, dbx.Params{"keep": s.cfg.KeepSummaries}); err != nil {
			return err
		}
	}
	if s.cfg.KeepIncidentsDays > 0 {
		cutoff := now.AddDate(0, 0, -s.cfg.KeepIncidentsDays)
		q := "DELETE FROM incidents WHERE rowid IN (SELECT rowid FROM incidents WHERE endedAt != '' AND endedAt < {:cutoff} LIMIT {:batch})"
		if err := s.deleteAll(q, dbx.Params{"cutoff": dbDate(cutoff)}); err != nil {
			return err
		}
	}
	return nil
}

// deleteAll runs a batched DELETE until it removes nothing.
func (s *server) deleteAll(q string, params dbx.Params) error {
	params["batch"] = pruneBatch
	for {
		res, err := s.app.NonconcurrentDB().NewQuery(q).Bind(params).Execute()
		if err != nil {
			return fmt.Errorf("hooks: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("hooks: prune: %w", err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}

func isNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }
