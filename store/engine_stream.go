package store

import (
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"
)

// Queries of the start-up loads that take the rows one at a time.
const (
	// SQLEngineServicesEach reads every service as the engine keeps it.
	SQLEngineServicesEach = SQLEngineServices
	// SQLStartupServices is SQLEngineServicesEach with each service's key: the one scan
	// of the fleet at start-up, which fills the engine and the key registry together.
	SQLStartupServices = "SELECT " + serviceColumns + ", s.dependsOn, s.reminderMinutes, s.apiKey" + servicesFrom
)

// EachEngineService calls fn with every service row as the engine keeps it, one row at
// a time, so a start-up load of a large fleet never holds every row at once. An error
// from fn stops the read and is returned as it is.
func EachEngineService(db dbx.Builder, fn func(EngineServiceRow) error) error {
	return eachService(db.NewQuery(SQLEngineServicesEach), false, func(r EngineServiceRow, _ string) error { return fn(r) })
}

// EachStartupService is EachEngineService with each service's key beside its row
// (SQLStartupServices): the start-up load reads the fleet once for the engine and the
// key registry.
func EachStartupService(db dbx.Builder, fn func(r EngineServiceRow, apiKey string) error) error {
	return eachService(db.NewQuery(SQLStartupServices), true, fn)
}

func eachService(q *dbx.Query, withKey bool, fn func(EngineServiceRow, string) error) (err error) {
	rows, err := q.Rows()
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
		var key string
		dest := r.scanDest()
		if withKey {
			dest = append(dest, &key)
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("store: load services: scan: %w", err)
		}
		if err := fn(r, key); err != nil {
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
