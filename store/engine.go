package store

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
)

// Queries that load the engine's state at start-up: a handful of scans, once.
const (
	SQLEngineServices = "SELECT " + serviceColumns + ", s.dependsOn, s.reminderMinutes, " + cronColumns + ", IFNULL(st.runs, '') AS runs" + servicesFrom
	SQLEngineService  = SQLEngineServices + " WHERE s.id = {:id}"
	// SQLEngineServicesSince reads the services saved after a time (indexed).
	SQLEngineServicesSince = SQLEngineServices + " WHERE s.updated > {:since}"
	// SQLEngineIncidents reads the open incidents and those that ended within the flap
	// window, which count towards flapping.
	SQLEngineIncidents = "SELECT id, service, status, startedAt, endedAt, alertedAt, remindedAt FROM incidents WHERE endedAt = '' OR endedAt > {:cutoff}"
	SQLEngineAlerted   = `SELECT DISTINCT n.incident, n.channel FROM notifications n JOIN incidents i ON i.id = n.incident
		WHERE i.endedAt = '' AND n.event IN ('down', 'degraded')`
	SQLEngineFlapNotices = "SELECT service, MAX(created) AS at FROM notifications WHERE event = 'flapping' AND created > {:cutoff} GROUP BY service"
	SQLSubscribers       = "SELECT id, events, services FROM channels WHERE disabled = FALSE ORDER BY rowid"
	SQLWindows           = `SELECT services, kind, startsAt, endsAt, weekdays, startTime, durationMinutes, timezone FROM maintenance
		WHERE disabled = FALSE AND (kind = 'weekly' OR endsAt = '' OR endsAt > {:now})`
)

// EngineServiceRow is a service with its alert settings.
type EngineServiceRow struct {
	ServiceRow
	DependsOn       string  `db:"dependsOn"`
	ReminderMinutes float64 `db:"reminderMinutes"`
	CronRow
	Runs string `db:"runs"` // service_states.runs
}

// cronColumns are the cron-job settings of a service (CronRow).
const cronColumns = "s.schedule, s.timezone, s.grace, s.maxRuntime"

// CronRow is a service's cron-job settings.
type CronRow struct {
	Schedule   string  `db:"schedule"`
	Timezone   string  `db:"timezone"`
	Grace      float64 `db:"grace"`
	MaxRuntime float64 `db:"maxRuntime"`
}

// IncidentRow is an incident as the engine loads it.
type IncidentRow struct {
	ID         string `db:"id"`
	Service    string `db:"service"`
	Status     string `db:"status"`
	StartedAt  string `db:"startedAt"`
	EndedAt    string `db:"endedAt"`
	AlertedAt  string `db:"alertedAt"`
	RemindedAt string `db:"remindedAt"`
}

// AlertedRow is a channel an open incident's alert was queued for.
type AlertedRow struct {
	Incident string `db:"incident"`
	Channel  string `db:"channel"`
}

// FlapNoticeRow is the last flapping notice of a service.
type FlapNoticeRow struct {
	Service string `db:"service"`
	At      string `db:"at"`
}

// EngineState is what the engine is loaded from besides the services themselves, which
// EachEngineService streams.
type EngineState struct {
	Incidents   []IncidentRow   // open, or ended after the cutoff
	Alerted     []AlertedRow    // of open incidents
	FlapNotices []FlapNoticeRow // after the cutoff
}

// LoadEngineState reads the open incidents and those (and the flapping notices) since
// cutoff: the facts a service's row does not hold. There are few.
func LoadEngineState(db dbx.Builder, cutoff time.Time) (EngineState, error) {
	var st EngineState
	c := DBDate(cutoff)
	if err := db.NewQuery(SQLEngineIncidents).Bind(dbx.Params{"cutoff": c}).All(&st.Incidents); err != nil {
		return st, fmt.Errorf("store: load incidents: %w", err)
	}
	if err := db.NewQuery(SQLEngineAlerted).All(&st.Alerted); err != nil {
		return st, fmt.Errorf("store: load alerted channels: %w", err)
	}
	if err := db.NewQuery(SQLEngineFlapNotices).Bind(dbx.Params{"cutoff": c}).All(&st.FlapNotices); err != nil {
		return st, fmt.Errorf("store: load flapping notices: %w", err)
	}
	return st, nil
}

