package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// drillReplicationBound is the bound: a beat acknowledged more than this before
// the machine is lost is in the replica (the server ships every 250 ms).
const drillReplicationBound = time.Second

// TestRestoreDrillFile runs the restore drill against a replica in a directory.
func TestRestoreDrillFile(t *testing.T) {
	restoreDrill(t, "file://"+filepath.Join(t.TempDir(), "replica"), nil)
}

// TestRestoreDrillS3 runs the restore drill against an S3-compatible server (gofakes3,
// in this process, on loopback), with the credentials and endpoint in the AWS_*
// variables, as `fly storage create` sets them.
func TestRestoreDrillS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("drill"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	env := map[string]string{"AWS_ACCESS_KEY_ID": "drill-key", "AWS_SECRET_ACCESS_KEY": "drill-secret",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3srv.URL,
		// Litestream's S3 client brings its own HTTP client, to which the AWS SDK cannot
		// add a CA bundle: a machine's AWS_CA_BUNDLE would stop it (loopback is plain HTTP).
		"AWS_CA_BUNDLE": ""}
	for k, v := range env {
		t.Setenv(k, v) // the servers the drill starts inherit the test's environment
	}
	restoreDrill(t, "s3://drill/heartbeat", nil)
}

// drillHook is the loopback webhook receiver of the drill: every event, as received.
type drillHook struct {
	*httptest.Server
	got chan string // "event incidentId"
}

func newDrillHook(t *testing.T) *drillHook {
	h := &drillHook{got: make(chan string, 64)}
	h.Server = newEventHook(t, func(event, incident string) { h.got <- event + " " + incident })
	return h
}

func (h *drillHook) next(t *testing.T, within time.Duration) (event, incident string) {
	t.Helper()
	select {
	case g := <-h.got:
		event, incident, _ = strings.Cut(g, " ")
		return event, incident
	case <-time.After(within):
		t.Fatalf("no notification within %v", within)
	}
	return "", ""
}

