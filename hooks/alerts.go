package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // maintenance windows name IANA zones; a minimal image has no zoneinfo

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// alerting is the alert side of the server: when this process started (a service quiet
// since before then gets a fresh grace), the evaluation ticker and the delivery worker.
type alerting struct {
	startedAt time.Time
	worker    *notify.Worker
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	// wake asks the ticker for an evaluation now: a beat arrived that disagrees with a
	// service's last evaluated state (a recovery, or a reported problem).
	wake chan struct{}
	// bad holds the record ids of the services last evaluated down, degraded or unknown.
	bad atomic.Pointer[map[string]struct{}]
}

// wakeMinGap bounds how often beats can trigger an evaluation between ticks.
const wakeMinGap = 250 * time.Millisecond

// beatArrived wakes the alert ticker when a stored beat may change a service's state:
// an "up" from a service last seen down, degraded or unknown, or a reported problem
// from one that was fine. Recoveries then go out at once rather than at the next tick.
func (s *server) beatArrived(serviceRecordID, status string) {
	var bad bool
	if m := s.alerts.bad.Load(); m != nil {
		_, bad = (*m)[serviceRecordID]
	}
	if bad == (status == string(monitor.Up)) {
		select {
		case s.alerts.wake <- struct{}{}:
		default:
		}
	}
}

// noteBad remembers which services a plan found down, degraded or unknown.
func (s *server) noteBad(plan []monitor.Decision) {
	bad := make(map[string]struct{})
	for _, d := range plan {
		if d.Status.IsIncident() || d.Status == monitor.Unknown {
			bad[d.Service] = struct{}{}
		}
	}
	s.alerts.bad.Store(&bad)
}

// startAlerts starts the delivery worker, which resumes whatever was pending when the
// process stopped, and the ticker that evaluates transitions every AlertTick: the
// minute cron alone would queue an alert up to a minute after the threshold passed.
func (s *server) startAlerts() {
	s.alerts.startedAt = s.now().UTC()
	s.alerts.wake = make(chan struct{}, 1)
	s.alerts.worker = &notify.Worker{
		Store: notificationStore{app: s.app}, Sender: s.sender(), Policy: s.cfg.NotifyRetry,
		Now: s.now, Logger: s.app.Logger(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.alerts.cancel = cancel
	s.alerts.wg.Add(1)
	go func() {
		defer s.alerts.wg.Done()
		s.alerts.worker.Run(ctx)
	}()
	if s.cfg.AlertTick > 0 {
		s.alerts.wg.Add(1)
		go func() {
			defer s.alerts.wg.Done()
			s.alertLoop(ctx, s.cfg.AlertTick)
		}()
	}
}

// stopAlerts stops the ticker and the worker and waits for them; a notification being
// sent stays pending and goes out after the next start.
func (s *server) stopAlerts() {
	if s.alerts.cancel == nil {
		return
	}
	s.alerts.cancel()
	s.alerts.wg.Wait()
}

func (s *server) alertLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	tick := s.cronJob("alerts", func() error { return s.evaluateAlerts(s.now()) })
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.alerts.wake:
			if wait := wakeMinGap - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		tick()
		last = time.Now()
	}
}

// wakeNotifier tells the worker notifications were just committed.
func (s *server) wakeNotifier() {
	if s.alerts.worker != nil {
		s.alerts.worker.Wake()
	}
}

// evaluateAlerts is the ticker's body: the staleness check's transitions and alerts
// without its logs and summary. It decides on a read first and takes the write lock
// only when something changes, which is rare: most ticks write nothing.
func (s *server) evaluateAlerts(now time.Time) error {
	now = now.UTC()
	st, err := loadAlertState(s.app.DB(), now)
	if err != nil {
		return err
	}
	plan := s.planAlerts(st, now)
	s.noteBad(plan)
	if idle(plan) {
		return nil
	}
	queued := 0
	err = s.app.RunInTransaction(func(tx core.App) error {
		st, err := loadAlertState(tx.DB(), now) // again, under the lock: the read may be stale
		if err != nil {
			return err
		}
		queued, err = s.applyAlerts(tx, st, s.planAlerts(st, now), now)
		return err
	})
	if err == nil && queued > 0 {
		s.wakeNotifier()
	}
	return err
}

