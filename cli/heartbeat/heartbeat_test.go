package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// cannedReply is one answer of the fake server; hangUp drops the connection instead.
type cannedReply struct {
	code       int
	body       string
	retryAfter string
	hangUp     bool
}

// fakeServer answers with replies in order (the last one repeats) and records requests.
type fakeServer struct {
	mu      sync.Mutex
	replies []cannedReply
	bodies  []string
	headers []http.Header
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.bodies)
	f.bodies = append(f.bodies, string(body))
	f.headers = append(f.headers, r.Header.Clone())
	rep := f.replies[min(n, len(f.replies)-1)]
	f.mu.Unlock()
	if rep.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.WriteHeader(rep.code)
	io.WriteString(w, rep.body)
}

const ok = `{"success":true,"message":"Heartbeat received","timestamp":"2026-01-01T00:00:00.000Z"}`

func TestSend(t *testing.T) {
	tests := []struct {
		name       string
		replies    []cannedReply
		beats      []Beat
		wantErr    string // substring of the error; empty means accepted
		wantCalls  int
		wantWaits  []time.Duration // exact waits; nil means do not check
		wantFailed int
	}{
		{name: "single accepted", replies: []cannedReply{{code: 200, body: ok}}, wantCalls: 1},
		{name: "partial batch is accepted", beats: []Beat{{ServiceID: "a"}, {ServiceID: "b"}},
			replies:   []cannedReply{{code: 207, body: `{"success":true,"message":"Partial success: 1 succeeded, 1 failed","results":[{"serviceId":"a","success":true},{"serviceId":"b","success":false,"error":"Unknown serviceId"}]}`}},
			wantCalls: 1, wantFailed: 1},
		{name: "401 is not retried", replies: []cannedReply{{code: 401, body: `{"error":"Invalid API key"}`}},
			wantErr: "HTTP 401: Invalid API key", wantCalls: 1},
		{name: "404 is not retried", replies: []cannedReply{{code: 404, body: `{"error":"Unknown serviceId"}`}},
			wantErr: "Unknown serviceId", wantCalls: 1},
		{name: "5xx and 429 are retried, Retry-After honoured",
			replies: []cannedReply{{code: 503, body: `{"error":"Server busy, retry later"}`, retryAfter: "2"},
				{code: 429, body: `{"error":"Rate limit exceeded"}`, retryAfter: "1"}, {code: 200, body: ok}},
			wantCalls: 3, wantWaits: []time.Duration{2 * time.Second, time.Second}},
		{name: "a huge Retry-After is capped",
			replies:   []cannedReply{{code: 503, retryAfter: "3600"}, {code: 200, body: ok}},
			wantCalls: 2, wantWaits: []time.Duration{MaxRetryAfter}},
		{name: "network errors are retried", replies: []cannedReply{{hangUp: true}, {hangUp: true}, {code: 200, body: ok}}, wantCalls: 3},
		{name: "retries are bounded", replies: []cannedReply{{code: 500, body: "boom"}},
			wantErr: "HTTP 500: boom (after 4 attempts)", wantCalls: 4},
		{name: "a 200 that is not the API fails", replies: []cannedReply{{code: 200, body: "<html>Sign in</html>"}},
			wantErr: "unexpected reply", wantCalls: 1},
		{name: "a refused batch names its entries", beats: []Beat{{ServiceID: "a"}, {ServiceID: "b"}},
			replies: []cannedReply{{code: 400, body: `{"success":false,"message":"All heartbeats failed","results":[{"serviceId":"a","success":false,"error":"Unknown serviceId"},{"serviceId":"b","success":false,"error":"Invalid API key"}]}`}},
			wantErr: "HTTP 400: All heartbeats failed: a: Unknown serviceId; b: Invalid API key", wantCalls: 1},
		{name: "a redirect is not followed", replies: []cannedReply{{code: 302, body: ""}},
			wantErr: "redirected", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{replies: tt.replies}
			srv := httptest.NewServer(f)
			defer srv.Close()
			var waits []time.Duration
			c := &Client{URL: srv.URL, Key: "k", Retries: 3,
				Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			beats := tt.beats
			if beats == nil {
				beats = []Beat{{ServiceID: "svc"}}
			}
			res, err := c.Send(context.Background(), beats...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Send: got error %v, want accepted", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Send: got error %v, want one containing %q", err, tt.wantErr)
			}
			if len(f.bodies) != tt.wantCalls {
				t.Errorf("requests: got %d, want %d", len(f.bodies), tt.wantCalls)
			}
			if tt.wantWaits != nil && !equalDurations(waits, tt.wantWaits) {
				t.Errorf("waits: got %v, want %v", waits, tt.wantWaits)
			}
			if len(waits) != max(len(f.bodies)-1, 0) {
				t.Errorf("waits: got %d for %d requests", len(waits), len(f.bodies))
			}
			if len(res.Failed) != tt.wantFailed {
				t.Errorf("failed entries: got %v, want %d", res.Failed, tt.wantFailed)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSendRequestShape(t *testing.T) {
	f := &fakeServer{replies: []cannedReply{{code: 200, body: ok}}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := &Client{URL: srv.URL + "/", Key: "secret", Header: http.Header{"Cf-Access-Client-Id": {"id"}}}
	_, err := c.Send(context.Background(),
		Beat{ServiceID: "a", Status: "down", Message: "disk full", Metadata: map[string]any{"hostname": "h"}},
		Beat{ServiceID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Services []map[string]any `json:"services"`
	}
	if err := json.Unmarshal([]byte(f.bodies[0]), &got); err != nil {
		t.Fatalf("body %s: %v", f.bodies[0], err)
	}
	if len(got.Services) != 2 || got.Services[0]["status"] != "down" || got.Services[0]["message"] != "disk full" ||
		got.Services[1]["serviceId"] != "b" {
		t.Errorf("batch body: got %s", f.bodies[0])
	}
	h := f.headers[0]
	if h.Get("Authorization") != "Bearer secret" || h.Get("Content-Type") != "application/json" || h.Get("CF-Access-Client-Id") != "id" {
		t.Errorf("headers: got %v", h)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := &Client{URL: srv.URL, Key: "k", Timeout: 50 * time.Millisecond, Retries: -1}
	start := time.Now()
	_, err := c.Send(context.Background(), Beat{ServiceID: "svc"})
	var he *Error
	if !errors.As(err, &he) || he.StatusCode != 0 {
		t.Fatalf("got %v, want a network *Error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want about the 50ms timeout", d)
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://mon.example.com":                "https://mon.example.com/api/heartbeat",
		"https://mon.example.com/":               "https://mon.example.com/api/heartbeat",
		"http://127.0.0.1:8090/api/heartbeat":    "http://127.0.0.1:8090/api/heartbeat",
		"https://example.com/monitor/":           "https://example.com/monitor/api/heartbeat",
		" https://example.com/api/heartbeat/ \n": "https://example.com/api/heartbeat",
	} {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"86400", MaxRetryAfter},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	for n, lo := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: maxBackoff} {
		got := backoff(n)
		if got < lo || got > lo+lo/4 {
			t.Errorf("backoff(%d): got %v, want in [%v, %v]", n, got, lo, lo+lo/4)
		}
	}
}
