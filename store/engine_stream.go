package store

import (
	"encoding/json"
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
	// Every column read costs the driver a few calls per row, so the state is not read
	// here at all and the cron settings, which most services leave empty, are one column,
	// NULL when they are (a million rows: 9 columns fewer, about 1.5 s of a start-up).
	SQLStartupServices = "SELECT s.id, s.serviceId, s.name, s.description, s.[[group]], s.interval, s.stalenessThreshold, s.paused, " +
		"s.pausedUntil, s.dependsOn, s.reminderMinutes, " + cronPacked + ", s.apiKey, s.pingId FROM services s"
	// cronPacked is a service's cron settings as one JSON array [schedule, timezone,
	// grace, maxRuntime], or NULL when all are empty.
	cronPacked = "iif(s.schedule = '' AND s.timezone = '' AND s.grace = 0 AND s.maxRuntime = 0, NULL, " +
		"json_array(s.schedule, s.timezone, s.grace, s.maxRuntime))"
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
	return eachService(db.NewQuery(SQLEngineServicesEach), fn)
}

// EachStartupService streams every service's settings with its key (SQLStartupServices),
// its state left empty: see EachServiceState for that.
func EachStartupService(db dbx.Builder, fn func(r EngineServiceRow, apiKey, pingID string) error) error {
	return eachRow(db.NewQuery(SQLStartupServices), "load services", func(rows *dbx.Rows) error {
		var r EngineServiceRow
		var cron []byte
		var key, ping string
		err := rows.Scan(&r.ID, &r.ServiceID, &r.Name, &r.Description, &r.Group, &r.Interval, &r.Threshold, &r.Paused,
			&r.PausedUntil, &r.DependsOn, &r.ReminderMinutes, &cron, &key, &ping)
		if err != nil {
			return fmt.Errorf("store: load services: scan: %w", err)
		}
		if cron != nil {
			var v [4]any
			if err := json.Unmarshal(cron, &v); err == nil {
				r.Schedule, _ = v[0].(string)
				r.Timezone, _ = v[1].(string)
				r.Grace, _ = v[2].(float64)
				r.MaxRuntime, _ = v[3].(float64)
			}
		}
		return fn(r, key, ping)
	})
}

func eachService(q *dbx.Query, fn func(r EngineServiceRow) error) error {
	return eachRow(q, "load services", func(rows *dbx.Rows) error {
		var r EngineServiceRow
		if err := rows.Scan(r.scanDest()...); err != nil {
			return fmt.Errorf("store: load services: scan: %w", err)
		}
		return fn(r)
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
