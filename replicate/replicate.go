// Package replicate copies the database continuously to a replica with Litestream
// (github.com/benbjohnson/litestream, embedded as a library), to a directory or to
// S3-compatible storage, and restores a database from one.
//
// Litestream keeps a read transaction open on the database so that SQLite cannot start
// the write-ahead log over before it has copied every frame, and runs the checkpoints
// itself (a passive one past MinCheckpointPages, a truncating one past TruncatePages):
// the server's own checkpoints must be off while it replicates (ingest's
// NewWriterWithoutCheckpoints).
package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

// DefaultInterval is how often new commits are shipped: the log is copied into
// Litestream's transaction files and those are uploaded, one after the other, each
// interval, so a commit reaches the replica within about twice this (well under a
// second) unless the replica is slow or down.
const DefaultInterval = 250 * time.Millisecond

// Checkpoint thresholds in pages (4 KiB each, SQLite's default): a passive checkpoint
// once the log holds about 4 MB, a truncating one past 16 MB, the size at which the
// writer truncates the log itself when nothing replicates.
const (
	MinCheckpointPages = 1000
	TruncatePages      = 4096
)

// maxBackoff bounds the wait between attempts while the replica fails.
const maxBackoff = 30 * time.Second

// Options configure a Replicator.
type Options struct {
	URL      string        // file:///path or s3://bucket/path
	Endpoint string        // S3-compatible endpoint (MinIO, Tigris, R2); "" for AWS or the environment's
	Interval time.Duration // how often new commits are shipped; 0 means DefaultInterval
	Logger   *slog.Logger  // nil means slog.Default()
}

// NewClient builds the replica client for rawURL: file:///path (or a plain absolute
// path) or s3://bucket/path. endpoint, if set, is the S3-compatible server's URL;
// otherwise getenv's AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (what `fly storage create`
// sets), if any. Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the
// region from AWS_REGION.
func NewClient(rawURL, endpoint string, getenv func(string) string) (litestream.ReplicaClient, error) {
	if strings.HasPrefix(rawURL, "/") {
		rawURL = "file://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("replicate: replica URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" || u.Host != "" {
			return nil, fmt.Errorf("replicate: replica URL %q: want file:///absolute/path", Redact(rawURL))
		}
		return file.NewReplicaClient(u.Path), nil
	case "s3":
		if u.Host == "" {
			return nil, fmt.Errorf("replicate: replica URL %q: want s3://bucket/path", Redact(rawURL))
		}
		q := u.Query()
		if endpoint == "" {
			endpoint = firstSet(getenv, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
		}
		if endpoint != "" && q.Get("endpoint") == "" {
			q.Set("endpoint", endpoint)
		}
		if region := firstSet(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"); region != "" && q.Get("region") == "" {
			q.Set("region", region)
		}
		u.RawQuery = q.Encode()
		c, err := s3.NewReplicaClientFromURL("s3", u.Host, strings.TrimPrefix(u.Path, "/"), q, u.User)
		if err != nil {
			return nil, fmt.Errorf("replicate: %w", err)
		}
		sc, ok := c.(*s3.ReplicaClient)
		if !ok {
			return nil, fmt.Errorf("replicate: unexpected s3 client %T", c)
		}
		// The client reads the AWS_* keys itself; these are the same, read through
		// getenv, so that tests and callers that pass their own environment are obeyed.
		if v := getenv("AWS_ACCESS_KEY_ID"); v != "" {
			sc.AccessKeyID = v
		}
		if v := getenv("AWS_SECRET_ACCESS_KEY"); v != "" {
			sc.SecretAccessKey = v
		}
		return sc, nil
	case "":
		return nil, fmt.Errorf("replicate: replica URL %q: want file:///path or s3://bucket/path", Redact(rawURL))
	default:
		return nil, fmt.Errorf("replicate: replica URL scheme %q: want file or s3", u.Scheme)
	}
}

