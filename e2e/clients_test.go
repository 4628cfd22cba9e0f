package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/testtool"
)

// client is one way of sending a beat: a script of clients/ or the ping command. The
// tests give settings through HEARTBEAT_* variables and the flags all of them share.
type client struct {
	name string
	need []string // interpreters that must be installed
	argv func(flags ...string) []string
}

func clientsUnderTest() []client {
	script := func(interp, file string) func(...string) []string {
		return func(flags ...string) []string {
			return append([]string{interp, filepath.Join(repoRoot, "clients", file)}, flags...)
		}
	}
	return []client{
		{name: "bash", need: []string{"bash", "curl"}, argv: script("bash", "heartbeat.sh")},
		{name: "python", need: []string{"python3"}, argv: script("python3", "heartbeat.py")},
		{name: "node", need: []string{"node"}, argv: script("node", "heartbeat.js")},
		{name: "ping", argv: func(flags ...string) []string { return append([]string{binary, "ping"}, flags...) }},
	}
}

// needTools fails the test under CI=true, and skips it elsewhere, when an interpreter
// of c is missing.
func (c client) needTools(t *testing.T) {
	t.Helper()
	for _, n := range c.need {
		if n == "python3" {
			testtool.NeedPython(t)
			continue
		}
		testtool.Need(t, n)
	}
}

func (c client) run(t *testing.T, env []string, flags ...string) result {
	t.Helper()
	argv := c.argv(flags...)
	return runProcess(t, env, argv[0], argv[1:]...)
}

func oneLine(t *testing.T, what, s string) {
	t.Helper()
	if strings.Count(strings.TrimRight(s, "\n"), "\n") != 0 || s == "" {
		t.Errorf("%s: got %q, want one line", what, s)
	}
}