func idle(ds []monitor.Decision) bool {
	for _, d := range ds {
		if !d.Idle() {
			return false
		}
	}
	return true
}

// alertRow is a service with its alert settings.
type alertRow struct {
	serviceRow
	DependsOn       string  `db:"dependsOn"`
	ReminderMinutes float64 `db:"reminderMinutes"`
}

type alertIncident struct {
	ID         string `db:"id"`
	Service    string `db:"service"`
	Status     string `db:"status"`
	StartedAt  string `db:"startedAt"`
	EndedAt    string `db:"endedAt"`
	AlertedAt  string `db:"alertedAt"`
	RemindedAt string `db:"remindedAt"`
}

// alertState is everything one evaluation reads.
type alertState struct {
	rows    []alertRow
	open    map[string]*monitor.OpenIncident // by service record id
	changes map[string]int                   // incident opens and closes in the last hour
	flapAt  map[string]time.Time             // last flapping notice in the last hour
	subs    []monitor.Subscriber
	windows []monitor.Window
}

// loadAlertState reads the services, their open and recent incidents, the channels and
// the maintenance windows: a handful of indexed queries, cheap enough for every tick.
func loadAlertState(db dbx.Builder, now time.Time) (alertState, error) {
	st := alertState{open: map[string]*monitor.OpenIncident{}, changes: map[string]int{}, flapAt: map[string]time.Time{}}
	cutoff := dbDate(now.Add(-monitor.FlapWindow))
	err := db.NewQuery("SELECT " + serviceColumns + ", dependsOn, reminderMinutes FROM services ORDER BY [[group]], serviceId").All(&st.rows)
	if err != nil {
		return st, fmt.Errorf("hooks: load services: %w", err)
	}
	var incs []alertIncident
	err = db.NewQuery("SELECT id, service, status, startedAt, endedAt, alertedAt, remindedAt FROM incidents WHERE endedAt = '' OR endedAt > {:cutoff}").
		Bind(dbx.Params{"cutoff": cutoff}).All(&incs)
	if err != nil {
		return st, fmt.Errorf("hooks: load incidents: %w", err)
	}
	for _, in := range incs {
		if in.StartedAt > cutoff {
			st.changes[in.Service]++
		}
		if in.EndedAt != "" {
			st.changes[in.Service]++
			continue
		}
		st.open[in.Service] = &monitor.OpenIncident{ID: in.ID, Status: monitor.Status(in.Status), StartedAt: parseDate(in.StartedAt),
			AlertedAt: parseDate(in.AlertedAt), RemindedAt: parseDate(in.RemindedAt)}
	}
	var sent []struct {
		Incident string `db:"incident"`
		Channel  string `db:"channel"`
	}
	err = db.NewQuery(`SELECT DISTINCT n.incident, n.channel FROM notifications n JOIN incidents i ON i.id = n.incident
		WHERE i.endedAt = '' AND n.event IN ('down', 'degraded')`).All(&sent)
	if err != nil {
		return st, fmt.Errorf("hooks: load alerted channels: %w", err)
	}
	byID := map[string]*monitor.OpenIncident{}
	for _, in := range st.open {
		byID[in.ID] = in
	}
	for _, n := range sent {
		if in := byID[n.Incident]; in != nil {
			in.Alerted = append(in.Alerted, n.Channel)
		}
	}
	var flaps []struct {
		Service string `db:"service"`
		At      string `db:"at"`
	}
	err = db.NewQuery("SELECT service, MAX(created) AS at FROM notifications WHERE event = 'flapping' AND created > {:cutoff} GROUP BY service").
		Bind(dbx.Params{"cutoff": cutoff}).All(&flaps)
	if err != nil {
		return st, fmt.Errorf("hooks: load flapping notices: %w", err)
	}
	for _, f := range flaps {
		st.flapAt[f.Service] = parseDate(f.At)
	}
	if st.subs, err = loadSubscribers(db); err != nil {
		return st, err
	}
	st.windows, err = loadWindows(db, now)
	return st, err
}

