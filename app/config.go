package app

import (
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
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

	// CanaryAfter is how long every notification may fail while alerts are due before the
	// server says so loudly and tries every other channel; 0 turns the canary off.
	CanaryAfter time.Duration
	// SelfPing is a URL the server pings every SelfPingEvery (see selfping.go); empty: none.
	SelfPing      string
	SelfPingEvery time.Duration

	Sync              string // SQLite's synchronous setting: SyncFull or SyncNormal ("" means DefaultSync)
	Replicate         string // replica URL (file:///path, s3://bucket/path); empty: no replication
	ReplicateEndpoint string // S3-compatible endpoint for Replicate; empty: AWS or AWS_ENDPOINT_URL_S3
}

// DefaultConfig is the configuration the flags default to.
func DefaultConfig() Config {
	return Config{RateLimit: 120, QueueSize: 10000, KeepHeartbeats: 100, KeepLogs: 100, KeepSummaries: 1000, KeepIncidentsDays: 400,
		FlapLimit: monitor.DefaultFlapLimit, NotifyRetry: notify.DefaultPolicy,
		CanaryAfter: alerting.DefaultCanaryAfter, SelfPingEvery: DefaultSelfPingEvery}
}