func TestClientsStoreBeats(t *testing.T) {
	for _, c := range clientsUnderTest() {
		t.Run(c.name, func(t *testing.T) {
			c.needTools(t)
			t.Parallel()
			svc, key := "client-"+c.name, "key-client-"+c.name+"-0123456789"
			a, b := svc+"-a", svc+"-b"
			shared.createService(t, svc, key)
			groupKey := "key-group-" + c.name + "-0123456789"
			shared.createKey(t, "e2e group "+c.name, groupKey,
				shared.createService(t, a, "key-"+a+"-0123456789"), shared.createService(t, b, "key-"+b+"-0123456789"))
			base := []string{"HEARTBEAT_URL=" + shared.URL}

			// One beat with a status, a message that needs escaping, and metadata.
			msg := "disk 93% full: \"/data\"\tà nettoyer\\now"
			env := append(base, "HEARTBEAT_SERVICE_ID="+svc, "HEARTBEAT_API_KEY="+key,
				`HEARTBEAT_METADATA={"env":"e2e","n":3}`, "HEARTBEAT_TIMEOUT=5")
			r := c.run(t, env, "--status", "down", "--message", msg)
			if r.code != 0 {
				t.Fatalf("single beat: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			got := shared.lastBeat(t, svc)
			if got.Status != "down" || got.Message != msg || got.Metadata["env"] != "e2e" || got.Metadata["n"] != float64(3) {
				t.Errorf("stored beat: got %+v", got)
			}
			if h, _ := got.Metadata["hostname"].(string); h == "" {
				t.Errorf("stored beat: no hostname in metadata %v", got.Metadata)
			}

			// A batch with a group key: every service gets an "up" beat.
			env = append(base, "HEARTBEAT_SERVICE_ID="+a+","+b, "HEARTBEAT_API_KEY="+groupKey, "HEARTBEAT_NO_HOSTNAME=1")
			if r := c.run(t, env, "--quiet"); r.code != 0 || r.stdout != "" {
				t.Fatalf("batch: exit %d, stdout %q, stderr %q (want 0 and nothing printed)", r.code, r.stdout, r.stderr)
			}
			for _, id := range []string{a, b} {
				if got := shared.lastBeat(t, id); got.Status != "up" || got.Metadata["hostname"] != nil {
					t.Errorf("batch beat of %s: got %+v", id, got)
				}
			}

			// Part of a batch refused: accepted (exit 0) with a warning naming the entry.
			env = append(base, "HEARTBEAT_SERVICE_ID="+a+",ghost-"+c.name, "HEARTBEAT_API_KEY="+groupKey)
			if r := c.run(t, env); r.code != 0 || !strings.Contains(r.stderr, "ghost-"+c.name+": Unknown serviceId") {
				t.Errorf("partial batch: exit %d, stderr %q", r.code, r.stderr)
			}

			refusals := []struct {
				name     string
				env      []string
				flags    []string
				wantCode int
				wantErr  string
			}{
				{"wrong key", append(base, "HEARTBEAT_SERVICE_ID="+svc, "HEARTBEAT_API_KEY=wrong"), nil, 1, "Invalid API key"},
				{"unknown service", append(base, "HEARTBEAT_SERVICE_ID=nope-"+c.name, "HEARTBEAT_API_KEY="+key), nil, 1, "Unknown serviceId"},
				{"bad status", append(base, "HEARTBEAT_SERVICE_ID="+svc, "HEARTBEAT_API_KEY="+key), []string{"--status", "sideways"}, 2, "sideways"},
				{"no URL", []string{"HEARTBEAT_SERVICE_ID=" + svc, "HEARTBEAT_API_KEY=" + key}, nil, 2, "HEARTBEAT_URL"},
			}
			for _, rf := range refusals {
				r := c.run(t, rf.env, rf.flags...)
				if r.code != rf.wantCode || !strings.Contains(r.stderr, rf.wantErr) {
					t.Errorf("%s: got exit %d stderr %q, want %d and %q", rf.name, r.code, r.stderr, rf.wantCode, rf.wantErr)
				}
				oneLine(t, rf.name+": stderr", r.stderr)
			}
		})
	}
}

// flaky answers each request with the next of its replies; hangUp drops the connection.
type flaky struct {
	mu       sync.Mutex
	replies  []flakyReply
	requests []flakyRequest
}

type flakyReply struct {
	code       int
	body       string
	retryAfter string
	hangUp     bool
	stall      bool // never answer (until the test ends)
}

type flakyRequest struct {
	at     time.Time
	body   string
	header http.Header
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, flakyRequest{at: time.Now(), body: string(body), header: r.Header.Clone()})
	rep := f.replies[min(n, len(f.replies)-1)]
	f.mu.Unlock()
	switch {
	case rep.stall:
		<-r.Context().Done()
		return
	case rep.hangUp:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.code)
	io.WriteString(w, rep.body)
}

func (f *flaky) snapshot() []flakyRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]flakyRequest(nil), f.requests...)
}

const acceptedReply = `{"success":true,"message":"Heartbeat received","timestamp":"2026-01-01T00:00:00.000Z"}`