// LoadEngineService reads one service by record id as the engine keeps it.
func LoadEngineService(db dbx.Builder, recordID string) (EngineServiceRow, error) {
	var r EngineServiceRow
	err := db.NewQuery(SQLEngineService).Bind(dbx.Params{"id": recordID}).One(&r)
	return r, err
}

// LoadSubscribers reads the enabled channels as the engine routes to them.
func LoadSubscribers(db dbx.Builder) ([]monitor.Subscriber, error) {
	var rows []struct {
		ID       string `db:"id"`
		Events   string `db:"events"`
		Services string `db:"services"`
	}
	if err := db.NewQuery(SQLSubscribers).All(&rows); err != nil {
		return nil, fmt.Errorf("store: load channels: %w", err)
	}
	subs := make([]monitor.Subscriber, 0, len(rows))
	for _, r := range rows {
		var events []string
		c := monitor.Subscriber{ID: r.ID}
		if err := JSONList(r.Events, &events); err != nil {
			return nil, err
		}
		if err := JSONList(r.Services, &c.Services); err != nil {
			return nil, err
		}
		for _, e := range events {
			c.Events = append(c.Events, monitor.Event(e))
		}
		subs = append(subs, c)
	}
	return subs, nil
}

// WindowRow is a maintenance record.
type WindowRow struct {
	Services        string  `db:"services"`
	Kind            string  `db:"kind"`
	StartsAt        string  `db:"startsAt"`
	EndsAt          string  `db:"endsAt"`
	Weekdays        string  `db:"weekdays"`
	StartTime       string  `db:"startTime"`
	DurationMinutes float64 `db:"durationMinutes"`
	Timezone        string  `db:"timezone"`
}

// Window reads a maintenance record; a record that does not parse is an error (its
// save hook refuses such records, so this is a record written around it).
func (w WindowRow) Window() (monitor.Window, error) {
	var win monitor.Window
	if err := JSONList(w.Services, &win.Services); err != nil {
		return win, err
	}
	if w.Kind != "weekly" {
		win.Start, win.End = ParseDate(w.StartsAt), ParseDate(w.EndsAt)
		return win, nil
	}
	var days []string
	if err := JSONList(w.Weekdays, &days); err != nil {
		return win, err
	}
	var err error
	if win.Weekdays, err = monitor.ParseWeekdays(days); err != nil {
		return win, err
	}
	if win.StartMinute, err = monitor.ParseClock(w.StartTime); err != nil {
		return win, err
	}
	tz := w.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if win.Location, err = time.LoadLocation(tz); err != nil {
		return win, fmt.Errorf("store: maintenance time zone %q: %w", w.Timezone, err)
	}
	win.Duration = time.Duration(w.DurationMinutes) * time.Minute
	return win, nil
}

// LoadWindows reads the maintenance windows that are not over at now.
func LoadWindows(db dbx.Builder, now time.Time) ([]monitor.Window, error) {
	var rows []WindowRow
	if err := db.NewQuery(SQLWindows).Bind(dbx.Params{"now": DBDate(now)}).All(&rows); err != nil {
		return nil, fmt.Errorf("store: load maintenance: %w", err)
	}
	wins := make([]monitor.Window, 0, len(rows))
	for _, r := range rows {
		w, err := r.Window()
		if err != nil {
			continue // refused on save; one bad record must not stop every alert
		}
		wins = append(wins, w)
	}
	return wins, nil
}

