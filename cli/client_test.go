package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// beatServer records beats and answers with code and body.
type beatServer struct {
	mu     sync.Mutex
	code   int
	body   string
	bodies []map[string]any
}

func (s *beatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		http.Error(w, `{"error":"Invalid JSON body"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, m)
	s.mu.Unlock()
	w.WriteHeader(s.code)
	io.WriteString(w, s.body)
}

func (s *beatServer) last(t *testing.T) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		t.Fatal("no beat was sent")
	}
	return s.bodies[len(s.bodies)-1]
}

// runCLI runs a client command line as the binary would, with env as its environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	root := &cobra.Command{Use: "heartbeat-monitor"}
	root.AddCommand(newPingCommand(lookup), newRunCommand(lookup))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(""))
	code = execute(root, args, &errOut)
	return code, out.String(), errOut.String()
}

const okReply = `{"success":true,"message":"Heartbeat received","timestamp":"2026-01-01T00:00:00.000Z"}`

func TestPing(t *testing.T) {
	srv := &beatServer{code: 200, body: okReply}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	env := map[string]string{"HEARTBEAT_URL": ts.URL, "HEARTBEAT_API_KEY": "k", "HEARTBEAT_SERVICE_ID": "svc",
		"HEARTBEAT_METADATA": `{"team":"ops"}`}

	code, out, errOut := runCLI(t, env, "ping", "--status", "Degraded", "-m", "slow disk", "--meta", "disk=sda")
	if code != 0 || !strings.Contains(out, "ok: Heartbeat received (HTTP 200)") {
		t.Fatalf("ping: got code %d stdout %q stderr %q", code, out, errOut)
	}
	b := srv.last(t)
	meta, _ := b["metadata"].(map[string]any)
	if b["serviceId"] != "svc" || b["status"] != "degraded" || b["message"] != "slow disk" ||
		meta["disk"] != "sda" || meta["team"] != "ops" || meta["hostname"] == nil {
		t.Errorf("beat: got %v", b)
	}

	if code, _, _ := runCLI(t, env, "ping", "--service", "a,b", "--noHostname", "-q"); code != 0 {
		t.Fatalf("batch ping: got code %d", code)
	}
	b = srv.last(t)
	entries, _ := b["services"].([]any)
	if len(entries) != 2 || entries[1].(map[string]any)["serviceId"] != "b" {
		t.Errorf("batch: got %v", b)
	}
	if m, _ := entries[0].(map[string]any)["metadata"].(map[string]any); m["hostname"] != nil {
		t.Errorf("--noHostname: got metadata %v", m)
	}
}

func TestPingExitCodes(t *testing.T) {
	refused := &beatServer{code: 401, body: `{"error":"Invalid API key"}`}
	ts := httptest.NewServer(refused)
	defer ts.Close()
	env := map[string]string{"HEARTBEAT_URL": ts.URL, "HEARTBEAT_API_KEY": "k", "HEARTBEAT_SERVICE_ID": "svc"}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"refused", env, []string{"ping"}, exitFailed, "heartbeat-monitor ping: heartbeat: HTTP 401: Invalid API key\n"},
		{"unreachable", map[string]string{"HEARTBEAT_URL": "http://127.0.0.1:1", "HEARTBEAT_API_KEY": "k", "HEARTBEAT_SERVICE_ID": "s", "HEARTBEAT_RETRIES": "0"},
			[]string{"ping"}, exitFailed, "connection refused"},
		{"missing settings", map[string]string{}, []string{"ping"}, exitUsage, "missing --url ($HEARTBEAT_URL), --service"},
		{"bad status", env, []string{"ping", "--status", "sideways"}, exitUsage, `"sideways" is not up, down or degraded`},
		{"bad flag", env, []string{"ping", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"bad service id", env, []string{"ping", "--service", "no spaces"}, exitUsage, "not a valid serviceId"},
		{"bad timeout env", map[string]string{"HEARTBEAT_TIMEOUT": "soon"}, []string{"ping"}, exitUsage, "HEARTBEAT_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tt.env, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("got code %d stderr %q, want %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
			if strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr: got %q, want one line", errOut)
			}
		})
	}
}

func TestRunCommandEnds(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		limit    time.Duration
		wantCode int
		wantSum  string
	}{
		{"not found", []string{"/nonexistent/job"}, 0, 127, "could not be started"},
		{"timed out", []string{"sleep", "30"}, 200 * time.Millisecond, exitTimedOut, "sleep timed out after"},
		{"killed", []string{"sh", "-c", "kill -KILL $$"}, 0, 128 + 9, "sh was ended by signal 9 (killed) after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			o := runCommand(tt.args, tt.limit, strings.NewReader(""), io.Discard, io.Discard)
			if o.code != tt.wantCode || !strings.Contains(o.summary(), tt.wantSum) || o.status() != "down" {
				t.Errorf("got code %d summary %q status %s, want %d and %q", o.code, o.summary(), o.status(), tt.wantCode, tt.wantSum)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	tb := &tailBuffer{max: 10}
	for i := 0; i < 100; i++ {
		io.WriteString(tb, "0123456789")
	}
	io.WriteString(tb, "END")
	if got := tb.String(); got != "3456789END" {
		t.Errorf("got %q", got)
	}
	if cap(tb.buf) > 64 {
		t.Errorf("buffer grew to %d bytes", cap(tb.buf))
	}
}
