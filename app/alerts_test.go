package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// receiver is a local webhook endpoint: it records every request and answers with the
// statuses given in turn (the last one repeats).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received
	arrived  chan received
}

type received struct {
	Event, Title, Incident string
	Header                 http.Header
	Body                   string
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []int{200}
	}
	rc := &receiver{statuses: statuses, arrived: make(chan received, 64)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var v struct {
			Event      string `json:"event"`
			Title      string `json:"title"`
			IncidentID string `json:"incidentId"`
		}
		_ = json.Unmarshal(body, &v) // a non-webhook body records as empty fields
		got := received{Event: v.Event, Title: v.Title, Incident: v.IncidentID, Header: r.Header.Clone(), Body: string(body)}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		status := rc.statuses[min(len(rc.got), len(rc.statuses))-1]
		rc.mu.Unlock()
		w.WriteHeader(status)
		if status < 300 {
			rc.arrived <- got
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) events() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, g := range rc.got {
		out = append(out, g.Event)
	}
	return out
}

// wait returns the next successfully received request, or fails after a while.
func (rc *receiver) wait(t *testing.T) received {
	t.Helper()
	select {
	case got := <-rc.arrived:
		return got
	case <-time.After(10 * time.Second):
		t.Fatalf("no notification arrived; got so far: %v", rc.events())
	}
	return received{}
}

