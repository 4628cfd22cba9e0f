package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pingRequest is one request the ping server received.
type pingRequest struct {
	method, path, rid, timeout, contentType, auth string
	body                                          string
}

// pingServer records ping requests and answers "OK" as the server's ping routes do, or
// 503 to a path that starts with fail.
type pingServer struct {
	mu   sync.Mutex
	reqs []pingRequest
	fail string
	// onStart runs when a start arrives, before the reply: it checks what the command
	// had done by then.
	onStart func()
}

func (s *pingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	s.reqs = append(s.reqs, pingRequest{method: r.Method, path: r.URL.EscapedPath(), rid: q.Get("rid"),
		timeout: q.Get("timeout"), contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), body: string(raw)})
	onStart := s.onStart
	s.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/start") && onStart != nil {
		onStart()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.fail != "" && strings.HasPrefix(r.URL.Path, s.fail) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "Server busy, retry later")
		return
	}
	io.WriteString(w, "OK")
}

func (s *pingServer) requests() []pingRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pingRequest(nil), s.reqs...)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRunPingsStartAndExit: run sends /start with a fresh rid before the command and
// the exit status with the same rid after it, the end of the output as the body.
func TestRunPingsStartAndExit(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantBody []string // substrings of the finish's body
		notBody  []string
		wantTO   string // the start's timeout query
		wantOut  string // passed through to run's stdout
	}{
		{name: "success", args: []string{"--", "sh", "-c", "touch " + marker + "; echo all good"},
			wantCode: 0, wantBody: []string{"all good"}, wantOut: "all good\n"},
		{name: "failure", args: []string{"--", "sh", "-c", "touch " + marker + "; for i in $(seq 1 30); do echo line$i; done; exit 3"},
			wantCode: 3, wantBody: []string{"line1\n", "line30"}, wantOut: "line30\n"},
		{name: "timeout", args: []string{"--timeout", "300ms", "--", "sh", "-c", "touch " + marker + "; echo started; exec sleep 30"},
			wantCode: exitTimedOut, wantBody: []string{"started\n", "timed out after"}, wantTO: "21s"},
		{name: "not found", args: []string{"--", "/nonexistent/job"},
			wantCode: 127, wantBody: []string{"/nonexistent/job could not be started"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.RemoveAll(marker); err != nil {
				t.Fatal(err)
			}
			srv := &pingServer{}
			startedBefore := true
			srv.onStart = func() {
				if _, err := os.Stat(marker); err == nil {
					startedBefore = false
				}
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			env := map[string]string{"HEARTBEAT_URL": ts.URL, "HEARTBEAT_API_KEY": "k/ey 1", "HEARTBEAT_SERVICE_ID": "job.nightly"}
			code, out, errOut := runCLI(t, env, append([]string{"run"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout: got %q, want the command's output %q passed through", out, tt.wantOut)
			}
			if strings.Contains(errOut, "warning") {
				t.Errorf("stderr: got %q, want no warning", errOut)
			}
			reqs := srv.requests()
			if len(reqs) != 2 {
				t.Fatalf("requests: got %+v, want a start and a finish", reqs)
			}
			start, finish := reqs[0], reqs[1]
			if start.method != http.MethodPost || start.path != "/ping/k%2Fey%201/job.nightly/start" || !uuidV4.MatchString(start.rid) ||
				start.timeout != tt.wantTO || start.auth != "" {
				t.Errorf("start: got %+v, want POST /ping/k%%2Fey%%201/job.nightly/start with a v4 UUID rid and timeout %q", start, tt.wantTO)
			}
			if !startedBefore {
				t.Error("the start arrived after the command had begun")
			}
			wantPath := "/ping/k%2Fey%201/job.nightly/" + strconv.Itoa(tt.wantCode)
			if finish.method != http.MethodPost || finish.path != wantPath || finish.rid != start.rid ||
				!strings.HasPrefix(finish.contentType, "text/plain") {
				t.Errorf("finish: got %+v, want POST %s with the start's rid %s", finish, wantPath, start.rid)
			}
			for _, s := range tt.wantBody {
				if !strings.Contains(finish.body, s) {
					t.Errorf("finish body: got %q, want it to contain %q", finish.body, s)
				}
			}
		})
	}
}

// TestRunPingBodyKeepsTheEnd: a long output is cut to the server's body limit from the
// front, at a line boundary, so the last lines always arrive whole.
func TestRunPingBodyKeepsTheEnd(t *testing.T) {
	srv := &pingServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	// The base URL may still be the full heartbeat URL of older settings.
	env := map[string]string{"HEARTBEAT_URL": ts.URL + "/api/heartbeat", "HEARTBEAT_API_KEY": "k", "HEARTBEAT_SERVICE_ID": "job"}
	code, _, errOut := runCLI(t, env, "run", "--", "sh", "-c", `i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "line $i"; done`)
	if code != 0 {
		t.Fatalf("exit code: got %d (stderr %q)", code, errOut)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[1].path != "/ping/k/job/0" {
		t.Fatalf("requests: got %+v", reqs)
	}
	body := reqs[1].body
	if len(body) > pingBodyLimit || len(body) < pingBodyLimit-20 {
		t.Errorf("body: got %d bytes, want just under the limit of %d", len(body), pingBodyLimit)
	}
	if !strings.HasSuffix(body, "\nline 3000") || !strings.HasPrefix(body, "line ") || strings.Contains(body, "line 1\n") {
		t.Errorf("body: got %q ... %q, want whole lines up to the last", body[:30], body[len(body)-30:])
	}
}

// TestRunStartFailureStillRunsTheCommand: a monitor that refuses, is down, or hangs
// never keeps the job from running nor changes its exit code; the finish is still sent.
func TestRunStartFailureStillRunsTheCommand(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	script := "touch " + marker + "; exit 5"

	refusing := &pingServer{fail: "/ping/k/job/start"}
	ts := httptest.NewServer(refusing)
	defer ts.Close()
	env := map[string]string{"HEARTBEAT_URL": ts.URL, "HEARTBEAT_API_KEY": "k", "HEARTBEAT_SERVICE_ID": "job", "HEARTBEAT_RETRIES": "0"}
	code, _, errOut := runCLI(t, env, "run", "--", "sh", "-c", script)
	if _, err := os.Stat(marker); err != nil || code != 5 || !strings.Contains(errOut, "warning: start not sent: heartbeat: HTTP 503: Server busy, retry later") {
		t.Errorf("refused start: got code %d stderr %q ran %v, want 5, a warning, and the command run", code, errOut, err == nil)
	}
	if reqs := refusing.requests(); len(reqs) != 2 || reqs[1].path != "/ping/k/job/5" || reqs[1].rid != reqs[0].rid {
		t.Errorf("refused start: got requests %+v, want the finish with the same rid", reqs)
	}

	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	env["HEARTBEAT_URL"] = "http://127.0.0.1:1"
	code, _, errOut = runCLI(t, env, "run", "--", "sh", "-c", script)
	if _, err := os.Stat(marker); err != nil || code != 5 || !strings.Contains(errOut, "warning: start not sent") ||
		!strings.Contains(errOut, "warning: heartbeat not sent") {
		t.Errorf("unreachable: got code %d stderr %q ran %v", code, errOut, err == nil)
	}

	// Missing settings: the command still runs, and --meta (which pings cannot carry)
	// is still accepted so that old cron lines keep working.
	code, out, errOut := runCLI(t, map[string]string{}, "run", "--meta", "job=x", "echo", "ran")
	if code != 0 || out != "ran\n" || !strings.Contains(errOut, "no heartbeat will be sent") || !strings.Contains(errOut, "warning: --meta is ignored") {
		t.Errorf("missing settings: got code %d stdout %q stderr %q", code, out, errOut)
	}

	// A monitor that accepts the connection and never answers holds the job back for at
	// most --pingTimeout, retries included.
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/start") {
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "OK")
	}))
	defer hung.Close()
	env = map[string]string{"HEARTBEAT_URL": hung.URL, "HEARTBEAT_API_KEY": "k", "HEARTBEAT_SERVICE_ID": "job"}
	started := time.Now()
	code, _, errOut = runCLI(t, env, "run", "--pingTimeout", "200ms", "--", "sh", "-c", "exit 4")
	if code != 4 || !strings.Contains(errOut, "warning: start not sent") || strings.Contains(errOut, "heartbeat not sent") {
		t.Errorf("hung monitor: got code %d stderr %q", code, errOut)
	}
	// Three retries with backoff from 1 s would hold it back for more than 7 s.
	if d := time.Since(started); d > 3*time.Second {
		t.Errorf("hung monitor: run took %v", d)
	}
}