func TestClientsRetry(t *testing.T) {
	scenarios := []struct {
		name      string
		replies   []flakyReply
		env       []string
		wantCode  int
		wantCalls int
		wantErr   string
		minGap    time.Duration // between the first two requests
	}{
		{name: "fails twice then succeeds",
			replies: []flakyReply{{code: 503, body: `{"error":"Server busy, retry later"}`, retryAfter: "1"},
				{hangUp: true}, {code: 200, body: acceptedReply}},
			wantCode: 0, wantCalls: 3, minGap: time.Second},
		{name: "a 4xx is never retried",
			replies:  []flakyReply{{code: 400, body: `{"error":"message exceeds 1000 characters"}`}},
			wantCode: 1, wantCalls: 1, wantErr: "HTTP 400: message exceeds 1000 characters"},
		{name: "a 429 is retried after Retry-After, and retries are bounded",
			replies:  []flakyReply{{code: 429, body: `{"error":"Rate limit exceeded"}`, retryAfter: "1"}},
			env:      []string{"HEARTBEAT_RETRIES=1"},
			wantCode: 1, wantCalls: 2, wantErr: "Rate limit exceeded (after 2 attempts)", minGap: time.Second},
		{name: "each attempt times out",
			replies:  []flakyReply{{stall: true}},
			env:      []string{"HEARTBEAT_TIMEOUT=1", "HEARTBEAT_RETRIES=0"},
			wantCode: 1, wantCalls: 1},
	}
	for _, c := range clientsUnderTest() {
		t.Run(c.name, func(t *testing.T) {
			c.needTools(t)
			t.Parallel()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					f := &flaky{replies: sc.replies}
					ts := httptest.NewServer(f)
					defer ts.Close()
					env := append([]string{"HEARTBEAT_URL=" + ts.URL, "HEARTBEAT_SERVICE_ID=svc", "HEARTBEAT_API_KEY=k"}, sc.env...)
					start := time.Now()
					r := c.run(t, env, "--header", "CF-Access-Client-Id: e2e.access")
					reqs := f.snapshot()
					if r.code != sc.wantCode || len(reqs) != sc.wantCalls || !strings.Contains(r.stderr, sc.wantErr) {
						t.Fatalf("got exit %d after %d requests, stderr %q; want %d after %d, %q",
							r.code, len(reqs), r.stderr, sc.wantCode, sc.wantCalls, sc.wantErr)
					}
					if sc.minGap > 0 && reqs[1].at.Sub(reqs[0].at) < sc.minGap-50*time.Millisecond {
						t.Errorf("second attempt %v after the first, want at least the Retry-After %v", reqs[1].at.Sub(reqs[0].at), sc.minGap)
					}
					if d := time.Since(start); d > 20*time.Second {
						t.Errorf("took %v", d)
					}
					for i, rq := range reqs {
						if rq.body != reqs[0].body || rq.header.Get("CF-Access-Client-Id") != "e2e.access" ||
							rq.header.Get("Authorization") != "Bearer k" || rq.header.Get("Content-Type") != "application/json" {
							t.Errorf("request %d: body %q headers %v", i, rq.body, rq.header)
						}
					}
					var single map[string]any
					if err := json.Unmarshal([]byte(reqs[0].body), &single); err != nil || single["serviceId"] != "svc" || single["status"] != "up" {
						t.Errorf("body: got %s (%v)", reqs[0].body, err)
					}
					if sc.wantCode != 0 {
						oneLine(t, "stderr", r.stderr)
					}
				})
			}
		})
	}
}

