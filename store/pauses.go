package store

import (
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/dbx"
)

// Queries of the pauses, which the uptime maths leaves out.
const (
	SQLOpenPauses  = "SELECT id, endedAt FROM pauses WHERE service = {:id} AND (endedAt = '' OR endedAt > {:now})"
	SQLUpdatePause = "UPDATE pauses SET endedAt = {:end}, updated = {:now} WHERE id = {:id}"
)

// SyncPause makes the service's current pause match what its record asks for: none, or
// one from now (or from when it began) until until (zero: until resumed).
func SyncPause(db dbx.Builder, recordID string, paused bool, until, now time.Time) error {
	var open []struct {
		ID      string `db:"id"`
		EndedAt string `db:"endedAt"`
	}
	err := db.NewQuery(SQLOpenPauses).Bind(dbx.Params{"id": recordID, "now": DBDate(now)}).All(&open)
	if err != nil {
		return fmt.Errorf("store: find open pause: %w", err)
	}
	end := DBDate(until) // "" while open-ended
	if !paused {
		end = DBDate(now)
	}
	for _, p := range open {
		if p.EndedAt == end {
			continue
		}
		_, err := db.NewQuery(SQLUpdatePause).Bind(dbx.Params{"end": end, "now": DBDate(now), "id": p.ID}).Execute()
		if err != nil {
			return fmt.Errorf("store: update pause: %w", err)
		}
	}
	if !paused || len(open) > 0 {
		return nil
	}
	at := DBDate(now)
	err = InsertRows(db, "pauses", []string{"id", "service", "startedAt", "endedAt", "created", "updated"},
		[][]any{{ingest.NewID(now), recordID, at, end, at, at}})
	if err != nil {
		return fmt.Errorf("store: open pause: %w", err)
	}
	return nil
}
