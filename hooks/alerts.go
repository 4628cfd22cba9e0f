package hooks

import (
	"context"
	"sync"
	"time"
	_ "time/tzdata" // maintenance windows name IANA zones; a minimal image has no zoneinfo

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// alerting is the alert side of the server: when this process started (a service quiet
// since before then gets a fresh grace), the engine that holds every service's live state
// and wakes when one is due, and the delivery worker.
type alerting struct {
	startedAt time.Time
	engine    *engine.Engine
	worker    *notify.Worker
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	changes   changeLog
}

// startAlerts loads the engine from the stored facts, then starts it (unless the tests
// drive it) and the delivery worker, which resumes whatever was pending when the process
// stopped.
func (s *server) startAlerts() error {
	s.alerts.startedAt = s.now().UTC()
	if err := s.loadEngine(); err != nil {
		return err
	}
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
	if !s.cfg.ManualEngine {
		s.alerts.wg.Add(1)
		go func() {
			defer s.alerts.wg.Done()
			s.alerts.engine.Run(ctx)
		}()
	}
	return nil
}

// loadEngine builds the engine from what is stored: every service's settings, last beat,
// committed state and open incident, the channels and the maintenance windows.
func (s *server) loadEngine() error {
	now := s.now().UTC()
	db := s.app.DB()
	svcs, err := loadEngineServices(db, now)
	if err != nil {
		return err
	}
	subs, err := store.LoadSubscribers(db)
	if err != nil {
		return err
	}
	wins, err := store.LoadWindows(db, now)
	if err != nil {
		return err
	}
	e := engine.New(engine.Config{
		StartedAt: s.alerts.startedAt, FlapLimit: s.cfg.FlapLimit, Now: func() time.Time { return s.now().UTC() },
		NewID: ingest.NewID, Logger: s.app.Logger(),
		Sink: engineSink{app: s.app, writer: s.writer, committed: s.alerts.changes.add, queued: func(int) { s.wakeNotifier() }},
	})
	e.Load(svcs, subs, wins)
	s.alerts.engine = e
	return nil
}

// stopAlerts stops the engine and the worker and waits for them; a notification being
// sent stays pending and goes out after the next start.
func (s *server) stopAlerts() {
	if s.alerts.cancel == nil {
		return
	}
	s.alerts.cancel()
	s.alerts.wg.Wait()
}

// beatsCommitted tells the engine about beats the writer has committed: a service that
// stays up is only rescheduled; a recovery or a reported problem is decided at once.
func (s *server) beatsCommitted(beats []ingest.Beat) {
	e := s.alerts.engine
	if e == nil {
		return
	}
	for _, b := range beats {
		e.Beat(b.ServiceRecordID, b.At.UTC(), b.Status, b.Message)
	}
}

// wakeNotifier tells the worker notifications were just committed.
func (s *server) wakeNotifier() {
	if s.alerts.worker != nil {
		s.alerts.worker.Wake()
	}
}

// evaluateAlerts decides, at now, everything that is due by then and commits it: what
// the engine's own loop does as deadlines pass. Tests with a fixed clock call it.
func (s *server) evaluateAlerts(now time.Time) error {
	s.alerts.engine.StepAll(now.UTC())
	return nil
}

// bindEngineHooks keeps the engine current with what admins save: a service's settings
// (a pause included), the channels alerts go to and the maintenance windows.
func bindEngineHooks(app core.App, s *server) {
	putService := func(e *core.RecordEvent) error {
		if eng := s.alerts.engine; eng != nil {
			r, err := store.LoadEngineService(e.App.DB(), e.Record.Id)
			if err != nil {
				e.App.Logger().Error("engine: reload service", "error", err)
			} else {
				eng.Put(engineService(r))
			}
		}
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess("services").BindFunc(putService)
	app.OnRecordAfterUpdateSuccess("services").BindFunc(putService)
	app.OnRecordAfterDeleteSuccess("services").BindFunc(func(e *core.RecordEvent) error {
		if eng := s.alerts.engine; eng != nil {
			eng.Remove(e.Record.Id)
		}
		return e.Next()
	})
	channels := func(e *core.RecordEvent) error {
		if eng := s.alerts.engine; eng != nil {
			subs, err := store.LoadSubscribers(e.App.DB())
			if err != nil {
				e.App.Logger().Error("engine: reload channels", "error", err)
			} else {
				eng.SetChannels(subs)
			}
		}
		return e.Next()
	}
	windows := func(e *core.RecordEvent) error {
		if eng := s.alerts.engine; eng != nil {
			wins, err := store.LoadWindows(e.App.DB(), s.now().UTC())
			if err != nil {
				e.App.Logger().Error("engine: reload maintenance", "error", err)
			} else {
				eng.SetWindows(wins)
			}
		}
		return e.Next()
	}
	for _, bind := range []func(...string) *hook.TaggedHook[*core.RecordEvent]{app.OnRecordAfterCreateSuccess, app.OnRecordAfterUpdateSuccess, app.OnRecordAfterDeleteSuccess} {
		bind("channels").BindFunc(channels)
		bind("maintenance").BindFunc(windows)
	}
}

// maxNamedDependents bounds the dependents a message names; it counts them all.
const maxNamedDependents = 10
