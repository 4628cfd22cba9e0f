// Package alerting is the alert side of the monitor: it loads the engine from the
// store and commits its transitions (the Sink), turns them into notifications, runs the
// delivery worker, keeps the engine current as admins save records, validates what they
// save, takes external alerts, and writes the minute's summary.
package alerting

import (
	"context"
	"sync"
	"time"
	_ "time/tzdata" // maintenance windows name IANA zones; a minimal image has no zoneinfo

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// Settings are the alerting's flags, read when it starts.
type Settings struct {
	FlapLimit int // state changes an hour past which a service's alerts become one flapping notice
	// ManualEngine leaves the engine's loop off: the tests step it with their own clocks.
	ManualEngine bool
	Retry        notify.Policy // how failed notifications are retried
	// WorkerNow is the delivery worker's clock; nil is Now. The app passes the clock it
	// has at the start: tests that move their clock afterwards move the engine's alone.
	WorkerNow func() time.Time
	// CanaryAfter is how long every delivery may fail while alerts are due before the
	// canary is raised (canary.go); 0 turns it off.
	CanaryAfter time.Duration
}

// Alerting holds the engine (every service's live state, waking when one is due), the
// delivery worker and the change log of the minute's summary.
type Alerting struct {
	App core.App
	Now func() time.Time
	// StartedAt is when this process started: a service quiet since before then gets a
	// fresh grace.
	StartedAt time.Time

	writer   *ingest.Writer
	settings Settings
	eng      *engine.Engine
	worker   *notify.Worker
	canary   *Canary // nil when off
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	changes  changeLog
	// preloaded is what Preload read, for the next LoadEngine.
	preloaded *engine.Loader
}

// New returns the alerting of app, reading the time from now. Bind its record hooks
// before the app serves, then Start it.
func New(app core.App, now func() time.Time) *Alerting {
	return &Alerting{App: app, Now: now}
}

// Engine is the engine, nil before Start.
func (a *Alerting) Engine() *engine.Engine { return a.eng }

// Start loads the engine from the stored facts, then starts it (unless the tests drive
// it) and the delivery worker, which resumes whatever was pending when the process
// stopped. Transitions are committed through w.
func (a *Alerting) Start(w *ingest.Writer, s Settings) error {
	a.writer, a.settings = w, s
	a.StartedAt = a.Now().UTC()
	if err := a.LoadEngine(); err != nil {
		return err
	}
	workerNow := s.WorkerNow
	if workerNow == nil {
		workerNow = a.Now
	}
	a.worker = &notify.Worker{
		Store: NotificationStore{App: a.App}, Sender: a.Sender(), Policy: s.Retry,
		Now: workerNow, Logger: a.App.Logger(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.startCanary(ctx, s.CanaryAfter, workerNow)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.worker.Run(ctx)
	}()
	if !s.ManualEngine {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.eng.Run(ctx)
		}()
	}
	return nil
}

// Preload reads every stored service for the engine ahead of Start, handing each one's
// key to key (if set) on the way: the start-up fills the key registry from the same scan,
// so a fleet of a million is read once, not twice. The services and their states are
// read in two scans, each in storage order, and joined in the loader (a join in SQL
// looks each state up by id, a random page each). The next LoadEngine takes what it
// read (nothing can change a service in between: the server is not serving yet).
func (a *Alerting) Preload(sizeHint int, key func(ingest.ServiceKey)) error {
	db := a.App.DB()
	attach, err := engineFacts(db, a.Now().UTC())
	if err != nil {
		return err
	}
	load := engine.NewLoader(sizeHint)
	err = store.EachStartupService(db, func(r store.EngineServiceRow, apiKey, pingID string) error {
		load.Add(attach(EngineService(r)))
		if key != nil {
			key(ingest.ServiceKey{RecordID: r.ID, ServiceID: r.ServiceID, Key: apiKey, PingID: pingID})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A state whose service is gone is left out.
	err = store.EachServiceState(db, func(r store.StateRow) {
		load.SetState(r.ID, store.ParseDate(r.LastSeen), r.LastStatus, monitor.CleanText(r.LastMessage),
			monitor.Status(r.Status), store.ParseDate(r.StatusChangedAt))
		if r.Runs != "" {
			load.SetRuns(r.ID, monitor.DecodeRuns(r.Runs))
		}
	})
	if err != nil {
		return err
	}
	a.preloaded = load
	return nil
}

// LoadEngine builds the engine from what is stored: every service's settings, last beat,
// committed state and open incident, the channels and the maintenance windows.
func (a *Alerting) LoadEngine() error {
	now := a.Now().UTC()
	db := a.App.DB()
	if a.preloaded == nil {
		hint, err := store.ServiceCountHint(db)
		if err != nil {
			return err
		}
		if err := a.Preload(hint, nil); err != nil {
			return err
		}
	}
	load := a.preloaded
	a.preloaded = nil
	subs, err := store.LoadSubscribers(db)
	if err != nil {
		return err
	}
	wins, err := store.LoadWindows(db, now)
	if err != nil {
		return err
	}
	e := engine.New(engine.Config{
		StartedAt: a.StartedAt, FlapLimit: a.settings.FlapLimit, Now: func() time.Time { return a.Now().UTC() },
		NewID: ingest.NewID, Logger: a.App.Logger(),
		Sink: sink{app: a.App, writer: a.writer, committed: a.changes.add, queued: func(int) { a.Wake() }},
	})
	e.LoadFrom(load, subs, wins)
	a.eng = e
	return nil
}

// SyncEngine brings the engine in step with the services stored, after another process
// changed them (an import into the running server); see engine.Sync.
func (a *Alerting) SyncEngine() error {
	if a.eng == nil {
		return nil
	}
	svcs, err := loadEngineServices(a.App.DB(), a.Now().UTC())
	if err != nil {
		return err
	}
	added, changed, removed := a.eng.Sync(svcs)
	if added+changed+removed > 0 {
		a.App.Logger().Info("services changed by another process", "added", added, "changed", changed, "removed", removed)
	}
	return nil
}

// PutStoredSince gives the engine the services saved after since, as stored:
// settings changed, or services created, by another process.
func (a *Alerting) PutStoredSince(since string) error {
	if a.eng == nil {
		return nil
	}
	rows, err := store.LoadEngineServicesSince(a.App.DB(), since)
	if err != nil {
		return err
	}
	svcs := make([]engine.Service, len(rows))
	for i, r := range rows {
		svcs[i] = EngineService(r)
	}
	a.eng.Update(svcs)
	return nil
}

// Stop stops the engine and the worker and waits for them; a notification being sent
// stays pending and goes out after the next start.
func (a *Alerting) Stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
}

// BeatsCommitted tells the engine about beats the writer has committed: a service that
// stays up is only rescheduled; a recovery or a reported problem is decided at once.
func (a *Alerting) BeatsCommitted(beats []ingest.Beat) {
	e := a.eng
	if e == nil {
		return
	}
	for _, b := range beats {
		e.Beat(b.ServiceRecordID, b.At.UTC(), b.Status, b.Message)
	}
}

// Wake tells the worker notifications were just committed.
func (a *Alerting) Wake() {
	if a.worker != nil {
		a.worker.Wake()
	}
}

// Evaluate decides, at now, everything that is due by then and commits it: what the
// engine's own loop does as deadlines pass. Tests with a fixed clock call it.
func (a *Alerting) Evaluate(now time.Time) error {
	a.eng.StepAll(now.UTC())
	return nil
}
