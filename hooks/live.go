package hooks

import (
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
// one staleness log row per change, and one pending notification per notice and channel,
// all in one transaction, so a notification exists exactly when the change it tells of
// does.
type engineSink struct {
	app       core.App
	committed func(now time.Time, ts []engine.Transition) // told what each commit stored
	queued    func(n int)                                 // told how many notifications a commit queued
}

// Statements of a transition's commit.
const (
	sqlSetStatus       = "UPDATE services SET status = {:st}, statusChangedAt = {:at} WHERE id = {:id}"
	sqlCloseIncident   = "UPDATE incidents SET endedAt = {:at}, updated = {:now} WHERE id = {:id}"
	sqlMarkAlerted     = "UPDATE incidents SET alertedAt = {:now}, updated = {:now} WHERE id = {:id}"
	sqlMarkReminded    = "UPDATE incidents SET remindedAt = {:now}, updated = {:now} WHERE id = {:id}"
	incidentColumnList = "id, service, status, cause, startedAt, endedAt, alertedAt, remindedAt, created, updated"
)

var (
	incidentColumns = strings.Split(incidentColumnList, ", ")
	logColumns      = []string{"id", "service", "status", "previousStatus", "lastSeen", "timeSinceLastHeartbeat", "stalenessThreshold", "created"}
)

// Commit stores ts in one transaction.
func (k engineSink) Commit(now time.Time, ts []engine.Transition) error {
	queued := 0
	err := k.app.RunInTransaction(func(tx core.App) error {
		appURL := strings.TrimRight(tx.Settings().Meta.AppURL, "/")
		var incs, logs, notes [][]any
		for _, t := range ts {
			if err := k.transition(tx.DB(), t, now); err != nil {
				return err
			}
			d, r := t.Decision, t.Service
			if d.Open {
				alerted := ""
				if d.AlertNew {
					alerted = dbDate(now)
				}
				incs = append(incs, []any{t.Incident, r.ID, string(d.Status), string(d.Cause), dbDate(d.Since), "", alerted, "", dbDate(now), dbDate(now)})
			}
			if d.Changed {
				var sinceMs int64 // the column is NOT NULL; an empty lastSeen says "never"
				if !r.Model.LastSeen.IsZero() {
					sinceMs = now.Sub(r.Model.LastSeen).Milliseconds()
				}
				logs = append(logs, []any{ingest.NewID(now), r.ID, string(d.Status), string(r.State), dbDate(r.Model.LastSeen), sinceMs, d.Model.Threshold.Milliseconds(), dbDate(now)})
			}
			for _, n := range d.Notices {
				msg := engineMessage(t, n, now, appURL)
				body, err := json.Marshal(msg)
				if err != nil {
					return fmt.Errorf("hooks: encode notification: %w", err)
				}
				for _, ch := range n.Channels {
					notes = append(notes, []any{ingest.NewID(now), ch, msg.IncidentID, r.ID, "", string(n.Event), notify.StatusPending, 0, "",
						"", dbDate(now), string(body), dbDate(now), dbDate(now)})
				}
			}
		}
		for _, batch := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{{"incidents", incidentColumns, incs}, {"logs", logColumns, logs}, {"notifications", notificationColumns, notes}} {
			if err := insertRows(tx.DB(), batch.table, batch.cols, batch.rows); err != nil {
				return err
			}
		}
		queued = len(notes)
		return nil
	})
	if err != nil {
		return err
	}
	if k.committed != nil {
		k.committed(now, ts)
	}
	if queued > 0 && k.queued != nil {
		k.queued(queued)
	}
	return nil
}

// transition runs a transition's updates: the service's state, the incident it closes,
// the alert and reminder marks.
func (k engineSink) transition(db dbx.Builder, t engine.Transition, now time.Time) error {
	d, r := t.Decision, t.Service
	exec := func(q string, p dbx.Params) error {
		_, err := db.NewQuery(q).Bind(p).Execute()
		return err
	}
	if d.Changed {
		if err := exec(sqlSetStatus, dbx.Params{"st": string(d.Status), "at": dbDate(d.Since), "id": r.ID}); err != nil {
			return fmt.Errorf("hooks: update status: %w", err)
		}
	}
	if c := d.Close; c != nil {
		end := d.Since
		if end.Before(c.StartedAt) {
			end = c.StartedAt
		}
		if err := exec(sqlCloseIncident, dbx.Params{"at": dbDate(end), "now": dbDate(now), "id": c.ID}); err != nil {
			return fmt.Errorf("hooks: close incident: %w", err)
		}
	}
	if r.Open != nil && d.Close == nil {
		for _, mark := range []struct {
			on bool
			q  string
		}{{d.AlertOpen, sqlMarkAlerted}, {d.Remind, sqlMarkReminded}} {
			if mark.on {
				if err := exec(mark.q, dbx.Params{"now": dbDate(now), "id": r.Open.ID}); err != nil {
					return fmt.Errorf("hooks: mark incident: %w", err)
				}
			}
		}
	}
	return nil
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
