package app

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

// The lifecycle: start runs the registry, the writer and its checkpointer and opens the
// dashboard, then startAlerts loads the engine and starts its loop and the delivery
// worker. They stop in reverse: stopAlerts (engine and worker), then stop (the registry
// poll, and the writer's drain).

// largeFleet is the fleet from which the collector runs more often (see gcPercentFor).
const largeFleet = 250_000

// gcPercentFor is the collector's setting for a fleet of about services, unless the
// GOGC environment variable (env) chooses one: Go's default lets the heap grow to twice
// what is live between collections, and the live state of a million services is about
// 320 MB, so the server's memory reached 1.35 GB under load; at 50 it stayed under
// 0.85 GB (make bench-scale), for a few percent more CPU. Smaller fleets keep the default.
func gcPercentFor(services int, env string) (int, bool) {
	if env != "" || services < largeFleet {
		return 0, false
	}
	return 50, true
}

// start loads the registry and starts the writer; it runs once the database is open.
func (s *server) start() error {
	if err := store.EnsureChangeCounter(s.app.NonconcurrentDB()); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	db, ok := s.app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		return fmt.Errorf("app: unexpected write db type %T", s.app.NonconcurrentDB())
	}
	if err := ingest.Reconcile(db.DB()); err != nil {
		return err
	}
	// One scan of the fleet fills the key registry and, for startAlerts, the engine (after
	// Reconcile, so the engine sees every stored beat).
	hint, err := store.ServiceCountHint(s.app.DB())
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if pct, ok := gcPercentFor(hint, os.Getenv("GOGC")); ok {
		debug.SetGCPercent(pct)
		s.app.Logger().Info("a large fleet: the Go collector runs at GOGC=50 to bound memory (set GOGC to choose)", "services", hint)
	}
	err = s.reg.ReplaceServicesFrom(hint, func(add func(ingest.ServiceKey)) error {
		return s.alerts.Preload(hint, add)
	})
	if err != nil {
		return fmt.Errorf("app: load services: %w", err)
	}
	if err := s.reloadKeys(s.app); err != nil {
		return fmt.Errorf("app: load registry: %w", err)
	}
	s.limiter = ingest.NewLimiter(s.cfg.RateLimit)
	s.api.Limiter, s.api.PublicStatus = s.limiter, s.cfg.PublicStatus
	if err := s.startReplication(); err != nil {
		return err
	}
	w, err := s.newWriter(db.DB()) // one that leaves checkpoints to Litestream while replicating
	if err != nil {
		return err
	}
	s.writer = w
	s.api.Writer = w
	s.dash.Refresh = s.cfg.DashboardRefresh
	if err := s.dash.Open(); err != nil {
		return err
	}
	s.pollDone = make(chan struct{})
	s.pollWG.Go(func() { s.pollRegistry(s.pollDone) })
	readers, ok := s.app.ConcurrentDB().(*dbx.DB)
	if !ok {
		return fmt.Errorf("app: unexpected read db type %T", s.app.ConcurrentDB())
	}
	// The writer bounds the log and sets its connection's pragmas itself (see
	// ingest.NewWriter); this copies the log back on the readers' side meanwhile.
	s.stopCheckpointer = s.startCheckpointer(readers.DB()) // none while Litestream runs the checkpoints
	return nil
}

// startAlerts starts the engine and the delivery worker, once the writer runs.
func (s *server) startAlerts() error {
	return s.alerts.Start(s.writer, alerting.Settings{FlapLimit: s.cfg.FlapLimit, ManualEngine: s.cfg.ManualEngine,
		Retry: s.cfg.NotifyRetry, WorkerNow: *s.clock.Load(), CanaryAfter: s.cfg.CanaryAfter})
}

// stopAlerts stops the engine and the worker.
func (s *server) stopAlerts() { s.alerts.Stop() }

// stop commits every queued beat before the database closes (SIGTERM drains, it does
// not drop). PocketBase has stopped the HTTP server by the time this runs.
func (s *server) stop() {
	if s.pollDone != nil {
		close(s.pollDone)
		s.pollDone = nil
		s.pollWG.Wait() // a reload under way ends before the writer closes
	}
	if s.writer == nil {
		return
	}
	if stop := s.stopCheckpointer; stop != nil {
		s.stopCheckpointer = nil
		defer stop() // after the drain: its commits want checkpointing too
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.writer.Close(ctx); err != nil {
		s.app.Logger().Error("heartbeat writer did not drain", "error", err)
	}
	s.stopReplication() // ships the drained beats
}

// registryPoll is how often the registry checks for changes made by another process.
const registryPoll = 10 * time.Second

func (s *server) pollRegistry(done <-chan struct{}) {
	last, err := s.registryVersion()
	if err != nil {
		s.app.Logger().Error("registry version", "error", err)
	}
	t := time.NewTicker(registryPoll)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			s.refreshRegistry(&last)
		}
	}
}
