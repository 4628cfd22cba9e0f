// Package app wires the monitor into PocketBase: Register builds every part (the API,
// the dashboard, the alerting, the hot-path registry and writer), binds their record
// hooks and cron jobs, and owns their start and stop; routes.go is the one route table.
package app

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/dashboard"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/replicate"
	"github.com/pocketbase/pocketbase/core"
)

// server is the running monitor: the parts Register built, and what their start and
// stop need (the registry's poll, the writer and its checkpointer). The handlers never
// see it; each part holds only what it needs.
type server struct {
	app     core.App
	cfg     *Config
	reg     *ingest.Registry
	limiter *ingest.Limiter
	writer  *ingest.Writer
	// regMu orders registry reloads with the record hooks' updates, so a reload that
	// read the database before a save cannot undo that save's update.
	regMu            sync.Mutex
	pollDone         chan struct{}
	pollWG           sync.WaitGroup // the registry's poll, waited for at the stop
	stopCheckpointer func()
	// clock is the server's time source: time.Now, or a test's fixed clock (setNow),
	// which a test may change while the server's goroutines read it.
	clock     atomic.Pointer[func() time.Time]
	alerts    *alerting.Alerting
	api       *api.API
	dash      *dashboard.Dashboard
	retention *retention            // what each retention pass must look at (retention.go)
	fast      *fastBeat             // POST /api/heartbeat ahead of PocketBase's router (fastbeat.go)
	repl      *replicate.Replicator // --replicate (replicate.go); nil when off
}

// Register builds the monitor on app and binds every route, record hook and cron job.
// It keeps cfg: the values are read when the server starts, after the command line has
// been parsed.
func Register(app core.App, cfg *Config) {
	register(app, cfg)
}

func register(app core.App, cfg *Config) *server {
	s := &server{app: app, cfg: cfg, reg: ingest.NewRegistry(), fast: &fastBeat{app: app}}
	s.setNow(time.Now)
	clock := s.now // the tests change the clock after Register
	s.alerts = alerting.New(app, clock)
	s.dash = dashboard.New(app, s.alerts, clock)
	s.dash.Canary = s.alerts.CanaryBanner
	s.api = api.New(app)
	s.api.Registry, s.api.Alerts, s.api.Now, s.api.CanReadSession = s.reg, s.alerts, clock, s.dash.HasSession
	s.api.Health.Add("notifications", s.alerts.CanaryHealth)

	// Record hooks, in the order they run on the same event.
	bindRegistryHooks(app, s)
	bindServiceDefaults(app)
	s.alerts.Bind(app)

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := s.start(); err != nil {
			return err
		}
		bindRoutes(se, s.api, s.dash, s.fast)
		if err := s.startAlerts(); err != nil {
			return err
		}
		if err := se.Next(); err != nil {
			return err
		}
		// apis.Serve sets the server's handler (the router's mux) in the chain's last
		// function and serves only once the chain returns: the fast path goes in front now.
		// (Tests that trigger OnServe themselves have no server.)
		if se.Server != nil && se.Server.Handler != nil {
			se.Server.Handler = s.fast.wrap(se.Server.Handler, se.Router)
		}
		return nil
	})
	app.OnTerminate().BindFunc(func(te *core.TerminateEvent) error {
		s.stopAlerts()
		s.stop()
		s.api.FlushAllRefusals()
		return te.Next()
	})
	bindCrons(app, s)
	bindSelfPing(app, s)
	return s
}

// now is the server's time.
func (s *server) now() time.Time { return (*s.clock.Load())() }

// setNow replaces the server's clock (the tests fix it); safe while the server runs.
func (s *server) setNow(now func() time.Time) { s.clock.Store(&now) }