// channel creates a channel record as an admin would.
func (h *harness) channel(name, typ string, config, secrets map[string]any, events []string, services ...string) *core.Record {
	h.t.Helper()
	col, err := h.app.FindCollectionByNameOrId("channels")
	if err != nil {
		h.t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("name", name)
	r.Set("type", typ)
	if config != nil { // left out, the column stays NULL, as when the admin UI leaves it empty
		r.Set("config", config)
	}
	if secrets != nil {
		r.Set("secrets", secrets)
	}
	r.Set("events", events)
	r.Set("services", services)
	if err := h.app.Save(r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) webhook(name, url string, events ...string) *core.Record {
	return h.channel(name, "webhook", nil, map[string]any{"url": url}, events)
}

// evaluate runs one alert tick at now.
func (h *harness) evaluate(now time.Time) {
	h.t.Helper()
	h.setClock(now)
	if err := h.s.alerts.Evaluate(now); err != nil {
		h.t.Fatal(err)
	}
}

type notificationRow struct {
	Channel  string `db:"channel"`
	Incident string `db:"incident"`
	Event    string `db:"event"`
	Status   string `db:"status"`
	Attempts int    `db:"attempts"`
	Error    string `db:"lastError"`
}

func (h *harness) notifications() []notificationRow {
	h.t.Helper()
	var rows []notificationRow
	if err := h.app.DB().NewQuery("SELECT channel, incident, event, status, attempts, lastError FROM notifications ORDER BY rowid").All(&rows); err != nil {
		h.t.Fatal(err)
	}
	return rows
}

func (h *harness) incident(serviceRecordID string) store.IncidentRow {
	h.t.Helper()
	var in store.IncidentRow
	err := h.app.DB().NewQuery("SELECT id, service, status, startedAt, endedAt, alertedAt, remindedAt FROM incidents WHERE service = {:id} ORDER BY rowid DESC LIMIT 1").
		Bind(dbx.Params{"id": serviceRecordID}).One(&in)
	if err != nil {
		h.t.Fatal(err)
	}
	return in
}

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// TestAlertDownAndQuickRecovery: a service goes quiet past its threshold, the down
// alert is queued and delivered; it beats again one second later and the recovery is
// queued and delivered too, in that order, carrying the same incident.
func TestAlertDownAndQuickRecovery(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t)
	ch := h.webhook("ops", rc.URL, "down", "up")
	svc := h.service("db", "k", map[string]any{"interval": 10, "stalenessThreshold": 30})
	setSeen(t, h, "db", t0, "up")
	h.evaluate(t0.Add(time.Second))
	if n := h.notifications(); len(n) != 0 {
		t.Fatalf("notifications for a healthy service: %+v", n)
	}

	h.evaluate(t0.Add(31 * time.Second))
	inc := h.incident(svc.Id)
	if inc.StartedAt != "2026-11-26 12:00:30.000Z" || inc.AlertedAt != "2026-11-26 12:00:31.000Z" {
		t.Errorf("incident %+v, want started at the threshold and alerted at the tick", inc)
	}
	// The delivery worker runs: by now the notification may be sent already.
	if n := h.notifications(); len(n) != 1 || n[0].Event != "down" || n[0].Channel != ch.Id || n[0].Incident != inc.ID || (n[0].Status != "pending" && n[0].Status != "sent") {
		t.Fatalf("after the threshold: %+v, want one down notification (pending or sent) for the incident", n)
	}
	if got := rc.wait(t); got.Event != "down" || got.Incident != inc.ID || !strings.Contains(got.Title, "db is down") {
		t.Errorf("delivered %+v, want the down alert", got)
	}

	setSeen(t, h, "db", t0.Add(32*time.Second), "up")
	h.evaluate(t0.Add(32 * time.Second))
	if got := rc.wait(t); got.Event != "up" || got.Incident != inc.ID {
		t.Errorf("delivered %+v, want the recovery of the same incident", got)
	}
	if got := h.incident(svc.Id); got.EndedAt != "2026-11-26 12:00:32.000Z" {
		t.Errorf("incident %+v, want closed at the recovering beat", got)
	}
	waitFor(t, func() bool {
		n := h.notifications()
		return len(n) == 2 && n[0].Status == "sent" && n[1].Status == "sent"
	})
}

// TestStalenessCronQueuesAlerts: the minute cron carries out transitions too, with the
// same notifications, and still writes one log per service.
func TestStalenessCronQueuesAlerts(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.webhook("ops", "http://127.0.0.1:9/", "down")
	svc := h.service("db", "k", nil)
	setSeen(t, h, "db", t0, "down")
	if err := h.s.alerts.CheckStaleness(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := h.notifications(); len(n) != 1 || n[0].Event != "down" || n[0].Incident != h.incident(svc.Id).ID {
		t.Errorf("notifications %+v, want the down alert", n)
	}
	if n := h.count("logs", "", nil); n != 1 {
		t.Errorf("%d logs, want 1", n)
	}
	h.evaluate(t0.Add(61 * time.Second)) // the ticker right after: nothing new
	if n := h.notifications(); len(n) != 1 {
		t.Errorf("notifications %+v, want no second alert", n)
	}
}

// TestAlertRestartGrace: after a restart, a service quiet since before it gets its
// threshold again; one that beats within it never alerts, one that does not alerts.
func TestAlertRestartGrace(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.webhook("ops", "http://127.0.0.1:9/", "down")
	beating := h.service("beating", "k1", map[string]any{"stalenessThreshold": 300})
	dead := h.service("dead", "k2", map[string]any{"stalenessThreshold": 300})
	// Both beat, then the monitor was down for an hour.
	setSeen(t, h, "beating", t0.Add(-time.Hour), "up")
	setSeen(t, h, "dead", t0.Add(-time.Hour), "up")
	for _, svc := range []*core.Record{beating, dead} {
		setState(t, h.app.DB(), svc.GetString("serviceId"), dbx.Params{"status": "up"})
	}
	h.s.alerts.StartedAt = t0
	if err := h.s.alerts.LoadEngine(); err != nil { // the restart: the engine is rebuilt from what is stored
		t.Fatal(err)
	}
	h.evaluate(t0.Add(2 * time.Second))
	if n := h.notifications(); len(n) != 0 {
		t.Fatalf("alerts right after the restart: %+v", n)
	}
	setSeen(t, h, "beating", t0.Add(2*time.Minute), "up")
	h.evaluate(t0.Add(5*time.Minute + time.Second))
	n := h.notifications()
	if len(n) != 1 || n[0].Event != "down" {
		t.Fatalf("notifications %+v, want one down alert", n)
	}
	if got := h.incident(dead.Id); got.StartedAt != "2026-11-26 12:05:00.000Z" {
		t.Errorf("dead's incident starts %s, want when its grace ran out", got.StartedAt)
	}
	if c := h.count("incidents", "service = {:id}", dbx.Params{"id": beating.Id}); c != 0 {
		t.Errorf("beating has %d incidents, want none", c)
	}
}

// TestAlertMaintenanceWindow: no down alert during a window; still down when it ends,
// the alert goes out then.
func TestAlertMaintenanceWindow(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.webhook("ops", "http://127.0.0.1:9/", "down")
	svc := h.service("db", "k", map[string]any{"stalenessThreshold": 60})
	col, _ := h.app.FindCollectionByNameOrId("maintenance")
	w := core.NewRecord(col)
	w.Load(map[string]any{"name": "nightly", "kind": "weekly", "weekdays": []string{"thu"}, "startTime": "13:00",
		"durationMinutes": 30, "timezone": "Europe/Berlin", "services": []string{svc.Id}})
	if err := h.app.Save(w); err != nil {
		t.Fatal(err)
	}
	// 2026-11-26 is a Thursday; 12:00 UTC is 13:00 in Berlin.
	setSeen(t, h, "db", t0, "up")
	h.evaluate(t0.Add(2 * time.Minute))
	if in := h.incident(svc.Id); in.AlertedAt != "" || len(h.notifications()) != 0 {
		t.Fatalf("during the window: incident %+v, notifications %+v; want it open and held", in, h.notifications())
	}
	h.evaluate(t0.Add(30 * time.Minute))
	if n := h.notifications(); len(n) != 1 || n[0].Event != "down" {
		t.Fatalf("at the window's end: %+v, want the down alert", n)
	}
}

// TestAlertDependencies: parent and children go down together; one alert names the
// children. The parent recovers, a child stays down: the child alerts then.
func TestAlertDependencies(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	rc := newReceiver(t)
	h.webhook("ops", rc.URL, "down", "up")
	router := h.service("router", "k0", map[string]any{"stalenessThreshold": 60})
	h.service("web", "k1", map[string]any{"stalenessThreshold": 60, "dependsOn": []string{router.Id}})
	h.service("api", "k2", map[string]any{"stalenessThreshold": 60, "dependsOn": []string{router.Id}})
	for _, id := range []string{"router", "web", "api"} {
		setSeen(t, h, id, t0, "up")
	}
	h.evaluate(t0.Add(61 * time.Second))
	n := h.notifications()
	if len(n) != 1 || n[0].Event != "down" {
		t.Fatalf("notifications %+v, want the router's alert alone", n)
	}
	var msg notify.Message
	var raw string
	if err := h.app.DB().NewQuery("SELECT message FROM notifications").Row(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Title() != "🔴 router is down (and 2 dependent services)" {
		t.Errorf("title %q", msg.Title())
	}
	setSeen(t, h, "router", t0.Add(70*time.Second), "up")
	setSeen(t, h, "api", t0.Add(70*time.Second), "up")
	h.evaluate(t0.Add(71 * time.Second))
	var events []string
	for _, r := range h.notifications() {
		events = append(events, r.Event)
	}
	if got := strings.Join(events, ","); got != "down,up,down" {
		t.Errorf("events %s, want the router's down and up, then web's down", got)
	}
}

// TestAlertRemindersStopAtRecovery: reminders every N minutes while down, none after.
func TestAlertRemindersStopAtRecovery(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	h.webhook("ops", "http://127.0.0.1:9/", "down", "up", "reminder")
	h.service("db", "k", map[string]any{"stalenessThreshold": 60, "reminderMinutes": 10})
	setSeen(t, h, "db", t0, "up")
	for _, m := range []int{2, 5, 11, 12, 21, 25} {
		h.evaluate(t0.Add(time.Duration(m) * time.Minute))
	}
	for _, m := range []int{26, 40, 60} { // beating again
		setSeen(t, h, "db", t0.Add(time.Duration(m)*time.Minute), "up")
		h.evaluate(t0.Add(time.Duration(m) * time.Minute))
	}
	var events []string
	for _, r := range h.notifications() {
		events = append(events, r.Event)
	}
	if got := strings.Join(events, ","); got != "down,reminder,reminder,up" {
		t.Errorf("events %s, want down, a reminder at 12 and 22 minutes, then up", got)
	}
}

// TestAlertFlapping: past the limit, one flapping notice instead of an alert per flip.
func TestAlertFlapping(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.FlapLimit = 4 })
	h.s.stopAlerts()
	h.webhook("ops", "http://127.0.0.1:9/", "down", "up")
	h.service("job", "k", map[string]any{"stalenessThreshold": 600})
	for i := 0; i < 6; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		setSeen(t, h, "job", at, "down")
		h.evaluate(at.Add(time.Second))
		setSeen(t, h, "job", at.Add(30*time.Second), "up")
		h.evaluate(at.Add(31 * time.Second))
	}
	var events []string
	for _, r := range h.notifications() {
		events = append(events, r.Event)
	}
	if got := strings.Join(events, ","); got != "down,up,down,up,flapping" {
		t.Errorf("events %s, want two alerts and recoveries, then one flapping notice", got)
	}
}

