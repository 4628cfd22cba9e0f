// Package e2e tests the built binary from the outside, as users run it: the server on
// loopback, the client scripts in clients/, and the ping, run and import commands.
// TestMain builds the binary once (CGO_ENABLED=0, as the Dockerfile does) and starts one
// server that the tests share; each test uses its own services.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	adminEmail    = "e2e@example.com"
	adminPassword = "e2e-password-1234"
)

var (
	binary   string  // the built heartbeat-monitor
	repoRoot string  // where clients/ and the fixtures are
	shared   *server // the server most tests talk to
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "heartbeat-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if repoRoot, err = filepath.Abs(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binary = filepath.Join(tmp, "heartbeat-monitor")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build with CGO_ENABLED=0: %v\n%s", err, out)
		return 1
	}
	shared, err = startServer(filepath.Join(tmp, "data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	if err := shared.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: server did not stop cleanly:", err)
		code = max(code, 1)
	}
	if code != 0 {
		if log, err := os.ReadFile(shared.logPath); err == nil {
			fmt.Fprintf(os.Stderr, "--- server log (last 4 KiB) ---\n%s\n", tail(log, 4096))
		}
	}
	return code
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// server is a heartbeat-monitor serving a data dir on a loopback port.
type server struct {
	URL     string
	dir     string
	token   string // a superuser auth token
	logPath string
	cmd     *exec.Cmd
	exited  chan error
}

// startServer creates the superuser in dir, serves it, and logs in; extra are more
// flags of serve.
func startServer(dir string, extra ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startServerAt(dir, addr, extra...)
}

// freeAddr is a loopback address no one listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// startServerAt is startServer on addr (servers that must know each other's address
// before they start).
func startServerAt(dir, addr string, extra ...string) (*server, error) {
	if out, err := hm(nil, "superuser", "upsert", adminEmail, adminPassword, "--dir", dir, "--dev=false"); err != nil {
		return nil, fmt.Errorf("superuser upsert: %v\n%s", err, out)
	}
	s := &server{URL: "http://" + addr, dir: dir, logPath: dir + ".log", exited: make(chan error, 1)}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(binary, append([]string{"serve", "--http", addr, "--dir", dir, "--dev=false"}, extra...)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- s.cmd.Wait(); logFile.Close() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("server exited: %v (log: %s)", err, s.logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("server not healthy after 60s (log: %s)", s.logPath)
		}
	}
	var auth struct {
		Token string `json:"token"`
	}
	if err := s.api(http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": adminEmail, "password": adminPassword}, &auth); err != nil {
		return nil, err
	}
	s.token = auth.Token
	return s, nil
}

// stop ends the server with SIGTERM, as systemd and Docker do.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-s.exited:
		return err
	case <-time.After(30 * time.Second):
		return s.cmd.Process.Kill()
	}
}

// api calls the PocketBase REST API as the superuser and decodes the reply into out.
func (s *server) api(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// serviceRecord is the part of a services record the tests read.
type serviceRecord struct {
	ID                 string `json:"id"`
	ServiceID          string `json:"serviceId"`
	Name               string `json:"name"`
	Group              string `json:"group"`
	StalenessThreshold int    `json:"stalenessThreshold"`
	Paused             bool   `json:"paused"`
}

// createService creates a service whose key is key and returns its record id.
func (s *server) createService(t *testing.T, serviceID, key string) string {
	t.Helper()
	var rec serviceRecord
	if err := s.api(http.MethodPost, "/api/collections/services/records",
		map[string]any{"serviceId": serviceID, "apiKey": key}, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// createKey creates an api_keys record with the heartbeat scope covering recordIDs.
func (s *server) createKey(t *testing.T, name, key string, recordIDs ...string) {
	t.Helper()
	if err := s.api(http.MethodPost, "/api/collections/api_keys/records",
		map[string]any{"name": name, "key": key, "services": recordIDs, "scopes": []string{"heartbeat"}}, nil); err != nil {
		t.Fatal(err)
	}
}

// beat is a stored heartbeat as the API returns it.
type beat struct {
	Status   string         `json:"status"`
	Message  string         `json:"message"`
	Metadata map[string]any `json:"metadata"`
}

// beats returns the stored beats of a service, newest first.
func (s *server) beats(t *testing.T, serviceID string) []beat {
	t.Helper()
	q := url.Values{
		"filter":  {fmt.Sprintf("service.serviceId = %q", serviceID)},
		"sort":    {"-created"},
		"perPage": {"50"},
	}
	var page struct {
		Items []beat `json:"items"`
	}
	if err := s.api(http.MethodGet, "/api/collections/heartbeats/records?"+q.Encode(), nil, &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// lastBeat returns the newest beat of a service and fails when there is none.
func (s *server) lastBeat(t *testing.T, serviceID string) beat {
	t.Helper()
	b := s.beats(t, serviceID)
	if len(b) == 0 {
		t.Fatalf("no beat stored for %s", serviceID)
	}
	return b[0]
}

// hm runs the binary and returns its combined output.
func hm(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// result is how a client process ended.
type result struct {
	code           int
	stdout, stderr string
}

// runProcess runs name with args and env (added to a clean HEARTBEAT_*-free environment).
func runProcess(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		res.code = ee.ExitCode()
	}
	return res
}

// cleanEnv is the test's environment without HEARTBEAT_* variables of the machine.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTBEAT_") {
			env = append(env, kv)
		}
	}
	return env
}
