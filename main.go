// Command heartbeat-monitor is a self-hosted, push-based heartbeat monitor built on
// PocketBase: services POST beats, the monitor notices when one goes quiet.
package main

import (
	"io"
	"log"
	"os"

	"github.com/heartbeat-monitor/heartbeat-monitor/app"
	"github.com/heartbeat-monitor/heartbeat-monitor/cli"
	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/pocketbase"
	"github.com/spf13/pflag"
)

func main() {
	cfg := app.DefaultConfig()
	pb := pocketbase.NewWithConfig(pocketbase.Config{DBConnect: cfg.DBConnect}) // reads --sync when it runs
	f := pb.RootCmd.PersistentFlags()
	f.BoolVar(&cfg.PublicStatus, "publicStatus", cfg.PublicStatus, "allow anonymous reads of /api/status, /api/logs and /api/services")
	f.IntVar(&cfg.RateLimit, "rateLimit", cfg.RateLimit, "heartbeats a minute allowed per key and service (0 turns the limit off)")
	f.IntVar(&cfg.QueueSize, "ingestQueue", cfg.QueueSize, "heartbeats waiting to be committed before new ones get 503")
	f.IntVar(&cfg.KeepHeartbeats, "keepHeartbeats", cfg.KeepHeartbeats, "newest heartbeats kept per service")
	f.IntVar(&cfg.KeepLogs, "keepLogs", cfg.KeepLogs, "newest staleness logs kept per service")
	f.IntVar(&cfg.KeepSummaries, "keepSummaries", cfg.KeepSummaries, "newest staleness summaries kept")
	f.IntVar(&cfg.KeepIncidentsDays, "keepIncidentsDays", cfg.KeepIncidentsDays, "days closed incidents are kept")
	f.StringVar(&cfg.Sync, "sync", app.DefaultSync, "SQLite's synchronous setting: full (each group commit waits for an fsync: survives a power cut) or normal (survives a crash of the process)")
	f.StringVar(&cfg.Replicate, "replicate", envOr("HEARTBEAT_REPLICATE", cfg.Replicate), "replicate the database continuously with Litestream to file:///path or s3://bucket/path (default $HEARTBEAT_REPLICATE; credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	f.StringVar(&cfg.ReplicateEndpoint, "replicateEndpoint", cfg.ReplicateEndpoint, "S3-compatible endpoint for --replicate (MinIO, Tigris, R2); default AWS_ENDPOINT_URL_S3, else AWS")
	f.IntVar(&cfg.FlapLimit, "flapLimit", cfg.FlapLimit, "state changes an hour past which a service gets one flapping notice instead of an alert per flip (0 turns it off)")
	f.StringVar(&cfg.SelfPing, "selfPing", cfg.SelfPing, "a URL the server GETs every minute (a Healthchecks-style ping URL, or /ping/<pingId> of another instance), so someone is told when this server is gone")
	f.DurationVar(&cfg.SelfPingEvery, "selfPingEvery", cfg.SelfPingEvery, "how often --selfPing is pinged")
	f.DurationVar(&cfg.CanaryAfter, "canaryAfter", cfg.CanaryAfter, "how long every notification may fail while alerts are due before the server says so (log, /api/health, dashboard) and tries every other channel (0 turns it off)")
	// --alertTick set how often a ticker re-evaluated every service; the engine now wakes
	// at each deadline. The flag is still accepted so existing service files keep working.
	f.Duration("alertTick", 0, "no longer used: alerts are decided at each deadline")
	if err := f.MarkDeprecated("alertTick", "alerts are now decided at each service's deadline; the flag does nothing"); err != nil {
		log.Fatal(err)
	}
	// PocketBase opens the database (DBConnect) before cobra parses the command line, so
	// --sync is read from it first; every other flag is read when the server starts.
	cfg.Sync = eagerFlag(os.Args[1:], "sync", cfg.Sync)
	cli.Register(pb) // ping and run exit here, before PocketBase opens a data dir
	app.Register(pb, &cfg)
	if err := pb.Start(); err != nil {
		log.Fatal(err)
	}
}

// eagerFlag is the value of --name in args (def when it is absent or args do not parse),
// whatever other flags and commands they hold.
func eagerFlag(args []string, name, def string) string {
	fs := pflag.NewFlagSet("eager", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	v := fs.String(name, def, "")
	if err := fs.Parse(args); err != nil {
		return def // cobra reports it when it parses the same line
	}
	return *v
}

// envOr is the environment variable name, or def when it is unset or empty: the default
// of a flag that a platform sets more easily as a secret (fly secrets set).
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