// TestOriginalClientRequests sends the exact requests of the original worker's clients
// (as described in the seed: pretty-printed bodies, with and without a JSON
// Content-Type, with curl's form default, behind Cloudflare Access headers) and checks
// the replies with the tests those clients make.
func TestOriginalClientRequests(t *testing.T) {
	one := shared.createService(t, "orig-1", "orig-key-1-0123456789")
	two := shared.createService(t, "orig-2", "orig-key-2-0123456789")
	shared.createKey(t, "original shared key", "orig-shared-key-0123456789", one, two)

	const host = "buildhost"
	requests := []struct {
		name    string
		auth    string // the Authorization header; empty sends none
		body    string
		success func(code int, body string) bool
		want    map[string]string // serviceId -> stored status
	}{
		{name: "early bash client", auth: "Bearer orig-key-1-0123456789",
			body: "{\n  \"serviceId\": \"orig-1\",\n  \"status\": \"up\",\n  \"metadata\": {\n    \"hostname\": \"" + host +
				"\",\n    \"timestamp\": \"2026-11-26T10:00:00Z\"\n  },\n  \"message\": \"Heartbeat from " + host + "\"\n}",
			success: func(_ int, body string) bool { return strings.Contains(body, `"success":true`) },
			want:    map[string]string{"orig-1": "up"}},
		{name: "later bash client, single", auth: "Bearer orig-key-2-0123456789",
			body:    "{\n  \"serviceId\": \"orig-2\"\n}",
			success: func(code int, _ string) bool { return code == 200 },
			want:    map[string]string{"orig-2": "up"}},
		{name: "later bash client, batch", auth: "Bearer orig-shared-key-0123456789",
			body: "{\n  \"services\": [\"orig-1\",\"orig-2\"]\n}",
			success: func(code int, body string) bool {
				return code == 200 && strings.Contains(body, `"message":"Batch heartbeat received for 2 service(s)"`)
			},
			want: map[string]string{"orig-1": "up", "orig-2": "up"}},
		{name: "python client, single", auth: "Bearer orig-key-1-0123456789",
			body:    `{"serviceId": "orig-1"}`,
			success: func(code int, _ string) bool { return code == 200 },
			want:    map[string]string{"orig-1": "up"}},
		{name: "python client, batch with a shared key", auth: "Bearer orig-shared-key-0123456789",
			body:    `{"services": ["orig-1", "orig-2"]}`,
			success: func(code int, _ string) bool { return code == 200 || code == 207 },
			want:    map[string]string{"orig-1": "up", "orig-2": "up"}},
		{name: "python client, batch with per-service keys",
			body:    `{"services": [{"serviceId": "orig-1", "token": "orig-key-1-0123456789"}, {"serviceId": "orig-2", "token": "orig-key-2-0123456789"}]}`,
			success: func(code int, _ string) bool { return code == 200 || code == 207 },
			want:    map[string]string{"orig-1": "up", "orig-2": "up"}},
		{name: "node client", auth: "Bearer orig-key-2-0123456789",
			body: `{"serviceId":"orig-2","status":"up","metadata":{"hostname":"` + host +
				`","timestamp":"2026-11-26T10:00:00.000Z","platform":"linux","arch":"x64"},"message":"Heartbeat from ` + host + `"}`,
			success: func(code int, _ string) bool { return code == 200 },
			want:    map[string]string{"orig-2": "up"}},
		{name: "docker-compose loop", auth: "Bearer orig-key-1-0123456789",
			body:    `{"serviceId":"orig-1","status":"up","message":"Heartbeat from Docker"}`,
			success: func(code int, body string) bool { return code == 200 && strings.Contains(body, `"success":true`) },
			want:    map[string]string{"orig-1": "up"}},
		{name: "kubernetes cronjob", auth: "Bearer orig-shared-key-0123456789",
			body: `{"services":[{"serviceId":"orig-1","metadata":{"cluster":"k3s","ip":"10.0.0.1","role":"control-plane","status":"ready"}},` +
				`{"serviceId":"orig-2","metadata":{"cluster":"k3s","ip":"10.0.0.2","role":"worker","status":"not-ready"}}]}`,
			success: func(code int, _ string) bool { return code == 200 },
			want:    map[string]string{"orig-1": "up", "orig-2": "up"}},
	}
	contentTypes := []string{"application/json", "", "application/x-www-form-urlencoded"}
	for _, rq := range requests {
		for _, ct := range contentTypes {
			t.Run(fmt.Sprintf("%s, Content-Type %q", rq.name, ct), func(t *testing.T) {
				req, err := http.NewRequest(http.MethodPost, shared.URL+"/api/heartbeat", strings.NewReader(rq.body))
				if err != nil {
					t.Fatal(err)
				}
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				if rq.auth != "" {
					req.Header.Set("Authorization", rq.auth)
				}
				req.Header.Set("CF-Access-Client-Id", "0123.access")
				req.Header.Set("CF-Access-Client-Secret", "cf-secret")
				req.Header.Set("User-Agent", "curl/7.88.1")
				before := map[string]int{}
				for id := range rq.want {
					before[id] = len(shared.beats(t, id))
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !rq.success(resp.StatusCode, string(body)) {
					t.Fatalf("the original client would fail: HTTP %d %s", resp.StatusCode, body)
				}
				for id, status := range rq.want {
					got := shared.beats(t, id)
					if len(got) != before[id]+1 || got[0].Status != status {
						t.Errorf("%s: %d beats (was %d), newest %+v; want one more, %s", id, len(got), before[id], got, status)
					}
				}
			})
		}
	}
}

// pingRecorder records ping requests and answers each with code and text.
type pingRecorder struct {
	mu   sync.Mutex
	code int
	text string
	reqs []pingRecorded
}

type pingRecorded struct {
	method, path, rawQuery, body string
	header                       http.Header
}

func (p *pingRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.reqs = append(p.reqs, pingRecorded{method: r.Method, path: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, body: string(body), header: r.Header.Clone()})
	code, text := p.code, p.text
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, text)
}

