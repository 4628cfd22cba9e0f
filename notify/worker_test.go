package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// quiet keeps the expected delivery failures out of the test output.
var quiet = slog.New(slog.DiscardHandler)

func TestPolicyNext(t *testing.T) {
	p := Policy{MaxAttempts: 5, Base: 10 * time.Second, Max: time.Minute}
	serverErr := &Error{Status: 500, Err: errors.New("500")}
	tests := []struct {
		name     string
		attempts int
		err      error
		status   string
		wait     time.Duration
	}{
		{"success", 1, nil, StatusSent, 0},
		{"first failure waits the base", 1, serverErr, StatusPending, 10 * time.Second},
		{"third failure waits four times the base", 3, serverErr, StatusPending, 40 * time.Second},
		{"the wait is capped", 4, serverErr, StatusPending, time.Minute},
		{"the last attempt fails for good", 5, serverErr, StatusFailed, 0},
		{"a network error is retried", 1, errors.New("connection refused"), StatusPending, 10 * time.Second},
		{"a 4xx is not retried", 1, &Error{Status: 400, Permanent: true, Err: errors.New("400")}, StatusFailed, 0},
		{"a 429 waits what it asked for", 1, &Error{Status: 429, RetryAfter: 30 * time.Second, Err: errors.New("429")}, StatusPending, 30 * time.Second},
	}
	for _, tt := range tests {
		o := p.Next(tt.attempts, tt.err, at)
		if o.Status != tt.status || o.Attempts != tt.attempts {
			t.Errorf("%s: got %s after %d, want %s after %d", tt.name, o.Status, o.Attempts, tt.status, tt.attempts)
		}
		if tt.status == StatusPending && o.NextAttemptAt.Sub(at) != tt.wait {
			t.Errorf("%s: got a wait of %v, want %v", tt.name, o.NextAttemptAt.Sub(at), tt.wait)
		}
		if tt.status == StatusSent && !o.SentAt.Equal(at) {
			t.Errorf("%s: got sentAt %v", tt.name, o.SentAt)
		}
		if tt.err != nil && o.LastError == "" {
			t.Errorf("%s: got no lastError", tt.name)
		}
	}
}

// memStore is a Store in memory with the same ordering rule as the real one.
type memStore struct {
	mu       sync.Mutex
	items    []*memItem
	recorded chan struct{}
}

type memItem struct {
	id, incident string
	ch           Channel
	m            Message
	o            Outcome
}

func (s *memStore) add(id, incident string, ch Channel, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, &memItem{id: id, incident: incident, ch: ch, m: m, o: Outcome{Status: StatusPending}})
}

func (s *memStore) Due(_ context.Context, now time.Time, limit int) ([]Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Delivery
	for i, it := range s.items {
		if it.o.Status != StatusPending || it.o.NextAttemptAt.After(now) {
			continue
		}
		blocked := false
		for _, before := range s.items[:i] {
			blocked = blocked || (before.o.Status == StatusPending && before.ch.ID == it.ch.ID && before.incident == it.incident && it.incident != "")
		}
		if !blocked && len(out) < limit {
			out = append(out, Delivery{ID: it.id, Attempts: it.o.Attempts, Channel: it.ch, Message: it.m})
		}
	}
	return out, nil
}

func (s *memStore) Record(_ context.Context, id string, o Outcome) error {
	s.mu.Lock()
	for _, it := range s.items {
		if it.id == id {
			it.o = o
		}
	}
	s.mu.Unlock()
	s.recorded <- struct{}{}
	return nil
}

func (s *memStore) outcome(id string) Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.items {
		if it.id == id {
			return it.o
		}
	}
	return Outcome{}
}

// settled waits until no item is pending.
func (s *memStore) settled(t *testing.T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		pending := 0
		for _, it := range s.items {
			if it.o.Status == StatusPending {
				pending++
			}
		}
		s.mu.Unlock()
		if pending == 0 {
			return
		}
		select {
		case <-s.recorded:
		case <-deadline:
			t.Fatalf("%d notifications still pending", pending)
		}
	}
}

// endpoint is a local HTTP server that records what it receives and answers with the
// statuses given, one per request (the last one repeats).
type endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	bodies   []string
}

