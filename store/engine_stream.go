package store

import (
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"
)

// SQLEngineServicesEach reads every service as the engine keeps it, for a start-up
// load that takes the rows one at a time.
const SQLEngineServicesEach = SQLEngineServices

// EachEngineService calls fn with every service row as the engine keeps it, one row at
// a time, so a start-up load of a large fleet never holds every row at once. An error
// from fn stops the read and is returned as it is.
func EachEngineService(db dbx.Builder, fn func(EngineServiceRow) error) (err error) {
	rows, err := db.NewQuery(SQLEngineServicesEach).Rows()
	if err != nil {
		return fmt.Errorf("store: load services: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("store: load services: close: %w", cerr))
		}
	}()
	for rows.Next() {
		var r EngineServiceRow
		if err := rows.Scan(r.scanDest()...); err != nil {
			return fmt.Errorf("store: load services: scan: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load services: %w", err)
	}
	return nil
}

// scanDest is where each column of SQLEngineServices goes, in its order: a plain Scan
// costs a fraction of dbx's reflection per row, which a start-up load pays a million
// times. TestEngineServiceScanMatchesColumns keeps it in step with the query.
func (r *EngineServiceRow) scanDest() []any {
	return []any{&r.ID, &r.ServiceID, &r.Name, &r.Description, &r.Group, &r.Interval, &r.Threshold, &r.Paused,
		&r.LastSeen, &r.LastStatus, &r.LastMessage, &r.Status, &r.StatusChangedAt, &r.PausedUntil,
		&r.DependsOn, &r.ReminderMinutes}
}
