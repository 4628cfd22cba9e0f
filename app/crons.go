package app

import (
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// bindCrons adds the monitor's cron jobs: the minute's summary, retention, and the log
// of the minute's refused beats.
func bindCrons(app core.App, s *server) {
	bindRetention(app, s)
	app.Cron().MustAdd("staleness", "* * * * *", s.cronJob("staleness", func() error { return s.alerts.CheckStaleness(s.now()) }))
	app.Cron().MustAdd("retention", "*/10 * * * *", s.cronJob("retention", func() error { return s.prune(s.now()) }))
	app.Cron().MustAdd("alerts-retention", "17 * * * *", s.cronJob("alerts-retention", func() error {
		return store.PruneAlerts(s.app, s.cfg.KeepIncidentsDays, s.now())
	}))
	app.Cron().MustAdd(api.RefusalsCronID, "* * * * *", s.cronJob(api.RefusalsCronID, func() error {
		s.api.FlushRefusals(s.now())
		return nil
	}))
}

// prune applies the configured retention at now: a pass of s.retention, which looks
// only at the services that may hold more than is kept (see retention.go).
func (s *server) prune(now time.Time) error { return s.pruneOn(s.app, now) }

// pruneOn is prune through app (the tests count its statements).
func (s *server) pruneOn(app core.App, now time.Time) error {
	keep := store.Retention{Heartbeats: s.cfg.KeepHeartbeats, Logs: s.cfg.KeepLogs, Summaries: s.cfg.KeepSummaries, IncidentsDays: s.cfg.KeepIncidentsDays}
	return s.retention.pass(app, keep, now)
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
