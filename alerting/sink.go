package alerting

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
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// maxNamedDependents bounds the dependents a message names; it counts them all.
const maxNamedDependents = 10

// loadEngineServices reads every stored service as the engine keeps it, its state
// joined in and its incident facts attached (see engineFacts).
func loadEngineServices(db dbx.Builder, now time.Time) ([]engine.Service, error) {
	attach, err := engineFacts(db, now)
	if err != nil {
		return nil, err
	}
	var svcs []engine.Service
	err = store.EachEngineService(db, func(r store.EngineServiceRow) error {
		svcs = append(svcs, attach(EngineService(r)))
		return nil
	})
	return svcs, err
}

// engineFacts reads what a service's row does not hold: its open incident, the channels
// that incident was alerted to, its recent changes and its last flapping notice. There
// are few; the returned func attaches them to a service as its row is read.
func engineFacts(db dbx.Builder, now time.Time) (func(engine.Service) engine.Service, error) {
	cutoffAt := now.Add(-monitor.FlapWindow)
	st, err := store.LoadEngineState(db, cutoffAt)
	if err != nil {
		return nil, err
	}
	cutoff := store.DBDate(cutoffAt)
	type facts struct {
		open    *monitor.OpenIncident
		changes []time.Time
		flapAt  time.Time
	}
	byID := map[string]*facts{}
	get := func(id string) *facts {
		f := byID[id]
		if f == nil {
			f = &facts{}
			byID[id] = f
		}
		return f
	}
	open := map[string]*monitor.OpenIncident{}
	for _, in := range st.Incidents {
		f := get(in.Service)
		if started := store.ParseDate(in.StartedAt); in.StartedAt > cutoff {
			f.changes = append(f.changes, started)
		}
		if in.EndedAt != "" {
			f.changes = append(f.changes, store.ParseDate(in.EndedAt))
			continue
		}
		f.open = &monitor.OpenIncident{ID: in.ID, Status: monitor.Status(in.Status), StartedAt: store.ParseDate(in.StartedAt),
			AlertedAt: store.ParseDate(in.AlertedAt), RemindedAt: store.ParseDate(in.RemindedAt)}
		open[in.ID] = f.open
	}
	for _, n := range st.Alerted {
		if in := open[n.Incident]; in != nil {
			in.Alerted = append(in.Alerted, n.Channel)
		}
	}
	for _, fl := range st.FlapNotices {
		get(fl.Service).flapAt = store.ParseDate(fl.At)
	}
	return func(s engine.Service) engine.Service {
		if f := byID[s.ID]; f != nil {
			s.Open, s.Changes, s.FlapNoticeAt = f.open, f.changes, f.flapAt
		}
		return s
	}, nil
}

// EngineService is a service row as the engine keeps it (no incident facts yet).
func EngineService(r store.EngineServiceRow) engine.Service {
	// Text stored around the ingest (edited in the database, or from before beats were
	// cleaned) is cleaned once here, so no page or reply shows NUL or invalid UTF-8.
	s := engine.Service{ID: r.ID, ServiceID: monitor.CleanText(r.ServiceID), Name: monitor.CleanText(r.Name), Group: monitor.CleanText(r.Group),
		Model: r.Model(), LastMessage: monitor.CleanText(r.LastMessage),
		Reminder: time.Duration(r.ReminderMinutes) * time.Minute, State: monitor.Status(r.Status), Since: store.ParseDate(r.StatusChangedAt),
		Schedule: r.Schedule, Timezone: r.Timezone, Grace: store.Seconds(r.Grace, 0), MaxRuntime: store.Seconds(r.MaxRuntime, 0),
		Runs: monitor.DecodeRuns(r.Runs)}
	if err := store.JSONList(r.DependsOn, &s.Parents); err != nil {
		s.Parents = nil // a malformed list depends on nothing rather than stopping every alert
	}
	return s
}

// sink commits the engine's transitions: each service's new state, its incidents,
// one staleness log row per change, and one pending notification per notice and channel.
// They go through the ingest writer as one Op, in the same group-committed transactions
// as the beats: a notification exists exactly when the change it tells of does, and a
// transition is as durable as the beat that caused it.
type sink struct {
	app       core.App
	writer    *ingest.Writer
	committed func(now time.Time, ts []engine.Transition) // told what each commit stored
	queued    func(n int)                                 // told how many notifications a commit queued
}

// Commit stores ts in one transaction of the writer.
func (k sink) Commit(now time.Time, ts []engine.Transition) error {
	rows, err := k.rows(now, ts)
	if err != nil {
		return err
	}
	err = k.writer.Do(context.Background(), func(tx *sql.Tx) error { return store.WriteTransitions(tx, rows) })
	if err != nil {
		return err
	}
	if k.committed != nil {
		k.committed(now, ts)
	}
	if len(rows.Notes) > 0 && k.queued != nil {
		k.queued(len(rows.Notes))
	}
	return nil
}

// rows works out what committing ts writes.
func (k sink) rows(now time.Time, ts []engine.Transition) (store.TransitionRows, error) {
	var out store.TransitionRows
	at := store.DBDate(now)
	appURL := strings.TrimRight(k.app.Settings().Meta.AppURL, "/")
	for _, t := range ts {
		d, r := t.Decision, t.Service
		if d.Changed {
			out.Updates = append(out.Updates, []any{store.SQLSetStatus, string(d.Status), store.DBDate(d.Since), r.ID})
			var sinceMs int64 // the column is NOT NULL; an empty lastSeen says "never"
			if !r.Model.LastSeen.IsZero() {
				sinceMs = now.Sub(r.Model.LastSeen).Milliseconds()
			}
			out.Logs = append(out.Logs, []any{ingest.NewID(now), r.ID, string(d.Status), string(r.State), store.DBDate(r.Model.LastSeen), sinceMs, d.Model.Threshold.Milliseconds(), at})
		}
		if c := d.Close; c != nil {
			end := d.Since
			if end.Before(c.StartedAt) {
				end = c.StartedAt
			}
			out.Updates = append(out.Updates, []any{store.SQLCloseIncident, store.DBDate(end), at, c.ID})
		}
		if r.Open != nil && d.Close == nil {
			if d.AlertOpen {
				out.Updates = append(out.Updates, []any{store.SQLMarkAlerted, at, at, r.Open.ID})
			}
			if d.Remind {
				out.Updates = append(out.Updates, []any{store.SQLMarkReminded, at, at, r.Open.ID})
			}
		}
		if d.Open {
			alerted := ""
			if d.AlertNew {
				alerted = at
			}
			out.Incidents = append(out.Incidents, []any{t.Incident, r.ID, string(d.Status), string(d.Cause), store.DBDate(d.Since), "", alerted, "", at, at})
		}
		for _, n := range d.Notices {
			msg := engineMessage(t, n, now, appURL)
			body, err := json.Marshal(msg)
			if err != nil {
				return out, fmt.Errorf("alerting: encode notification: %w", err)
			}
			for _, ch := range n.Channels {
				out.Notes = append(out.Notes, []any{ingest.NewID(now), ch, msg.IncidentID, r.ID, "", string(n.Event), notify.StatusPending, 0, "",
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
	if d.Cause == monitor.CauseOverrun {
		m.RunStarted = d.Model.RunStarted
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
