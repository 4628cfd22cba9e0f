// Package hooks wires the monitor into PocketBase: Register lists every route, record
// hook and cron job in one place; each resource has its own file.
package hooks

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/dashboard"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Config holds the server's own flags. Register keeps a pointer: the values are read when
// the server starts, after the command line has been parsed.
type Config struct {
	PublicStatus      bool // anonymous reads of /api/status, /api/logs and /api/services
	RateLimit         int  // beats a minute per (key, service); 0 turns the limit off
	QueueSize         int  // beats waiting for a commit before the server answers 503
	KeepHeartbeats    int  // newest heartbeats kept per service
	KeepLogs          int  // newest staleness logs kept per service
	KeepSummaries     int  // newest summaries kept
	KeepIncidentsDays int  // days closed incidents are kept

	FlapLimit int // state changes an hour past which a service's alerts become one flapping notice
	// ManualEngine leaves the engine's loop off: the tests step it with their own clocks.
	ManualEngine bool
	NotifyRetry  notify.Policy // how failed notifications are retried

	DashboardRefresh time.Duration // how often dashboard pages refresh their live regions; 0 means 30 s
}

// DefaultConfig is the configuration the flags default to.
func DefaultConfig() Config {
	return Config{RateLimit: 120, QueueSize: 10000, KeepHeartbeats: 100, KeepLogs: 100, KeepSummaries: 1000, KeepIncidentsDays: 400,
		FlapLimit: monitor.DefaultFlapLimit, NotifyRetry: notify.DefaultPolicy}
}

// server is the state shared by the handlers: the hot-path registry, limiter and writer.
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
	stopCheckpointer func()
	now              func() time.Time
	alerts           *alerting.Alerting
	api              *api.API
	dash             *dashboard.Dashboard
}

// Register binds every route, record hook and cron job of the monitor to app.
func Register(app core.App, cfg *Config) {
	register(app, cfg)
}

func register(app core.App, cfg *Config) *server {
	s := &server{app: app, cfg: cfg, reg: ingest.NewRegistry(), now: time.Now}
	clock := func() time.Time { return s.now() }
	s.alerts = alerting.New(app, clock)
	s.api = api.New(app)
	s.api.Registry, s.api.Alerts, s.api.Now = s.reg, s.alerts, clock
	s.dash = dashboard.New(app, s.alerts, clock)
	s.api.CanReadSession = s.dash.HasSession

	bindRegistryHooks(app, s)
	bindServiceDefaults(app)
	s.alerts.Bind(app)

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := s.start(); err != nil {
			return err
		}
		bindApi(se, s.api)
		s.dash.Refresh = s.cfg.DashboardRefresh
		if err := s.dash.Open(); err != nil {
			return err
		}
		bindDashboard(se, s.dash)
		if err := s.startAlerts(); err != nil {
			return err
		}
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(te *core.TerminateEvent) error {
		s.stopAlerts()
		s.stop()
		s.api.FlushAllRefusals()
		return te.Next()
	})

	app.Cron().MustAdd("staleness", "* * * * *", s.cronJob("staleness", func() error { return s.alerts.CheckStaleness(s.now()) }))
	app.Cron().MustAdd("retention", "*/10 * * * *", s.cronJob("retention", func() error { return s.prune(s.now()) }))
	app.Cron().MustAdd("alerts-retention", "17 * * * *", s.cronJob("alerts-retention", func() error { return store.PruneAlerts(s.app, s.cfg.KeepIncidentsDays, s.now()) }))
	app.Cron().MustAdd(api.RefusalsCronID, "* * * * *", s.cronJob(api.RefusalsCronID, func() error {
		s.api.FlushRefusals(s.now())
		return nil
	}))
	return s
}

// prune applies the configured retention at now.
func (s *server) prune(now time.Time) error {
	keep := store.Retention{Heartbeats: s.cfg.KeepHeartbeats, Logs: s.cfg.KeepLogs, Summaries: s.cfg.KeepSummaries, IncidentsDays: s.cfg.KeepIncidentsDays}
	return store.Prune(s.app, keep, now)
}

// startAlerts starts the engine and the delivery worker, once the writer runs.
func (s *server) startAlerts() error {
	return s.alerts.Start(s.writer, alerting.Settings{FlapLimit: s.cfg.FlapLimit, ManualEngine: s.cfg.ManualEngine, Retry: s.cfg.NotifyRetry})
}

// stopAlerts stops the engine and the worker.
func (s *server) stopAlerts() { s.alerts.Stop() }

