package replicate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/litestream"
)

// ErrNoReplica is Restore's answer when the replica holds nothing to restore.
var ErrNoReplica = errors.New("replicate: the replica holds no database")

// Restore writes the replica's database, as it was at timestamp (zero: its newest
// state), to outputPath, which must not exist. The result passes SQLite's quick
// integrity check.
func Restore(ctx context.Context, rawURL, endpoint, outputPath string, timestamp time.Time, getenv func(string) string) error {
	replica, opt, err := restoring(ctx, rawURL, endpoint, outputPath, getenv)
	if err != nil {
		return err
	}
	opt.Timestamp = timestamp
	opt.IntegrityCheck = litestream.IntegrityCheckQuick
	if err := replica.Restore(ctx, opt); err != nil {
		if errors.Is(err, litestream.ErrTxNotAvailable) || errors.Is(err, litestream.ErrNoSnapshots) {
			return fmt.Errorf("%w (%s): %w", ErrNoReplica, Redact(rawURL), err)
		}
		return fmt.Errorf("replicate: restore: %w", err)
	}
	return nil
}

// Follow restores the replica's newest state to outputPath, which must not exist, and
// keeps applying its new transactions every interval until ctx ends: a read-only
// follower of a running server. Readers of outputPath must open it read-only.
func Follow(ctx context.Context, rawURL, endpoint, outputPath string, interval time.Duration, getenv func(string) string) error {
	replica, opt, err := restoring(ctx, rawURL, endpoint, outputPath, getenv)
	if err != nil {
		return err
	}
	opt.Follow = true
	if interval > 0 {
		opt.FollowInterval = interval
	}
	err = replica.Restore(ctx, opt)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("replicate: follow: %w", err)
	}
	return nil
}

// restoring is the replica of rawURL, its client ready, and restore options that write
// to outputPath.
func restoring(ctx context.Context, rawURL, endpoint, outputPath string, getenv func(string) string) (*litestream.Replica, litestream.RestoreOptions, error) {
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = outputPath
	client, err := NewClient(rawURL, endpoint, getenv)
	if err != nil {
		return nil, opt, err
	}
	if err := client.Init(ctx); err != nil {
		return nil, opt, fmt.Errorf("replicate: restore: %w", err)
	}
	return litestream.NewReplicaWithClient(nil, client), opt, nil
}