// TestDeliveryRetriesAndOrder: through the real store, a 500 twice then 200 is
// delivered on the third attempt, a 400 fails at once, and a recovery waits for its
// alert's retries.
func TestDeliveryRetriesAndOrder(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	flaky, refusing := newReceiver(t, 500, 500, 200), newReceiver(t, 400)
	fc := h.webhook("flaky", flaky.URL, "down", "up")
	rf := h.webhook("refusing", refusing.URL, "down", "up")
	h.service("db", "k", map[string]any{"stalenessThreshold": 60})
	setSeen(t, h, "db", t0, "up")
	h.evaluate(t0.Add(61 * time.Second))
	setSeen(t, h, "db", t0.Add(62*time.Second), "up")
	h.evaluate(t0.Add(62 * time.Second))

	w := &notify.Worker{Store: alerting.NotificationStore{App: h.app}, Sender: h.s.alerts.Sender(), Now: time.Now,
		Policy: notify.Policy{MaxAttempts: 5, Base: 10 * time.Millisecond, Max: 40 * time.Millisecond}, Logger: slog.New(slog.DiscardHandler)}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if pending := h.count("notifications", "status = 'pending'", nil); pending == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond) // the backoff is real time here, and tiny
	}
	if got := strings.Join(flaky.events(), ","); got != "down,down,down,up" {
		t.Errorf("flaky endpoint got %s, want the alert three times, then the recovery", got)
	}
	if got := strings.Join(refusing.events(), ","); got != "down,up" {
		t.Errorf("refusing endpoint got %s, want one try of each", got)
	}
	for _, n := range h.notifications() {
		want := map[string]struct {
			status   string
			attempts int
		}{fc.Id + "down": {"sent", 3}, fc.Id + "up": {"sent", 1}, rf.Id + "down": {"failed", 1}, rf.Id + "up": {"failed", 1}}[n.Channel+n.Event]
		if n.Status != want.status || n.Attempts != want.attempts {
			t.Errorf("%s %s: %s after %d attempts, want %s after %d", n.Channel, n.Event, n.Status, n.Attempts, want.status, want.attempts)
		}
		if n.Status == "failed" && !strings.Contains(n.Error, "400") {
			t.Errorf("failed notification's error %q does not say 400", n.Error)
		}
	}
}

// TestPendingResumed: notifications left pending (a process that stopped before
// delivering) go out when the worker starts.
func TestPendingResumed(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	rc := newReceiver(t)
	h.webhook("ops", rc.URL, "down")
	h.service("db", "k", map[string]any{"stalenessThreshold": 60})
	setSeen(t, h, "db", t0, "up")
	h.evaluate(t0.Add(61 * time.Second))
	if n := h.notifications(); len(n) != 1 || n[0].Status != "pending" {
		t.Fatalf("%+v, want one pending", n)
	}
	h.s.startAlerts() // as after a restart
	if got := rc.wait(t); got.Event != "down" {
		t.Errorf("got %+v, want the pending alert", got)
	}
}

// waitFor polls cond for a few seconds; for outcomes a background goroutine writes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in time")
}
