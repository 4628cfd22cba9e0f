package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
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

// runPing is a stored ping of a run, as the API returns it.
type runPing struct {
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	ExitStatus int    `json:"exitStatus"`
	RID        string `json:"rid"`
	Body       string `json:"body"`
	Started    string `json:"started"`
}

// runPings returns the stored pings of a service, newest first.
func runPings(t *testing.T, serviceID string) []runPing {
	t.Helper()
	q := url.Values{"filter": {fmt.Sprintf("service.serviceId = %q", serviceID)}, "sort": {"-created,-id"}, "perPage": {"50"}}
	var page struct {
		Items []runPing `json:"items"`
	}
	if err := shared.api(http.MethodGet, "/api/collections/heartbeats/records?"+q.Encode(), nil, &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// runStatus is the part of a service's /api/status result about its runs.
type runStatus struct {
	ServiceID      string `json:"serviceId"`
	Status         string `json:"status"`
	Running        bool   `json:"running"`
	LastDuration   *int64 `json:"lastDuration"`
	LastExitStatus *int   `json:"lastExitStatus"`
}

// statusOf returns serviceID's result in /api/status.
func statusOf(t *testing.T, serviceID string) runStatus {
	t.Helper()
	var st struct {
		Summary struct {
			Results []runStatus `json:"results"`
		} `json:"summary"`
	}
	if err := shared.api(http.MethodGet, "/api/status", nil, &st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Summary.Results {
		if r.ServiceID == serviceID {
			return r
		}
	}
	t.Fatalf("%s is not in /api/status", serviceID)
	return runStatus{}
}

// TestRunReportsTheCommand: run pings a start before the command and its exit status
// with the same rid after it; the server measures the run and keeps the end of the
// output.
func TestRunReportsTheCommand(t *testing.T) {
	shared.createService(t, "run-job", "key-run-job-0123456789")
	env := []string{"HEARTBEAT_URL=" + shared.URL, "HEARTBEAT_SERVICE_ID=run-job", "HEARTBEAT_API_KEY=key-run-job-0123456789"}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStatus string
		minMs      int64    // the least duration the server may measure
		wantBody   []string // substrings of the stored body
		wantOut    string   // in the run's own stdout (passed through)
	}{
		{name: "a failing command", args: []string{"--", "sh", "-c",
			"for i in $(seq 1 25); do echo step $i; done; sleep 0.3; echo 'disk full' >&2; exit 3"},
			wantCode: 3, wantStatus: "down", minMs: 300,
			// stdout and stderr are read apart, so their order in the body is only that of
			// arrival: the sleep keeps the error line last.
			wantBody: []string{"step 1\n", "\nstep 25\n", "disk full"}, wantOut: "step 1\n"},
		{name: "a succeeding command", args: []string{"--", "sh", "-c", "echo all good"},
			wantCode: 0, wantStatus: "up", wantBody: []string{"all good"}, wantOut: "all good\n"},
		{name: "a command that runs too long", args: []string{"--timeout", "300ms", "--", "sleep", "30"},
			wantCode: 124, wantStatus: "down", minMs: 300, wantBody: []string{"sleep timed out after"}},
		{name: "a command that does not exist", args: []string{"--", "/nonexistent/backup.sh"},
			wantCode: 127, wantStatus: "down", wantBody: []string{"/nonexistent/backup.sh could not be started"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(runPings(t, "run-job"))
			r := runProcess(t, env, binary, append([]string{"run"}, tt.args...)...)
			if r.code != tt.wantCode || r.stderr != "" && strings.Contains(r.stderr, "warning") {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantOut) {
				t.Errorf("stdout: got %q, want it to contain %q", r.stdout, tt.wantOut)
			}
			pings := runPings(t, "run-job")
			if len(pings) != before+2 {
				t.Fatalf("pings: got %d, want %d (a start and an exit status)", len(pings), before+2)
			}
			// A start and its finish can share a millisecond: tell them by their kind.
			finish, start := pings[0], pings[1]
			if finish.Kind == "start" {
				finish, start = start, finish
			}
			if start.Kind != "start" || finish.Kind != "exit" || finish.ExitStatus != tt.wantCode || finish.RID == "" ||
				finish.RID != start.RID || finish.Status != tt.wantStatus || finish.Started == "" {
				t.Errorf("pings: got start %+v finish %+v, want a start and exit %d with one rid", start, finish, tt.wantCode)
			}
			for _, m := range tt.wantBody {
				if !strings.Contains(finish.Body, m) {
					t.Errorf("body: got %q, want it to contain %q", finish.Body, m)
				}
			}
			// The engine decides the change a finish reports within milliseconds of its
			// 200 (its loop, as for any beat): wait for it.
			st := statusWhen(t, "run-job", func(st runStatus) bool { return st.Status == tt.wantStatus })
			if st.Status != tt.wantStatus || st.Running || st.LastExitStatus == nil || *st.LastExitStatus != tt.wantCode ||
				st.LastDuration == nil || *st.LastDuration < tt.minMs || *st.LastDuration > 20000 {
				t.Errorf("/api/status: got %+v (lastDuration %v, lastExitStatus %v), want %s, not running, exit %d, a measured duration",
					st, deref(st.LastDuration), deref(st.LastExitStatus), tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRunForwardsSignals(t *testing.T) {
	shared.createService(t, "run-signal", "key-run-signal-0123456789")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--service", "run-signal", "--",
		"sh", "-c", `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done`)
	cmd.Env = append(cleanEnv(), "HEARTBEAT_URL="+shared.URL, "HEARTBEAT_API_KEY=key-run-signal-0123456789")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("waiting for the command: got %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(lines)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Fatalf("exit code: got %d (%v), want the command's 42; stderr %q", code, err, stderr.String())
	}
	if string(rest) != "got TERM\n" {
		t.Errorf("the command's output after the signal: got %q", rest)
	}
	if p := runPings(t, "run-signal"); len(p) != 2 || p[0].Kind != "exit" || p[0].ExitStatus != 42 || p[0].Body != "ready\ngot TERM" || p[1].Kind != "start" {
		t.Errorf("pings: got %+v, want a start and exit status 42 with the output", p)
	}
}

func TestRunKeepsTheExitCodeWhenThePingFails(t *testing.T) {
	env := []string{"HEARTBEAT_URL=" + shared.URL, "HEARTBEAT_SERVICE_ID=run-unknown", "HEARTBEAT_API_KEY=nope"}
	r := runProcess(t, env, binary, "run", "--", "sh", "-c", "exit 5")
	if r.code != 5 || !strings.Contains(r.stderr, "warning: start not sent: heartbeat: HTTP 404: not found") ||
		!strings.Contains(r.stderr, "warning: heartbeat not sent: heartbeat: HTTP 404: not found") {
		t.Errorf("got exit %d stderr %q, want 5 and a warning", r.code, r.stderr)
	}
	r = runProcess(t, []string{"HEARTBEAT_URL=http://127.0.0.1:1", "HEARTBEAT_SERVICE_ID=x", "HEARTBEAT_API_KEY=k", "HEARTBEAT_RETRIES=0"},
		binary, "run", "--", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: start not sent") || !strings.Contains(r.stderr, "warning: heartbeat not sent") {
		t.Errorf("unreachable server: got exit %d stderr %q, want 0 and a warning", r.code, r.stderr)
	}
}

// TestClientCommandsNeedNoDataDir runs ping from an empty directory with a --dir that
// cannot exist: the client commands must not open or create a data directory.
func TestClientCommandsNeedNoDataDir(t *testing.T) {
	shared.createService(t, "ping-nodir", "key-ping-nodir-0123456789")
	dir := t.TempDir()
	cmd := exec.Command(binary, "ping", "--url", shared.URL, "--service", "ping-nodir", "--key", "key-ping-nodir-0123456789", "--dir", "/nonexistent/dir")
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: Heartbeat received (HTTP 200)") {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("ping left %v in its working directory (%v)", entries, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(binary), "pb_data")); !os.IsNotExist(err) {
		t.Errorf("ping created pb_data beside the binary (%v)", err)
	}
}