// Statements of a transition's commit, run by the ingest writer.
const (
	// SQLSetStatus stores a service's new state (?1) and since when (?2) in its
	// service_states row (?3 is the service's record id), creating the row if the
	// service has none yet; a service deleted meanwhile gets none.
	SQLSetStatus = `INSERT INTO service_states (id, service, status, statusChangedAt)
		SELECT ?3, ?3, ?1, ?2 WHERE EXISTS (SELECT 1 FROM services WHERE id = ?3)
		ON CONFLICT(id) DO UPDATE SET status = excluded.status, statusChangedAt = excluded.statusChangedAt`
	SQLCloseIncident = "UPDATE incidents SET endedAt = ?, updated = ? WHERE id = ?"
	SQLMarkAlerted   = "UPDATE incidents SET alertedAt = ?, updated = ? WHERE id = ?"
	SQLMarkReminded  = "UPDATE incidents SET remindedAt = ?, updated = ? WHERE id = ?"
)

// Columns of the rows a commit of transitions inserts, in the order of their values.
var (
	IncidentColumns = []string{"id", "service", "status", "cause", "startedAt", "endedAt", "alertedAt", "remindedAt", "created", "updated"}
	LogColumns      = []string{"id", "service", "status", "previousStatus", "lastSeen", "timeSinceLastHeartbeat", "stalenessThreshold", "created"}
)

// TransitionRows is what a commit of transitions writes.
type TransitionRows struct {
	Updates                [][]any // one of the SQL* update statements above, then its arguments
	Incidents, Logs, Notes [][]any // rows of IncidentColumns, LogColumns, NotificationColumns
}

// setStatusChunk is how many services' new states one statement stores.
const setStatusChunk = 200

// setStatuses is SQLSetStatus for n services at once: values (id, status, since) each.
func setStatuses(n int) string {
	return `INSERT INTO service_states (id, service, status, statusChangedAt)
		SELECT column1, column1, column2, column3 FROM (VALUES ` + strings.TrimSuffix(strings.Repeat("(?,?,?),", n), ",") + `)
		WHERE EXISTS (SELECT 1 FROM services WHERE id = column1)
		ON CONFLICT(id) DO UPDATE SET status = excluded.status, statusChangedAt = excluded.statusChangedAt`
}

// WriteTransitions runs rows in tx, the writer's transaction. The services' new states
// are stored many to a statement (a fire time can change tens of thousands at once),
// and every other statement is prepared once per call.
func WriteTransitions(tx *sql.Tx, rows TransitionRows) error {
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	exec := func(q string, args ...any) error {
		st, ok := stmts[q]
		if !ok {
			var err error
			if st, err = tx.Prepare(q); err != nil {
				return fmt.Errorf("store: prepare %s: %w", q, err)
			}
			stmts[q] = st
		}
		if _, err := st.Exec(args...); err != nil {
			return fmt.Errorf("store: %s: %w", q, err)
		}
		return nil
	}
	var states []any // id, status, since of each SQLSetStatus, in order
	for _, u := range rows.Updates {
		if u[0] == SQLSetStatus {
			states = append(states, u[3], u[1], u[2])
			continue
		}
		if err := exec(u[0].(string), u[1:]...); err != nil {
			return err
		}
	}
	for len(states) > 0 {
		n := min(len(states)/3, setStatusChunk)
		if err := exec(setStatuses(n), states[:3*n]...); err != nil {
			return err
		}
		states = states[3*n:]
	}
	for _, b := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"incidents", IncidentColumns, rows.Incidents}, {"logs", LogColumns, rows.Logs}, {"notifications", NotificationColumns, rows.Notes}} {
		if err := ingest.InsertRows(tx, b.table, b.cols, b.rows); err != nil {
			return err
		}
	}
	return nil
}

// LoadEngineServicesSince reads the services saved after since, with their stored
// state: what another process wrote since the last poll.
func LoadEngineServicesSince(db dbx.Builder, since string) ([]EngineServiceRow, error) {
	var rows []EngineServiceRow
	if err := db.NewQuery(SQLEngineServicesSince).Bind(dbx.Params{"since": since}).All(&rows); err != nil {
		return nil, fmt.Errorf("store: load services since %s: %w", since, err)
	}
	return rows, nil
}