// start loads the registry and starts the writer; it runs once the database is open.
func (s *server) start() error {
	if err := s.loadRegistry(); err != nil {
		return fmt.Errorf("hooks: load registry: %w", err)
	}
	db, ok := s.app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		return fmt.Errorf("hooks: unexpected write db type %T", s.app.NonconcurrentDB())
	}
	if err := ingest.Reconcile(db.DB()); err != nil {
		return err
	}
	s.limiter = ingest.NewLimiter(s.cfg.RateLimit)
	s.api.Limiter, s.api.PublicStatus = s.limiter, s.cfg.PublicStatus
	w, err := ingest.NewWriter(db.DB(), s.cfg.QueueSize,
		func(err error) { s.app.Logger().Error("heartbeat writer", "error", err) })
	if err != nil {
		return err
	}
	s.writer = w
	s.api.Writer = w
	s.pollDone = make(chan struct{})
	go s.pollRegistry(s.pollDone)
	readers, ok := s.app.ConcurrentDB().(*dbx.DB)
	if !ok {
		return fmt.Errorf("hooks: unexpected read db type %T", s.app.ConcurrentDB())
	}
	// The writer bounds the log and sets its connection's pragmas itself (see
	// ingest.NewWriter); this copies the log back on the readers' side meanwhile.
	s.stopCheckpointer = s.writer.StartCheckpointer(readers.DB(), 250*time.Millisecond)
	return nil
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

// stop commits every queued beat before the database closes (SIGTERM drains, it does
// not drop). PocketBase has stopped the HTTP server by the time this runs.
func (s *server) stop() {
	if s.pollDone != nil {
		close(s.pollDone)
		s.pollDone = nil
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
}

// cronJob wraps a cron body so a panic or error is logged instead of killing the process.
func (s *server) cronJob(name string, fn func() error) func() {
	return func() {
		defer func() {
			if r := recover(); r != nil {
				s.app.Logger().Error("cron panic", "job", name, "panic", fmt.Sprint(r))
			}
		}()
		if err := fn(); err != nil {
			s.app.Logger().Error("cron failed", "job", name, "error", err)
		}
	}
}

// bindApi binds the JSON API. POST /api/heartbeat has a 405 for its other methods
// (OPTIONS is left to PocketBase's CORS middleware); refused beats are kept out of the
// request log and counted per minute instead (api/refusals.go).
func bindApi(se *core.ServeEvent, a *api.API) {
	se.Router.POST("/api/heartbeat", a.HeartbeatCreate).
		Bind(apis.SkipSuccessActivityLog()).
		BindFunc(a.CountRefusals).
		Unbind(apis.DefaultLoadAuthTokenMiddlewareId) // beats carry service keys, never PocketBase tokens
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} { // GET covers HEAD
		se.Router.Route(method, "/api/heartbeat", api.HeartbeatWrongMethod).
			Bind(apis.SkipSuccessActivityLog()).
			BindFunc(a.CountRefusals).
			Unbind(apis.DefaultLoadAuthTokenMiddlewareId)
	}
	se.Router.GET("/api/status", a.StatusGet).BindFunc(a.RequireReader)
	se.Router.GET("/api/services", a.ServicesList).BindFunc(a.RequireReader)
	se.Router.GET("/api/uptime", a.UptimeGet).BindFunc(a.RequireReader)
	// PocketBase owns GET /api/logs (the admin log viewer); ours answers only when a
	// serviceId is asked for, so it is a router-level middleware, not a second route.
	se.Router.BindFunc(a.LogsMiddleware)
	se.Router.POST("/api/alert", a.AlertCreate).
		Unbind(apis.DefaultLoadAuthTokenMiddlewareId) // alert keys are api_keys keys, never PocketBase tokens
	se.Router.GET("/api/alerts/recent", a.AlertsRecent).BindFunc(a.RequireReader)
	se.Router.POST("/api/channels/{id}/test", a.ChannelTest).Bind(apis.RequireSuperuserAuth())
}

// bindDashboard registers the login, the pages and their htmx partials, and the static
// assets. The session cookie is read by these routes (and the read API) only.
func bindDashboard(se *core.ServeEvent, d *dashboard.Dashboard) {
	se.Router.GET("/static/{path...}", dashboard.StaticGet).Bind(apis.Gzip(), apis.SkipSuccessActivityLog())

	se.Router.GET("/login", d.LoginGet).BindFunc(dashboard.PageHeaders)
	se.Router.POST("/login", d.LoginPost).BindFunc(dashboard.PageHeaders).Bind(apis.BodyLimit(dashboard.MaxFormBytes))

	pages := se.Router.Group("")
	pages.BindFunc(dashboard.PageHeaders, d.RequireSession)
	pages.GET("/{$}", d.OverviewGet)
	pages.GET("/overview/live", d.OverviewLive)
	pages.GET("/services/{serviceId}", d.ServiceGet)
	pages.GET("/services/{serviceId}/state", d.ServiceState)
	pages.GET("/services/{serviceId}/heartbeats", d.ServiceBeats)
	pages.GET("/logout", d.LogoutGet)
	pages.POST("/logout", d.LogoutPost).Bind(apis.BodyLimit(dashboard.MaxFormBytes))
	pages.POST("/logout/everywhere", d.LogoutEverywherePost).Bind(apis.BodyLimit(dashboard.MaxFormBytes))
}
