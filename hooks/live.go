package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Queries that load the engine's state at start-up: a handful of scans, once.
const (
	sqlEngineServices = "SELECT " + serviceColumns + ", dependsOn, reminderMinutes FROM services"
	sqlEngineService  = sqlEngineServices + " WHERE id = {:id}"
	// sqlEngineIncidents reads the open incidents and those that ended within the flap
	// window, which count towards flapping.
	sqlEngineIncidents = "SELECT id, service, status, startedAt, endedAt, alertedAt, remindedAt FROM incidents WHERE endedAt = '' OR endedAt > {:cutoff}"
	sqlEngineAlerted   = `SELECT DISTINCT n.incident, n.channel FROM notifications n JOIN incidents i ON i.id = n.incident
		WHERE i.endedAt = '' AND n.event IN ('down', 'degraded')`
	sqlEngineFlapNotices = "SELECT service, MAX(created) AS at FROM notifications WHERE event = 'flapping' AND created > {:cutoff} GROUP BY service"
)

// loadEngineServices reads every service with its committed state, open incident and
// recent incident changes, as the engine keeps them.
func loadEngineServices(db dbx.Builder, now time.Time) ([]engine.Service, error) {
	var rows []alertRow
	if err := db.NewQuery(sqlEngineServices).All(&rows); err != nil {
		return nil, fmt.Errorf("hooks: load services: %w", err)
	}
	cutoff := dbDate(now.Add(-monitor.FlapWindow))
	var incs []alertIncident
	if err := db.NewQuery(sqlEngineIncidents).Bind(dbx.Params{"cutoff": cutoff}).All(&incs); err != nil {
		return nil, fmt.Errorf("hooks: load incidents: %w", err)
	}
	var sent []struct {
		Incident string `db:"incident"`
		Channel  string `db:"channel"`
	}
	if err := db.NewQuery(sqlEngineAlerted).All(&sent); err != nil {
		return nil, fmt.Errorf("hooks: load alerted channels: %w", err)
	}
	var flaps []struct {
		Service string `db:"service"`
		At      string `db:"at"`
	}
	if err := db.NewQuery(sqlEngineFlapNotices).Bind(dbx.Params{"cutoff": cutoff}).All(&flaps); err != nil {
		return nil, fmt.Errorf("hooks: load flapping notices: %w", err)
	}
	svcs := make([]engine.Service, len(rows))
	byID := make(map[string]*engine.Service, len(rows))
	for i, r := range rows {
		svcs[i] = engineService(r)
		byID[r.ID] = &svcs[i]
	}
	open := map[string]*monitor.OpenIncident{}
	for _, in := range incs {
		s := byID[in.Service]
		if s == nil {
			continue
		}
		if started := parseDate(in.StartedAt); in.StartedAt > cutoff {
			s.Changes = append(s.Changes, started)
		}
		if in.EndedAt != "" {
			s.Changes = append(s.Changes, parseDate(in.EndedAt))
			continue
		}
		s.Open = &monitor.OpenIncident{ID: in.ID, Status: monitor.Status(in.Status), StartedAt: parseDate(in.StartedAt),
			AlertedAt: parseDate(in.AlertedAt), RemindedAt: parseDate(in.RemindedAt)}
		open[in.ID] = s.Open
	}
	for _, n := range sent {
		if in := open[n.Incident]; in != nil {
			in.Alerted = append(in.Alerted, n.Channel)
		}
	}
	for _, f := range flaps {
		if s := byID[f.Service]; s != nil {
			s.FlapNoticeAt = parseDate(f.At)
		}
	}
	return svcs, nil
}

// engineService is a service row as the engine keeps it (no incident facts yet).
func engineService(r alertRow) engine.Service {
	s := engine.Service{ID: r.ID, ServiceID: r.ServiceID, Name: r.Name, Group: r.Group, Model: r.model(), LastMessage: r.LastMessage,
		Reminder: time.Duration(r.ReminderMinutes) * time.Minute, State: monitor.Status(r.Status), Since: parseDate(r.StatusChangedAt)}
	if err := jsonList(r.DependsOn, &s.Parents); err != nil {
		s.Parents = nil // a malformed list depends on nothing rather than stopping every alert
	}
	return s
}

// engineSink commits the engine's transitions: each service's new state, its incidents,
// one staleness log row per change, and one pending notification per notice and channel.
// They go through the ingest writer as one Op, in the same group-committed transactions
// as the beats: a notification exists exactly when the change it tells of does, and a
// transition is as durable as the beat that caused it.
type engineSink struct {
	app       core.App
	writer    *ingest.Writer
	committed func(now time.Time, ts []engine.Transition) // told what each commit stored
	queued    func(n int)                                 // told how many notifications a commit queued
}

// Statements of a transition's commit.
const (
	sqlSetStatus     = "UPDATE services SET status = ?, statusChangedAt = ? WHERE id = ?"
	sqlCloseIncident = "UPDATE incidents SET endedAt = ?, updated = ? WHERE id = ?"
	sqlMarkAlerted   = "UPDATE incidents SET alertedAt = ?, updated = ? WHERE id = ?"
	sqlMarkReminded  = "UPDATE incidents SET remindedAt = ?, updated = ? WHERE id = ?"
)

