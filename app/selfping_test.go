package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the pinger's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSelfPingPingsAtStartAndEachTick: one GET at once and one per tick, to the path
// given; a failing reply is logged without the URL's secret path, and the next tick
// pings again (one ping per tick, no retries in between).
func TestSelfPingPingsAtStartAndEachTick(t *testing.T) {
	const secret = "/ping/0b7c2a52-3f0e-4c1e-9d55-6f2f3a9d1e77"
	hits := make(chan string, 10)
	var mu sync.Mutex
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		c := code
		mu.Unlock()
		w.WriteHeader(c)
		hits <- r.Method + " " + r.URL.Path
	}))
	defer srv.Close()
	logs := &syncBuffer{}
	p, err := newSelfPinger(srv.URL+secret, time.Minute, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, tick) }()

	expect := func(what string) {
		t.Helper()
		select {
		case got := <-hits:
			if got != "GET "+secret {
				t.Fatalf("%s: got %q, want GET %s", what, got, secret)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no ping", what)
		}
	}
	expect("at start")
	mu.Lock()
	code = http.StatusServiceUnavailable
	mu.Unlock()
	tick <- time.Now()
	expect("first tick")
	mu.Lock()
	code = http.StatusOK
	mu.Unlock()
	tick <- time.Now() // taken once the failed ping has been logged
	expect("second tick")
	cancel()
	<-done
	select {
	case extra := <-hits:
		t.Errorf("got an extra ping %q, want one per tick", extra)
	default:
	}
	l := logs.String()
	if !strings.Contains(l, "self-ping failed") || !strings.Contains(l, "HTTP 503") {
		t.Errorf("log: got %q, want the failure with its status", l)
	}
	if strings.Contains(l, "0b7c2a52") {
		t.Errorf("log: got %q, which shows the ping URL's secret path", l)
	}
}

// TestSelfPingTimeoutBounded: a URL that never answers costs one bounded wait, and the
// error says so without the URL.
func TestSelfPingTimeoutBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := newSelfPinger(srv.URL+"/secret-path", time.Minute, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.timeout = 200 * time.Millisecond
	start := time.Now()
	err = p.ping(context.Background())
	if took := time.Since(start); err == nil || took > 5*time.Second {
		t.Fatalf("got %v after %v, want a timeout after about %v", err, took, p.timeout)
	}
	if strings.Contains(err.Error(), "secret-path") {
		t.Errorf("error %q shows the URL's path", err)
	}
}

func TestSelfPingRefusesABadURL(t *testing.T) {
	for _, raw := range []string{"hc-ping.com/abc", "ftp://example.com/x", "http:///path", "://"} {
		if _, err := newSelfPinger(raw, time.Minute, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%q: accepted, want refused", raw)
		}
	}
	if got := redactedURL("https://hc-ping.com/0b7c2a52-3f0e"); got != "https://hc-ping.com/…" {
		t.Errorf("redactedURL: got %q", got)
	}
}