func (p *pingRecorder) take() []pingRecorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.reqs
	p.reqs = nil
	return out
}

// TestClientsSendRunPings: the scripts' --start and --exit send the ping URLs with the
// key escaped in the path, the rid in the query and the message as a text body, so
// that a cron line can report a run; mistakes are usage errors.
func TestClientsSendRunPings(t *testing.T) {
	const rid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	const keyPath = "/ping/k%2F1%20x%2B%C3%A9/" // the key "k/1 x+é", escaped
	for _, c := range clientsUnderTest() {
		if c.name == "ping" {
			continue // heartbeat-monitor run sends these; see TestRunPingsStartAndExit
		}
		t.Run(c.name, func(t *testing.T) {
			c.needTools(t)
			t.Parallel()
			rec := &pingRecorder{code: 200, text: "OK"}
			ts := httptest.NewServer(rec)
			defer ts.Close()
			env := []string{"HEARTBEAT_URL=" + ts.URL + "/api/heartbeat", "HEARTBEAT_SERVICE_ID=job", "HEARTBEAT_API_KEY=k/1 x+é"}

			steps := []struct {
				name      string
				flags     []string
				wantPaths []string
				wantQuery string
				wantBody  string
				wantOut   string
			}{
				{"start with a rid", []string{"--start", "--rid", rid, "--header", "CF-Access-Client-Id: e2e.access"},
					[]string{keyPath + "job/start"}, "rid=" + rid, "", "ok: OK (HTTP 200)\n"},
				{"exit status with the same rid and the output", []string{"--exit", "3", "--rid", rid, "-m", "step 9\nerreur: disque plein"},
					[]string{keyPath + "job/3"}, "rid=" + rid, "step 9\nerreur: disque plein", "ok: OK (HTTP 200)\n"},
				{"start without a rid", []string{"--start", "-q"}, []string{keyPath + "job/start"}, "", "", ""},
				{"one ping per service", []string{"--exit", "0", "--service", "a,b", "-q"}, []string{keyPath + "a/0", keyPath + "b/0"}, "", "", ""},
			}
			for _, st := range steps {
				r := c.run(t, env, st.flags...)
				reqs := rec.take()
				if r.code != 0 || r.stdout != st.wantOut || r.stderr != "" || len(reqs) != len(st.wantPaths) {
					t.Fatalf("%s: exit %d stdout %q stderr %q after %d requests; want 0, %q, %d requests",
						st.name, r.code, r.stdout, r.stderr, len(reqs), st.wantOut, len(st.wantPaths))
				}
				for i, rq := range reqs {
					if rq.method != http.MethodPost || rq.path != st.wantPaths[i] || rq.rawQuery != st.wantQuery || rq.body != st.wantBody ||
						rq.header.Get("Authorization") != "" || !strings.HasPrefix(rq.header.Get("Content-Type"), "text/plain") {
						t.Errorf("%s: got %s %s?%s body %q headers %v; want POST %s?%s body %q, text/plain, no Authorization",
							st.name, rq.method, rq.path, rq.rawQuery, rq.body, rq.header, st.wantPaths[i], st.wantQuery, st.wantBody)
					}
				}
				if st.name == "start with a rid" && reqs[0].header.Get("CF-Access-Client-Id") != "e2e.access" {
					t.Errorf("%s: the extra header was not sent: %v", st.name, reqs[0].header)
				}
			}

			refusals := []struct {
				name    string
				flags   []string
				wantErr string
			}{
				{"an exit status out of range", []string{"--exit", "256"}, "--exit"},
				{"a rid that is not a UUID", []string{"--start", "--rid", "nightly"}, "--rid"},
				{"both pings at once", []string{"--start", "--exit", "0"}, "--start and --exit"},
				{"a rid without a ping", []string{"--rid", rid}, "--rid"},
			}
			for _, rf := range refusals {
				r := c.run(t, env, rf.flags...)
				if r.code != 2 || !strings.Contains(r.stderr, rf.wantErr) || len(rec.take()) != 0 {
					t.Errorf("%s: got exit %d stderr %q, want 2 and %q, nothing sent", rf.name, r.code, r.stderr, rf.wantErr)
				}
				oneLine(t, rf.name+": stderr", r.stderr)
			}

			rec.mu.Lock()
			rec.code, rec.text = 404, "not found"
			rec.mu.Unlock()
			r := c.run(t, env, "--start")
			if r.code != 1 || r.stderr == "" || !strings.Contains(r.stderr, "HTTP 404: not found") || len(rec.take()) != 1 {
				t.Errorf("unknown service: got exit %d stderr %q, want 1 and HTTP 404: not found, one request", r.code, r.stderr)
			}
			oneLine(t, "unknown service: stderr", r.stderr)
		})
	}
}

