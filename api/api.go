// Package api is the monitor's JSON API, one file per resource: heartbeats (and their
// refusals), status, services, logs, uptime, external alerts and the channel test. The
// app's route table binds the exported handlers; respond.go renders every reply.
package api

import (
	"context"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// Alerts is what the API asks of the alert side (the app passes its alerting).
type Alerts interface {
	// Engine holds every service's live state.
	Engine() *engine.Engine
	// BeatsCommitted tells the engine about beats the writer has committed.
	BeatsCommitted(beats []ingest.Beat)
	// SendExternal routes and stores an external alert; see alerting.SendExternal.
	SendExternal(a monitor.ExternalAlert, now time.Time) (sent, unknown []string, err error)
	// Channel loads a channels row as a channel to send to.
	Channel(row store.ChannelRow) (notify.Channel, error)
	// Send sends msg through ch at once.
	Send(ctx context.Context, ch notify.Channel, msg notify.Message) error
}

// API holds what the handlers need: the app, the hot-path registry, limiter and writer,
// the alert side, the clock, and who may read.
type API struct {
	App      core.App
	Registry *ingest.Registry
	Limiter  *ingest.Limiter
	Writer   *ingest.Writer
	Alerts   Alerts
	Now      func() time.Time
	// PublicStatus lets anyone use the read routes.
	PublicStatus bool
	// CanReadSession reports whether the request carries a live dashboard session.
	CanReadSession func(e *core.RequestEvent) bool
	// Health holds the monitor's fields of GET /api/health (health.go).
	Health Health
	// Replication reports continuous replication's state (replication.go); nil or false: off.
	Replication func(now time.Time) (ReplicationReport, bool)

	refusals *refusalCounter
}

// New returns the API; fill in what it holds, as the app does when it serves.
func New(app core.App) *API {
	return &API{App: app, refusals: newRefusalCounter(app.Logger)}
}
