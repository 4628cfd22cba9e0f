package e2e

import (
	"context"
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