func newEndpoint(t *testing.T, statuses ...int) *endpoint {
	e := &endpoint{statuses: statuses}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, string(body))
		status := e.statuses[min(len(e.bodies), len(e.statuses))-1]
		e.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) events() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, b := range e.bodies {
		var v struct{ Event string }
		if json.Unmarshal([]byte(b), &v) == nil {
			out = append(out, v.Event)
		}
	}
	return out
}

func runWorker(t *testing.T, store *memStore) {
	w := &Worker{Store: store, Sender: &Sender{}, Policy: Policy{MaxAttempts: 4, Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}, Poll: 5 * time.Millisecond, Logger: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	w.Wake()
}

func TestWorkerDelivers(t *testing.T) {
	ok, flaky, refusing, down5xx := newEndpoint(t, 200), newEndpoint(t, 500, 500, 200), newEndpoint(t, 400), newEndpoint(t, 503)
	store := &memStore{recorded: make(chan struct{}, 100)}
	hook := func(id, url string) Channel {
		return Channel{ID: id, Name: id, Type: Webhook, Settings: &webhookSettings{URL: url}}
	}
	store.add("n1", "i1", hook("ok", ok.URL), down)
	store.add("n2", "i1", hook("flaky", flaky.URL), down)
	store.add("n3", "i1", hook("refusing", refusing.URL), down)
	store.add("n4", "i1", hook("down", down5xx.URL), down)
	runWorker(t, store)
	store.settled(t)

	tests := []struct {
		id       string
		ep       *endpoint
		status   string
		attempts int
		requests int
	}{
		{"n1", ok, StatusSent, 1, 1},
		{"n2", flaky, StatusSent, 3, 3},      // 500, 500, then 200
		{"n3", refusing, StatusFailed, 1, 1}, // a 400 is not retried
		{"n4", down5xx, StatusFailed, 4, 4},  // retried up to the bound
	}
	for _, tt := range tests {
		o := store.outcome(tt.id)
		if o.Status != tt.status || o.Attempts != tt.attempts {
			t.Errorf("%s: got %s after %d attempts, want %s after %d", tt.id, o.Status, o.Attempts, tt.status, tt.attempts)
		}
		if got := len(tt.ep.events()); got != tt.requests {
			t.Errorf("%s: endpoint got %d requests, want %d", tt.id, got, tt.requests)
		}
	}
	if o := store.outcome("n3"); !strings.Contains(o.LastError, "400") {
		t.Errorf("n3: lastError %q does not say 400", o.LastError)
	}
	if o := store.outcome("n1"); o.SentAt.IsZero() || o.LastError != "" {
		t.Errorf("n1: got %+v, want sentAt and no error", o)
	}
}

// TestWorkerKeepsOrder: a recovery queued right behind its alert waits for the alert,
// even when the alert needs a retry.
func TestWorkerKeepsOrder(t *testing.T) {
	ep := newEndpoint(t, 500, 200)
	store := &memStore{recorded: make(chan struct{}, 100)}
	ch := Channel{ID: "c", Name: "c", Type: Webhook, Settings: &webhookSettings{URL: ep.URL}}
	store.add("n1", "i1", ch, down)
	store.add("n2", "i1", ch, recovery)
	runWorker(t, store)
	store.settled(t)
	if got, want := strings.Join(ep.events(), ","), "down,down,up"; got != want {
		t.Errorf("received: got %s, want %s", got, want)
	}
}

// TestWorkerFailsBrokenChannel: a delivery whose channel can no longer be used fails
// without an attempt.
func TestWorkerFailsBrokenChannel(t *testing.T) {
	store := &memStore{recorded: make(chan struct{}, 10)}
	store.items = append(store.items, &memItem{id: "n1", ch: Channel{ID: "c"}, m: down, o: Outcome{Status: StatusPending}})
	w := &Worker{Store: brokenStore{store}, Sender: &Sender{}, Policy: DefaultPolicy, Logger: quiet}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := store.outcome("n1"); o.Status != StatusFailed || !strings.Contains(o.LastError, "disabled") {
		t.Errorf("got %+v, want failed: channel disabled", o)
	}
}

type brokenStore struct{ *memStore }

func (s brokenStore) Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	d, err := s.memStore.Due(ctx, now, limit)
	for i := range d {
		d[i].Err = errors.New("notify: channel disabled")
	}
	return d, err
}
