package store

import (
	"fmt"

	"github.com/pocketbase/dbx"
)

// Queries of the start-up loads that take the rows one at a time.
const (
	// SQLEngineServicesEach reads every service as the engine keeps it.
	SQLEngineServicesEach = SQLEngineServices
	// SQLStartupServices is every service's settings and key, in the columns of
	// SQLEngineServicesEach with the state left empty: the start-up scan of the fleet,
	// which fills the engine and the key registry together. It reads services alone, in
	// storage order; SQLStartupStates then reads the states the same way. A join would
	// look up each service's state by id, a random page of service_states per service:
	// 5 of the 15 s a start-up of 1,000,000 took.
	SQLStartupServices = "SELECT s.id, s.serviceId, s.name, s.description, s.[[group]], s.interval, s.stalenessThreshold, s.paused, " +
		"'', '', '', '', '', s.pausedUntil, s.dependsOn, s.reminderMinutes, " + cronColumns + ", '', s.apiKey, s.pingId FROM services s"
	// SQLStartupStates reads every service's stored state, in storage order.
	SQLStartupStates = "SELECT id, lastSeen, lastStatus, lastMessage, status, statusChangedAt, IFNULL(runs, '') FROM service_states"
)

// StateRow is a service_states record: what the server computed for a service.
type StateRow struct {
	ID              string
	LastSeen        string
	LastStatus      string
	LastMessage     string
	Status          string
	StatusChangedAt string
	Runs            string // JSON; "" when nothing is known
}

// EachServiceState streams every stored service state to fn (SQLStartupStates).
func EachServiceState(db dbx.Builder, fn func(StateRow)) error {
	return eachRow(db.NewQuery(SQLStartupStates), "load states", func(rows *dbx.Rows) error {
		var r StateRow
		if err := rows.Scan(&r.ID, &r.LastSeen, &r.LastStatus, &r.LastMessage, &r.Status, &r.StatusChangedAt, &r.Runs); err != nil {
			return fmt.Errorf("store: load states: scan: %w", err)
		}
		fn(r)
		return nil
	})
}

// EachEngineService calls fn with every service row as the engine keeps it, one row at
// a time, so a start-up load of a large fleet never holds every row at once. An error
// from fn stops the read and is returned as it is.
func EachEngineService(db dbx.Builder, fn func(EngineServiceRow) error) error {
	return eachService(db.NewQuery(SQLEngineServicesEach), false, func(r EngineServiceRow, _, _ string) error { return fn(r) })
}

// EachStartupService streams every service's settings with its key (SQLStartupServices),
// its state left empty: see EachServiceState for that.
func EachStartupService(db dbx.Builder, fn func(r EngineServiceRow, apiKey, pingID string) error) error {
	return eachService(db.NewQuery(SQLStartupServices), true, fn)
}

func eachService(q *dbx.Query, withKeys bool, fn func(r EngineServiceRow, apiKey, pingID string) error) error {
	return eachRow(q, "load services", func(rows *dbx.Rows) error {
		var r EngineServiceRow
		var key, ping string
		dest := r.scanDest()
		if withKeys {
			dest = append(dest, &key, &ping)
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("store: load services: scan: %w", err)
		}
		return fn(r, key, ping)
	})
}

// scanDest is where each column of SQLEngineServices goes, in its order: a plain Scan
// costs a fraction of dbx's reflection per row, which a start-up load pays a million
// times. TestEngineServiceScanMatchesColumns keeps it in step with the query.
func (r *EngineServiceRow) scanDest() []any {
	return []any{&r.ID, &r.ServiceID, &r.Name, &r.Description, &r.Group, &r.Interval, &r.Threshold, &r.Paused,
		&r.LastSeen, &r.LastStatus, &r.LastMessage, &r.Status, &r.StatusChangedAt, &r.PausedUntil,
		&r.DependsOn, &r.ReminderMinutes, &r.Schedule, &r.Timezone, &r.Grace, &r.MaxRuntime, &r.Runs}
}
