package e2e

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watchUUID is a random version-4 UUID, the shape of a pingId.
func watchUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// watchStatus is a service's status on s, from GET /api/status.
func watchStatus(t *testing.T, s *server, serviceID string) string {
	t.Helper()
	return statuses(t, s)[serviceID]
}

// TestWatchTheWatcher runs the README's "Watch the watcher" setup: two servers, each
// with a service for the other, each pinging the other's ping URL of that service every
// second with --selfPing. Both services come up; then one server is killed (SIGKILL, as
// a lost machine) and the other alerts on its webhook that the killed one is down. The
// survivor's log never shows its ping URL's secret.
func TestWatchTheWatcher(t *testing.T) {
	const threshold = 3 // seconds without a ping before the other server is down
	addrA, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	addrB, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	pingA, pingB := watchUUID(t), watchUUID(t) // A pings B's service "watch-a" with pingA; B pings A's "watch-b" with pingB
	tmp := t.TempDir()
	a, err := startServerAt(filepath.Join(tmp, "a"), addrA, "--selfPing", "http://"+addrB+"/ping/"+pingA, "--selfPingEvery", "1s")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.stop(); err != nil {
			t.Error(err)
		}
	}()
	b, err := startServerAt(filepath.Join(tmp, "b"), addrB, "--selfPing", "http://"+addrA+"/ping/"+pingB, "--selfPingEvery", "1s")
	if err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			if err := b.stop(); err != nil {
				t.Error(err)
			}
		}
	}()

	hook := newAlertsHook(t)
	for _, w := range []struct {
		on        *server
		serviceID string
		pingID    string
	}{{a, "watch-b", pingB}, {b, "watch-a", pingA}} {
		var svc serviceRecord
		if err := w.on.api(http.MethodPost, "/api/collections/services/records", map[string]any{
			"serviceId": w.serviceID, "pingId": w.pingID, "interval": 1, "stalenessThreshold": threshold,
		}, &svc); err != nil {
			t.Fatal(err)
		}
		if err := w.on.api(http.MethodPost, "/api/collections/channels/records", map[string]any{
			"name": "watch-webhook", "type": "webhook", "events": []string{"down", "up"}, "services": []string{svc.ID},
			"secrets": map[string]any{"url": hook.URL},
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for watchStatus(t, a, "watch-b") != "up" || watchStatus(t, b, "watch-a") != "up" {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: watch-b on A is %q, watch-a on B is %q; want both up from the other's self-pings",
				watchStatus(t, a, "watch-b"), watchStatus(t, b, "watch-a"))
		}
		time.Sleep(200 * time.Millisecond) // the pings come from the other process, every second
	}
	select {
	case d := <-hook.got:
		t.Fatalf("got %q (%s) while both servers run, want nothing", d.event, d.title)
	default:
	}

	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	<-b.exited
	diedAt := time.Now()
	down := hook.next(t, threshold*time.Second+alertsDetectionTarget+5*time.Second)
	if down.event != "down" || !strings.Contains(down.title, "watch-b") {
		t.Fatalf("got %q (%s), want A's down alert for watch-b", down.event, down.title)
	}
	t.Logf("A alerted that B is down %v after B was killed (threshold %d s, self-ping every 1 s)", down.at.Sub(diedAt).Round(time.Millisecond), threshold)

	log, err := os.ReadFile(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), pingA) {
		t.Errorf("A's log shows its ping URL's secret: %s", tail(log, 2048))
	}
	if !strings.Contains(string(log), "self-ping on") {
		t.Errorf("A's log does not say the self-ping is on: %s", tail(log, 2048))
	}
}