// TestClientsReportRuns: a script's --start shows the service running in /api/status,
// and its --exit with the same rid ends the run with a measured duration.
func TestClientsReportRuns(t *testing.T) {
	for _, c := range clientsUnderTest() {
		if c.name == "ping" {
			continue // heartbeat-monitor run: see TestRunReportsTheCommand
		}
		t.Run(c.name, func(t *testing.T) {
			c.needTools(t)
			t.Parallel()
			svc, key := "client-run-"+c.name, "key-client-run-"+c.name+"-0123456789"
			shared.createService(t, svc, key)
			env := []string{"HEARTBEAT_URL=" + shared.URL, "HEARTBEAT_SERVICE_ID=" + svc, "HEARTBEAT_API_KEY=" + key}
			const rid = "3b241101-e2bb-4255-8caf-4136c566a962"

			if r := c.run(t, env, "--start", "--rid", rid, "-q"); r.code != 0 {
				t.Fatalf("--start: exit %d stderr %q", r.code, r.stderr)
			}
			if st := statusOf(t, svc); !st.Running {
				t.Errorf("after --start: got %+v, want running", st)
			}
			if r := c.run(t, env, "--exit", "4", "--rid", rid, "-m", "backup failed: disk full", "-q"); r.code != 0 {
				t.Fatalf("--exit: exit %d stderr %q", r.code, r.stderr)
			}
			st := statusWhen(t, svc, func(st runStatus) bool { return st.Status == "down" }) // decided by the engine's loop
			if st.Running || st.Status != "down" || st.LastExitStatus == nil || *st.LastExitStatus != 4 || st.LastDuration == nil {
				t.Errorf("after --exit 4: got %+v (lastExitStatus %v, lastDuration %v), want down, exit 4, a duration, not running",
					st, deref(st.LastExitStatus), deref(st.LastDuration))
			}
			if p := runPings(t, svc); len(p) != 2 || p[0].Body != "backup failed: disk full" && p[1].Body != "backup failed: disk full" {
				t.Errorf("pings: got %+v, want the message as the finish's body", p)
			}
		})
	}
}