func firstSet(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// Redact is rawURL without user information or query (which may hold credentials), for
// logs and status replies.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Status is what a Replicator reports: how far behind the replica may be and the last
// failure.
type Status struct {
	Target string // the replica's URL, redacted
	// ReplicatedThrough: every transaction committed before it is in the replica. Zero
	// until the first successful round.
	ReplicatedThrough time.Time
	Lag               time.Duration // now - ReplicatedThrough (since start while none)
	LocalTXID         uint64        // the newest transaction Litestream has copied from the log
	ReplicaTXID       uint64        // the newest transaction in the replica
	LastError         string        // the last round's failure; "" once a round succeeds
	LastErrorAt       time.Time
	Failures          int // rounds failed in a row
}

// Replicator ships the commits of one SQLite database to its replica.
type Replicator struct {
	db       *litestream.DB
	store    *litestream.Store
	target   string
	interval time.Duration
	logger   *slog.Logger
	started  time.Time

	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	st Status
}

// Start begins replicating the database at dbPath (which must exist, in WAL mode) as
// o says. The first round (a full snapshot when the replica is new) runs in the
// background.
func Start(ctx context.Context, dbPath string, o Options, getenv func(string) string) (*Replicator, error) {
	client, err := NewClient(o.URL, o.Endpoint, getenv)
	if err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	interval := o.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	db := litestream.NewDB(dbPath)
	db.SetLogger(logger.With("component", "litestream"))
	db.MonitorInterval = 0 // the rounds below drive it, to know when each one succeeded
	db.MinCheckpointPageN = MinCheckpointPages
	db.TruncatePageN = TruncatePages
	db.ShutdownSyncTimeout = 5 * time.Second
	r := litestream.NewReplicaWithClient(db, client)
	r.MonitorEnabled = false
	db.Replica = r
	if fc, ok := client.(*file.ReplicaClient); ok {
		fc.Replica = r
	}
	store := litestream.NewStore([]*litestream.DB{db}, litestream.DefaultCompactionLevels)
	if err := store.Open(ctx); err != nil {
		return nil, fmt.Errorf("replicate: open: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	rep := &Replicator{db: db, store: store, target: Redact(o.URL), interval: interval, logger: logger,
		started: time.Now(), cancel: cancel, done: make(chan struct{})}
	rep.st.Target = rep.target
	go rep.run(rctx)
	return rep, nil
}

func (r *Replicator) run(ctx context.Context) {
	defer close(r.done)
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := r.Round(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			wait = r.interval
			continue
		}
		// Back off while the replica fails, up to maxBackoff, so a replica that is down
		// is not asked four times a second.
		wait = min(max(2*wait, r.interval), maxBackoff)
	}
}

// Round copies what was committed since the last round into Litestream's files and
// uploads them; the loop calls it every interval, and Close once more.
func (r *Replicator) Round(ctx context.Context) error {
	began := time.Now()
	err := r.db.Sync(ctx)
	if err == nil {
		err = r.db.Replica.Sync(ctx)
	}
	r.record(began, err)
	if err != nil {
		return fmt.Errorf("replicate: round: %w", err)
	}
	return nil
}

func (r *Replicator) record(began time.Time, err error) {
	local, perr := r.db.Pos()
	r.mu.Lock()
	defer r.mu.Unlock()
	if perr == nil {
		r.st.LocalTXID = uint64(local.TXID)
	}
	r.st.ReplicaTXID = uint64(r.db.Replica.Pos().TXID)
	if err != nil {
		if r.st.Failures == 0 || err.Error() != r.st.LastError || time.Since(r.st.LastErrorAt) > time.Minute {
			r.logger.Error("replication failed", "replica", r.target, "error", err)
		}
		r.st.LastError, r.st.LastErrorAt = err.Error(), time.Now()
		r.st.Failures++
		return
	}
	if r.st.Failures > 0 {
		r.logger.Info("replication recovered", "replica", r.target, "failedRounds", r.st.Failures)
	}
	r.st.Failures, r.st.LastError = 0, ""
	r.st.ReplicatedThrough = began
}

// Status reports the replication's state at now.
func (r *Replicator) Status(now time.Time) Status {
	r.mu.Lock()
	st := r.st
	r.mu.Unlock()
	since := st.ReplicatedThrough
	if since.IsZero() {
		since = r.started
	}
	st.Lag = max(now.Sub(since), 0)
	return st
}

// Close stops the rounds, ships what is left (the server's last commits) and lets the
// log go. Call it once the server's writer has drained, before the database closes:
// Litestream's file descriptors on the database go with it, and closing them drops the
// process's POSIX locks on that file.
func (r *Replicator) Close(ctx context.Context) error {
	r.cancel()
	<-r.done
	errRound := r.Round(ctx)
	if err := r.store.Close(ctx); err != nil {
		return errors.Join(errRound, fmt.Errorf("replicate: close: %w", err))
	}
	return errRound
}