func loadSubscribers(db dbx.Builder) ([]monitor.Subscriber, error) {
	var rows []struct {
		ID       string `db:"id"`
		Events   string `db:"events"`
		Services string `db:"services"`
	}
	if err := db.NewQuery("SELECT id, events, services FROM channels WHERE disabled = FALSE ORDER BY rowid").All(&rows); err != nil {
		return nil, fmt.Errorf("hooks: load channels: %w", err)
	}
	subs := make([]monitor.Subscriber, 0, len(rows))
	for _, r := range rows {
		var events []string
		c := monitor.Subscriber{ID: r.ID}
		if err := jsonList(r.Events, &events); err != nil {
			return nil, err
		}
		if err := jsonList(r.Services, &c.Services); err != nil {
			return nil, err
		}
		for _, e := range events {
			c.Events = append(c.Events, monitor.Event(e))
		}
		subs = append(subs, c)
	}
	return subs, nil
}

// windowRow is a maintenance record.
type windowRow struct {
	Services        string  `db:"services"`
	Kind            string  `db:"kind"`
	StartsAt        string  `db:"startsAt"`
	EndsAt          string  `db:"endsAt"`
	Weekdays        string  `db:"weekdays"`
	StartTime       string  `db:"startTime"`
	DurationMinutes float64 `db:"durationMinutes"`
	Timezone        string  `db:"timezone"`
}

// window reads a maintenance record; a record that does not parse is an error (its
// save hook refuses such records, so this is a record written around it).
func (w windowRow) window() (monitor.Window, error) {
	var win monitor.Window
	if err := jsonList(w.Services, &win.Services); err != nil {
		return win, err
	}
	if w.Kind != "weekly" {
		win.Start, win.End = parseDate(w.StartsAt), parseDate(w.EndsAt)
		return win, nil
	}
	var days []string
	if err := jsonList(w.Weekdays, &days); err != nil {
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
		return win, fmt.Errorf("hooks: maintenance time zone %q: %w", w.Timezone, err)
	}
	win.Duration = time.Duration(w.DurationMinutes) * time.Minute
	return win, nil
}

func loadWindows(db dbx.Builder, now time.Time) ([]monitor.Window, error) {
	var rows []windowRow
	err := db.NewQuery(`SELECT services, kind, startsAt, endsAt, weekdays, startTime, durationMinutes, timezone FROM maintenance
		WHERE disabled = FALSE AND (kind = 'weekly' OR endsAt = '' OR endsAt > {:now})`).Bind(dbx.Params{"now": dbDate(now)}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("hooks: load maintenance: %w", err)
	}
	wins := make([]monitor.Window, 0, len(rows))
	for _, r := range rows {
		w, err := r.window()
		if err != nil {
			continue // refused on save; one bad record must not stop every alert
		}
		wins = append(wins, w)
	}
	return wins, nil
}

// planAlerts runs the rules engine over st.
func (s *server) planAlerts(st alertState, now time.Time) []monitor.Decision {
	in := monitor.AlertInput{Now: now, StartedAt: s.alerts.startedAt, FlapLimit: s.cfg.FlapLimit, Subscribers: st.subs, Windows: st.windows}
	in.Services = make([]monitor.AlertService, len(st.rows))
	for i, r := range st.rows {
		prev := monitor.Status(r.Status)
		if prev == "" {
			prev = monitor.Unknown
		}
		as := monitor.AlertService{
			ID: r.ID, Service: r.model(), PausedUntil: parseDate(r.PausedUntil), Prev: prev, Open: st.open[r.ID],
			Reminder: time.Duration(r.ReminderMinutes) * time.Minute, Changes: st.changes[r.ID], FlapNoticeAt: st.flapAt[r.ID],
		}
		if err := jsonList(r.DependsOn, &as.Parents); err != nil {
			as.Parents = nil // a malformed list depends on nothing rather than stopping every alert
		}
		in.Services[i] = as
	}
	return monitor.PlanAlerts(in)
}

