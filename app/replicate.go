package app

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/replicate"
)

// Continuous replication (--replicate): Litestream ships data.db's commits to the
// replica. It starts before the writer and stops after the writer's drain, so the last
// beats the server acknowledged are shipped too. While it runs, Litestream runs the
// checkpoints: the writer is one that never checkpoints and the checkpointer stays off
// (see ingest.NewWriterWithoutCheckpoints). auxiliary.db (PocketBase's request logs) is
// not replicated.

// startReplication starts replicating when --replicate is set.
func (s *server) startReplication() error {
	if s.cfg.Replicate == "" {
		return nil
	}
	path := filepath.Join(s.app.DataDir(), "data.db")
	r, err := replicate.Start(context.Background(), path, replicate.Options{URL: s.cfg.Replicate,
		Endpoint: s.cfg.ReplicateEndpoint, Logger: s.app.Logger()}, os.Getenv)
	if err != nil {
		return fmt.Errorf("app: --replicate: %w", err)
	}
	s.repl = r
	s.api.Replication = func(now time.Time) (api.ReplicationReport, bool) {
		st := r.Status(now)
		return api.ReplicationReport{Target: st.Target, ReplicatedThrough: st.ReplicatedThrough, Lag: st.Lag,
			LocalTXID: st.LocalTXID, ReplicaTXID: st.ReplicaTXID, Failures: st.Failures,
			LastError: st.LastError, LastErrorAt: st.LastErrorAt}, true
	}
	s.api.Health.Add("replication", func() any { return s.api.ReplicationPublic(s.now()) })
	s.app.Logger().Info("replicating data.db", "replica", replicate.Redact(s.cfg.Replicate))
	return nil
}

// newWriter is the heartbeat writer: one that leaves the checkpoints to Litestream
// while replicating.
func (s *server) newWriter(db *sql.DB) (*ingest.Writer, error) {
	onError := func(err error) { s.app.Logger().Error("heartbeat writer", "error", err) }
	if s.repl != nil {
		return ingest.NewWriterWithoutCheckpoints(db, s.cfg.QueueSize, onError)
	}
	return ingest.NewWriter(db, s.cfg.QueueSize, onError)
}

// startCheckpointer starts the writer's checkpointer, unless Litestream runs the
// checkpoints.
func (s *server) startCheckpointer(readers *sql.DB) (stop func()) {
	if s.repl != nil {
		return nil
	}
	return s.writer.StartCheckpointer(readers, 250*time.Millisecond)
}

// stopReplication ships what is left and stops, once the writer has drained.
func (s *server) stopReplication() {
	if s.repl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.repl.Close(ctx); err != nil {
		s.app.Logger().Error("replication: last round", "error", err)
	}
	s.repl = nil
}
