package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/replicate"
	"github.com/spf13/cobra"
)

// restoreOptions are restore's flags.
type restoreOptions struct {
	from      string
	dir       string
	timestamp string
	endpoint  string
	force     bool
	follow    bool
	every     time.Duration
}

// newRestoreCommand builds `restore`, which writes a data directory's database from the
// replica a server wrote with --replicate. It runs before PocketBase opens (and would
// create) a data directory, like ping and run. getenv gives the AWS_* settings.
func newRestoreCommand(getenv func(string) string) *cobra.Command {
	var o restoreOptions
	c := &cobra.Command{
		Use:   "restore --from URL --dir DIR",
		Short: "Restore a data directory from the replica of --replicate",
		Long: `Restore the database (data.db) of a data directory from the replica a server wrote
with --replicate (file:///path or s3://bucket/path; AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL_S3 as for the server), as of
its newest transaction or of --timestamp. Then start the server on DIR (with the same
--replicate, so replication goes on).

A DIR that holds anything is refused unless --force is given; with --force the restored
database replaces DIR's database files (data.db, its -wal and -shm, Litestream's
.data.db-litestream and auxiliary.db) once it is complete. Stop the server first.

--follow keeps applying the replica's new transactions to DIR's data.db until
interrupted: a read-only copy that follows a running server (open it read-only).

Exit codes: 0 restored, 1 the restore failed, 2 a wrong flag or a DIR not empty.`,
		Example: `  heartbeat-monitor restore --from s3://my-bucket/heartbeat --dir /pb_data
  heartbeat-monitor restore --from file:///backup/heartbeat --dir ./pb_data --timestamp 2026-11-26T17:30:00Z`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return o.run(ctx, cmd, getenv)
		},
	}
	f := c.Flags()
	f.StringVar(&o.from, "from", "", "the replica's URL: file:///path or s3://bucket/path")
	f.StringVar(&o.dir, "dir", "", "the data directory to restore into")
	f.StringVar(&o.timestamp, "timestamp", "", "RFC 3339 instant to restore to (default: the newest state)")
	f.StringVar(&o.endpoint, "replicateEndpoint", "", "S3-compatible endpoint (default AWS_ENDPOINT_URL_S3, else AWS)")
	f.BoolVar(&o.force, "force", false, "replace the database of a DIR that is not empty")
	f.BoolVar(&o.follow, "follow", false, "keep applying new transactions until interrupted (a read-only follower)")
	f.DurationVar(&o.every, "followEvery", time.Second, "how often --follow looks for new transactions")
	return c
}

// restoredFiles are the files of a data directory that a restore replaces.
var restoredFiles = []string{"data.db", "data.db-wal", "data.db-shm", ".data.db-litestream",
	"auxiliary.db", "auxiliary.db-wal", "auxiliary.db-shm"}

func (o *restoreOptions) run(ctx context.Context, cmd *cobra.Command, getenv func(string) string) error {
	if o.from == "" || o.dir == "" {
		return &exitError{code: exitUsage, msg: "--from and --dir are required"}
	}
	var at time.Time
	if o.timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, o.timestamp)
		if err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("--timestamp %q: want RFC 3339, e.g. 2026-11-26T17:30:00Z", o.timestamp)}
		}
		at = t
	}
	if o.follow && (at != (time.Time{}) || o.force) {
		return &exitError{code: exitUsage, msg: "--follow takes neither --timestamp nor --force"}
	}
	entries, err := os.ReadDir(o.dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return &exitError{code: exitFailed, msg: err.Error()}
	case len(entries) > 0 && !o.force:
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s is not empty: pass --force to replace its database", o.dir)}
	}
	if err := os.MkdirAll(o.dir, 0o750); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	if o.follow {
		out := filepath.Join(o.dir, "data.db")
		fmt.Fprintf(cmd.OutOrStdout(), "following %s into %s (Ctrl-C stops)\n", replicate.Redact(o.from), out)
		if err := replicate.Follow(ctx, o.from, o.endpoint, out, o.every, getenv); err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		return nil
	}
	// Restored beside the directory's files first: a failed restore leaves them as they were.
	tmp := filepath.Join(o.dir, fmt.Sprintf(".data.db.restoring-%d", os.Getpid()))
	defer os.Remove(tmp)
	if err := replicate.Restore(ctx, o.from, o.endpoint, tmp, at, getenv); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	for _, name := range restoredFiles {
		if err := os.RemoveAll(filepath.Join(o.dir, name)); err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
	}
	if err := os.Rename(tmp, filepath.Join(o.dir, "data.db")); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "restored %s from %s\n", filepath.Join(o.dir, "data.db"), replicate.Redact(o.from))
	return nil
}