var notificationColumns = []string{"id", "channel", "incident", "service", "alert", "event", "status", "attempts", "lastError",
	"sentAt", "nextAttemptAt", "message", "created", "updated"}

// applyAlerts carries out the decisions in tx: status changes and incidents, alert
// state, and one pending notification per notice and channel, so a notification exists
// exactly when the change it tells of does. It returns how many it queued.
func (s *server) applyAlerts(tx core.App, st alertState, ds []monitor.Decision, now time.Time) (int, error) {
	appURL := strings.TrimRight(tx.Settings().Meta.AppURL, "/")
	names := make(map[string]string, len(st.rows))
	for _, r := range st.rows {
		names[r.ID] = r.DisplayName()
	}
	var notes [][]any
	for i, d := range ds {
		if d.Idle() {
			continue
		}
		r := st.rows[i]
		var newID string
		var at time.Time
		if d.Changed {
			var err error
			if newID, at, err = transition(tx, r.serviceRow, d.Model, d.Status, d.Cause, now, d.AlertNew); err != nil {
				return 0, err
			}
		}
		for _, set := range []struct {
			on    bool
			field string
		}{{d.AlertOpen, "alertedAt"}, {d.Remind, "remindedAt"}} {
			if !set.on {
				continue
			}
			_, err := tx.DB().NewQuery("UPDATE incidents SET [[" + set.field + "]] = {:now}, updated = {:now} WHERE id = {:id}").
				Bind(dbx.Params{"now": dbDate(now), "id": st.open[r.ID].ID}).Execute()
			if err != nil {
				return 0, fmt.Errorf("hooks: mark incident: %w", err)
			}
		}
		for _, n := range d.Notices {
			msg := alertMessage(r, d, n, st.open[r.ID], newID, at, now, appURL, names)
			body, err := json.Marshal(msg)
			if err != nil {
				return 0, fmt.Errorf("hooks: encode notification: %w", err)
			}
			for _, ch := range n.Channels {
				notes = append(notes, []any{ingest.NewID(now), ch, msg.IncidentID, r.ID, "", string(n.Event), notify.StatusPending, 0, "",
					"", dbDate(now), string(body), dbDate(now), dbDate(now)})
			}
		}
	}
	if err := insertRows(tx.DB(), "notifications", notificationColumns, notes); err != nil {
		return 0, err
	}
	return len(notes), nil
}

// maxNamedDependents bounds the dependents a message names; it counts them all.
const maxNamedDependents = 10

// alertMessage is what notice n of decision d says about service r: at is when the
// change d made began, newID the incident it opened.
func alertMessage(r alertRow, d monitor.Decision, n monitor.Notice, open *monitor.OpenIncident, newID string, at, now time.Time, appURL string, names map[string]string) notify.Message {
	m := notify.Message{
		Event: string(n.Event), ServiceID: r.ServiceID, ServiceName: r.Name, Status: string(d.Status), At: now,
		LastSeen: parseDate(r.LastSeen), LastMessage: r.LastMessage, URL: appURL + "/services/" + url.PathEscape(r.ServiceID),
	}
	if d.Status.IsIncident() {
		m.Cause = string(d.Cause)
	}
	switch {
	case n.Event == monitor.EventUp && d.Close != nil:
		m.IncidentID, m.Was, m.Since = d.Close.ID, string(d.Close.Status), d.Close.StartedAt
		m.DurationSeconds = int64(at.Sub(d.Close.StartedAt).Seconds())
	case n.NewIncident:
		m.IncidentID, m.Since = newID, at
	case open != nil && n.Incident == open.ID:
		m.IncidentID, m.Since = open.ID, open.StartedAt
		m.DurationSeconds = int64(now.Sub(open.StartedAt).Seconds())
	case n.Event == monitor.EventLate:
		m.Since = d.Model.LastSeen.Add(d.Model.Interval)
	}
	m.DependentCount = len(n.Dependents)
	for _, id := range n.Dependents[:min(len(n.Dependents), maxNamedDependents)] {
		m.Dependents = append(m.Dependents, names[id])
	}
	return m
}