var (
	incidentColumns = []string{"id", "service", "status", "cause", "startedAt", "endedAt", "alertedAt", "remindedAt", "created", "updated"}
	logColumns      = []string{"id", "service", "status", "previousStatus", "lastSeen", "timeSinceLastHeartbeat", "stalenessThreshold", "created"}
)

// transitionRows is what a commit of transitions writes.
type transitionRows struct {
	updates                [][]any // a statement, then its arguments
	incidents, logs, notes [][]any
}

// Commit stores ts in one transaction of the writer.
func (k engineSink) Commit(now time.Time, ts []engine.Transition) error {
	rows, err := k.rows(now, ts)
	if err != nil {
		return err
	}
	err = k.writer.Do(context.Background(), func(tx *sql.Tx) error {
		for _, u := range rows.updates {
			if _, err := tx.Exec(u[0].(string), u[1:]...); err != nil {
				return fmt.Errorf("hooks: %s: %w", u[0], err)
			}
		}
		for _, b := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{{"incidents", incidentColumns, rows.incidents}, {"logs", logColumns, rows.logs}, {"notifications", notificationColumns, rows.notes}} {
			if err := ingest.InsertRows(tx, b.table, b.cols, b.rows); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if k.committed != nil {
		k.committed(now, ts)
	}
	if len(rows.notes) > 0 && k.queued != nil {
		k.queued(len(rows.notes))
	}
	return nil
}

// rows works out what committing ts writes.
func (k engineSink) rows(now time.Time, ts []engine.Transition) (transitionRows, error) {
	var out transitionRows
	at := dbDate(now)
	appURL := strings.TrimRight(k.app.Settings().Meta.AppURL, "/")
	for _, t := range ts {
		d, r := t.Decision, t.Service
		if d.Changed {
			out.updates = append(out.updates, []any{sqlSetStatus, string(d.Status), dbDate(d.Since), r.ID})
			var sinceMs int64 // the column is NOT NULL; an empty lastSeen says "never"
			if !r.Model.LastSeen.IsZero() {
				sinceMs = now.Sub(r.Model.LastSeen).Milliseconds()
			}
			out.logs = append(out.logs, []any{ingest.NewID(now), r.ID, string(d.Status), string(r.State), dbDate(r.Model.LastSeen), sinceMs, d.Model.Threshold.Milliseconds(), at})
		}
		if c := d.Close; c != nil {
			end := d.Since
			if end.Before(c.StartedAt) {
				end = c.StartedAt
			}
			out.updates = append(out.updates, []any{sqlCloseIncident, dbDate(end), at, c.ID})
		}
		if r.Open != nil && d.Close == nil {
			if d.AlertOpen {
				out.updates = append(out.updates, []any{sqlMarkAlerted, at, at, r.Open.ID})
			}
			if d.Remind {
				out.updates = append(out.updates, []any{sqlMarkReminded, at, at, r.Open.ID})
			}
		}
		if d.Open {
			alerted := ""
			if d.AlertNew {
				alerted = at
			}
			out.incidents = append(out.incidents, []any{t.Incident, r.ID, string(d.Status), string(d.Cause), dbDate(d.Since), "", alerted, "", at, at})
		}
		for _, n := range d.Notices {
			msg := engineMessage(t, n, now, appURL)
			body, err := json.Marshal(msg)
			if err != nil {
				return out, fmt.Errorf("hooks: encode notification: %w", err)
			}
			for _, ch := range n.Channels {
				out.notes = append(out.notes, []any{ingest.NewID(now), ch, msg.IncidentID, r.ID, "", string(n.Event), notify.StatusPending, 0, "",
					"", at, string(body), at, at})
			}
		}
	}
	return out, nil
}

// engineMessage is what notice n of transition t says.
func engineMessage(t engine.Transition, n monitor.Notice, now time.Time, appURL string) notify.Message {
	d, r := t.Decision, t.Service
	m := notify.Message{
		Event: string(n.Event), ServiceID: r.ServiceID, ServiceName: r.Name, Status: string(d.Status), At: now,
		LastSeen: r.Model.LastSeen, LastMessage: r.LastMessage, URL: appURL + "/services/" + url.PathEscape(r.ServiceID),
	}
	if d.Status.IsIncident() {
		m.Cause = string(d.Cause)
	}
	switch {
	case n.Event == monitor.EventUp && d.Close != nil:
		m.IncidentID, m.Was, m.Since = d.Close.ID, string(d.Close.Status), d.Close.StartedAt
		m.DurationSeconds = int64(d.Since.Sub(d.Close.StartedAt).Seconds())
	case n.NewIncident:
		m.IncidentID, m.Since = t.Incident, d.Since
	case r.Open != nil && n.Incident == r.Open.ID:
		m.IncidentID, m.Since = r.Open.ID, r.Open.StartedAt
		m.DurationSeconds = int64(now.Sub(r.Open.StartedAt).Seconds())
	case n.Event == monitor.EventLate:
		m.Since = d.Since
	}
	m.DependentCount = len(n.Dependents)
	for _, id := range n.Dependents[:min(len(n.Dependents), maxNamedDependents)] {
		m.Dependents = append(m.Dependents, t.Names[id])
	}
	return m
}