// restoreDrill: a server replicating to replicaURL takes beats under load and has an
// open incident (its down alert delivered); it is killed with SIGKILL, its data
// directory deleted, the directory restored from the replica with `restore`, and the
// server started on it. Every beat acknowledged more than drillReplicationBound before
// the kill is there; the services, keys, users and channels are back; the open incident
// goes on: no second down alert, and the recovery arrives for the same incident.
func restoreDrill(t *testing.T, replicaURL string, env []string) {
	dir := filepath.Join(t.TempDir(), "data")
	flags := []string{"--replicate", replicaURL, "--rateLimit", "0", "--keepHeartbeats", "0"}
	srv, err := startServer(dir, flags...)
	if err != nil {
		log, _ := os.ReadFile(dir + ".log")
		t.Fatalf("%v\n%s", err, log)
	}
	killed := false
	defer func() {
		if !killed {
			srv.cmd.Process.Kill()
		}
	}()

	// What must come back: services, a key, a user, a channel, and an open incident.
	const services = 8
	for i := 0; i < services; i++ {
		srv.createService(t, fmt.Sprintf("drill-%d", i), fmt.Sprintf("drill-key-0123456789-%d", i))
	}
	var down serviceRecord
	if err := srv.api(http.MethodPost, "/api/collections/services/records", map[string]any{
		"serviceId": "drill-down", "apiKey": "drill-down-key-0123456789", "interval": 1, "stalenessThreshold": 2,
	}, &down); err != nil {
		t.Fatal(err)
	}
	srv.createKey(t, "drill-group-key", "drill-group-key-0123456789", down.ID)
	if err := srv.api(http.MethodPost, "/api/collections/users/records", map[string]any{
		"email": "drill@example.com", "password": "drill-password-1234", "passwordConfirm": "drill-password-1234",
	}, nil); err != nil {
		t.Fatal(err)
	}
	hook := newDrillHook(t)
	if err := srv.api(http.MethodPost, "/api/collections/channels/records", map[string]any{
		"name": "drill-webhook", "type": "webhook", "events": []string{"down", "up"}, "services": []string{down.ID},
		"secrets": map[string]any{"url": hook.URL},
	}, nil); err != nil {
		t.Fatal(err)
	}
	alertsBeat(t, srv, "drill-down", "drill-down-key-0123456789")
	event, incident := hook.next(t, 15*time.Second)
	if event != "down" || incident == "" {
		t.Fatalf("got %q for incident %q, want a down alert", event, incident)
	}

	// Beats under load, each acknowledgement timed.
	var acked sync.Map // message -> time acknowledged
	var nAcked atomic.Int64
	stopLoad := beatLoad{Workers: 8, Services: services, ServiceID: "drill-%d", Key: "drill-key-0123456789-%d",
		Prefix: "d", Conns: 16, Timeout: 5 * time.Second,
		// 800 beats a second: what 100,000 services beating every 2 minutes send. Flat out
		// on a shared 2-core machine the server and this load starve the replication of
		// CPU, and its lag can pass the 1 s the drill holds it to (seen once: 1.06 s).
		Every: 10 * time.Millisecond,
		Reply: func(msg string, _ int, ok bool) {
			if ok {
				acked.Store(msg, time.Now())
				nAcked.Add(1)
			}
		}}.start(srv.URL)
	time.Sleep(2500 * time.Millisecond) // beats for a while, through several replication rounds
	kill := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	<-srv.exited
	stopLoad()

	// The machine is lost: its data directory with it.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := hm(env, "restore", "--from", replicaURL, "--dir", dir); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("restored in %v", time.Since(start).Round(time.Millisecond))

	db := openDB(t, filepath.Join(dir, "data.db"))
	stored := storedMessages(t, db, "d")
	var due, lost, late int
	var window time.Duration // the oldest missing acknowledgement, before the kill
	acked.Range(func(k, v any) bool {
		before := kill.Sub(v.(time.Time))
		if !stored[k.(string)] {
			window = max(window, before)
		}
		switch {
		case before > drillReplicationBound:
			due++
			if !stored[k.(string)] {
				lost++
			}
		case !stored[k.(string)]:
			late++
		}
		return true
	})
	t.Logf("acknowledged %d beats, %d of them more than %v before the kill; restored %d; lost %d of those due, %d of the last second missing (the oldest acknowledged %v before the kill)",
		nAcked.Load(), due, drillReplicationBound, len(stored), lost, late, window.Round(time.Millisecond))
	if due == 0 {
		t.Fatal("no beat was acknowledged long enough before the kill: the load did not run")
	}
	if lost > 0 {
		t.Errorf("%d beats acknowledged more than %v before the kill are not in the restored database", lost, drillReplicationBound)
	}
	for what, q := range map[string]string{
		"services": "SELECT COUNT(*) FROM services WHERE serviceId LIKE 'drill-%'",
		"keys":     "SELECT COUNT(*) FROM api_keys WHERE name = 'drill-group-key'",
		"users":    "SELECT COUNT(*) FROM users WHERE email = 'drill@example.com'",
		"channels": "SELECT COUNT(*) FROM channels WHERE name = 'drill-webhook'",
	} {
		want := 1
		if what == "services" {
			want = services + 1
		}
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s after the restore: %d, want %d", what, n, want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Started on the restored directory, replicating again: the open incident goes on.
	srv, err = startServer(dir, flags...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.stop(); err != nil {
			t.Error(err)
		}
	}()
	select {
	case g := <-hook.got:
		t.Errorf("after the restore: got %q, want no second alert for the open incident", g)
	case <-time.After(2 * time.Second):
	}
	alertsBeat(t, srv, "drill-down", "drill-down-key-0123456789")
	if event, got := hook.next(t, 10*time.Second); event != "up" || got != incident {
		t.Errorf("after the restore: got %q for incident %q, want the recovery of %q", event, got, incident)
	}
	var health struct {
		Data struct {
			Replication struct {
				Enabled bool `json:"enabled"`
				OK      bool `json:"ok"`
			} `json:"replication"`
		} `json:"data"`
	}
	if err := srv.api(http.MethodGet, "/api/health", nil, &health); err != nil {
		t.Fatal(err)
	}
	if !health.Data.Replication.Enabled {
		t.Errorf("/api/health after the restore: %+v, want replication on", health.Data.Replication)
	}
}

// TestFollowerLag is docs/scaling.md's experiment: a server replicates to a directory,
// a second process (`restore --follow`) keeps a read-only copy of its database current
// from that replica, and each beat is timed from its acknowledgement to its arrival in
// the copy. It prints the lag it measured.
func TestFollowerLag(t *testing.T) {
	replica := "file://" + filepath.Join(t.TempDir(), "replica")
	srv, err := startServer(filepath.Join(t.TempDir(), "data"), "--replicate", replica, "--rateLimit", "0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	srv.createService(t, "follow-1", "follow-key-0123456789")
	alertsBeat(t, srv, "follow-1", "follow-key-0123456789")
	time.Sleep(time.Second) // the first round: a snapshot for the follower to start from

	followDir := filepath.Join(t.TempDir(), "follower")
	follower := exec.Command(binary, "restore", "--follow", "--followEvery", "100ms", "--from", replica, "--dir", followDir)
	var out strings.Builder
	follower.Stdout, follower.Stderr = &out, &out
	if err := follower.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		follower.Process.Signal(syscall.SIGTERM)
		follower.Wait()
	}()
	path := filepath.Join(followDir, "data.db")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no follower database after 15 s: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A connection per look: Litestream writes the pages into the file under SQLite, and a
	// connection kept open would go on reading its own cache.
	db.SetMaxIdleConns(0)

	var lags []time.Duration
	for i := 0; i < 10; i++ {
		msg := fmt.Sprintf("follow-%d", i)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/heartbeat",
			strings.NewReader(`{"serviceId":"follow-1","message":"`+msg+`"}`))
		req.Header.Set("Authorization", "Bearer follow-key-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		acked := time.Now()
		for {
			var n int
			err := db.QueryRow("SELECT COUNT(*) FROM heartbeats WHERE message = ?", msg).Scan(&n)
			if err == nil && n == 1 {
				break
			}
			if time.Since(acked) > 10*time.Second {
				t.Fatalf("beat %s not in the follower after 10 s (last look: %v; follower: %s)", msg, err, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		lags = append(lags, time.Since(acked))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("follower lag over %d beats (acknowledged -> readable in the follower): min %v, median %v, max %v",
		len(lags), lags[0].Round(time.Millisecond), lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	if lags[len(lags)-1] > 3*time.Second {
		t.Errorf("follower lag up to %v, want under 3 s (ship every 250 ms, follow every 100 ms)", lags[len(lags)-1])
	}
}
