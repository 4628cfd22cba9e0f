package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSyncFlagReachesTheDatabase: --sync is read when the database is opened, which
// PocketBase does before it parses the command line: a value it refuses must stop the
// server at once (a value that never arrived would be ignored and the default used, as
// it was when --sync normal silently ran with full).
func TestSyncFlagReachesTheDatabase(t *testing.T) {
	for _, form := range [][]string{{"--sync", "sometimes"}, {"--sync=sometimes"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		args := append([]string{"serve", "--dir", t.TempDir(), "--http", "127.0.0.1:0"}, form...)
		out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut || !strings.Contains(string(out), "--sync") || !strings.Contains(string(out), "sometimes") {
			t.Errorf("serve %s: err %v, output %q; want it to stop at once naming --sync", strings.Join(form, " "), err, out)
		}
	}
}

// TestReplicateFromEnvironment: HEARTBEAT_REPLICATE turns replication on without the
// flag (a platform's secret, e.g. `fly secrets set`), and /api/health says so.
func TestReplicateFromEnvironment(t *testing.T) {
	t.Setenv("HEARTBEAT_REPLICATE", "file://"+t.TempDir()+"/replica")
	srv, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	var health struct {
		Data struct {
			Replication struct {
				Enabled bool `json:"enabled"`
			} `json:"replication"`
		} `json:"data"`
	}
	if err := srv.api(http.MethodGet, "/api/health", nil, &health); err != nil {
		t.Fatal(err)
	}
	if !health.Data.Replication.Enabled {
		t.Errorf("/api/health with HEARTBEAT_REPLICATE set: %+v, want replication on", health.Data.Replication)
	}
}
