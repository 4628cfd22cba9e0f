package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// onTime is the promise: a healthy channel's notification goes out within a second of
// being due, whatever the other channels are doing.
const onTime = time.Second

// receiver is a healthy endpoint: it answers 200 at once and reports each event it gets.
type receiver struct {
	*httptest.Server
	events chan string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{events: make(chan string, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Event string }
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		rc.events <- v.Event
	}))
	t.Cleanup(rc.Close)
	return rc
}

// expect fails unless the receiver's next event is want and it came within onTime of due.
func (rc *receiver) expect(t *testing.T, want string, due time.Time) {
	t.Helper()
	select {
	case got := <-rc.events:
		if got != want {
			t.Fatalf("healthy channel: got %s, want %s", got, want)
		}
		if late := time.Since(due); late > onTime {
			t.Errorf("healthy channel: %s arrived %v after it was due, want within %v", want, late.Round(time.Millisecond), onTime)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("healthy channel: no %s within 5 s of it being due, want within %v", want, onTime)
	}
}

// stuck is an endpoint that answers status, but holds every request from the holdFrom-th
// on until the test releases it (or the worker gives up on the request): a hung or
// struggling webhook. It counts the requests it holds at once.
type stuck struct {
	*httptest.Server
	held    chan struct{} // one value per request being held
	release chan struct{}
	once    sync.Once

	mu                          sync.Mutex
	requests, inFlight, maxHeld int
}

func newStuck(t *testing.T, holdFrom, status int) *stuck {
	s := &stuck{held: make(chan struct{}, 100), release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		n := s.requests
		s.inFlight++
		s.maxHeld = max(s.maxHeld, s.inFlight)
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
		if n >= holdFrom {
			s.held <- struct{}{}
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(func() { s.releaseAll(); s.Close() })
	return s
}

func (s *stuck) releaseAll() { s.once.Do(func() { close(s.release) }) }

// waitHeld waits until a request is being held.
func (s *stuck) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-s.held:
	case <-time.After(5 * time.Second):
		t.Fatal("the stuck endpoint got no request within 5 s")
	}
}

// counts reports how many requests came in all and the most held at once.
func (s *stuck) counts() (requests, maxAtOnce int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.maxHeld
}

// waitStatus waits until the store holds status for id.
func (s *memStore) waitStatus(t *testing.T, id, status string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for s.outcome(id).Status != status {
		select {
		case <-s.recorded:
		case <-deadline:
			t.Fatalf("%s: still %s after 5 s, want %s", id, s.outcome(id).Status, status)
		}
	}
}

func webhook(id, url string) Channel {
	return Channel{ID: id, Name: id, Type: Webhook, Settings: &webhookSettings{URL: url}}
}

// fastRetry keeps the retry policy's shape with waits short enough for a test.
var fastRetry = Policy{MaxAttempts: 3, Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}

// startWorker runs a worker whose attempts time out only after a minute, so a hung
// endpoint stays hung for the whole test; the worker stops when the test ends.
func startWorker(t *testing.T, store Store, p Policy) *Worker {
	w := &Worker{Store: store, Sender: &Sender{}, Policy: p, Poll: 5 * time.Millisecond, Timeout: time.Minute, Logger: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	w.Wake()
	return w
}

// TestHungChannelDoesNotDelayOthers: with one webhook that never answers, the other
// channel still gets its alerts and then a recovery within a second of each being due,
// and the hung endpoint is sent one request at a time however many wait for it.
func TestHungChannelDoesNotDelayOthers(t *testing.T) {
	hung, healthy := newStuck(t, 1, http.StatusOK), newReceiver(t)
	h, g := webhook("hung", hung.URL), webhook("healthy", healthy.URL)
	store := &memStore{recorded: make(chan struct{}, 100)}
	for _, inc := range []string{"i1", "i2", "i3"} {
		store.add("hung-down-"+inc, inc, h, down)
		store.add("healthy-down-"+inc, inc, g, down)
	}
	due := time.Now()
	w := startWorker(t, store, fastRetry)
	for range 3 {
		healthy.expect(t, "down", due)
	}
	hung.waitHeld(t)

	store.waitStatus(t, "healthy-down-i1", StatusSent)
	store.add("hung-up-i1", "i1", h, recovery)
	store.add("healthy-up-i1", "i1", g, recovery)
	due = time.Now()
	w.Wake()
	healthy.expect(t, "up", due)

	if n, most := hung.counts(); n != 1 || most != 1 {
		t.Errorf("hung endpoint: got %d requests, %d at once; want 1 and 1", n, most)
	}
	for _, id := range []string{"hung-down-i1", "hung-down-i2", "hung-down-i3", "hung-up-i1"} {
		if o := store.outcome(id); o.Status != StatusPending || o.Attempts != 0 {
			t.Errorf("%s: got %s after %d attempts, want still pending, none made", id, o.Status, o.Attempts)
		}
	}
}

// TestHungChannelBacklogDoesNotStarveOthers: a hung channel with more notifications
// waiting than one look at the store returns (a mass outage) still leaves room for the
// other channels.
func TestHungChannelBacklogDoesNotStarveOthers(t *testing.T) {
	hung, healthy := newStuck(t, 1, http.StatusOK), newReceiver(t)
	h, g := webhook("hung", hung.URL), webhook("healthy", healthy.URL)
	store := &memStore{recorded: make(chan struct{}, 100)}
	for i := range 3 * roundSize {
		store.add(fmt.Sprintf("hung-%d", i), fmt.Sprintf("i%d", i), h, down)
	}
	store.add("healthy", "j", g, down)
	due := time.Now()
	startWorker(t, store, fastRetry)
	healthy.expect(t, "down", due)
	hung.waitHeld(t)
	if n, most := hung.counts(); n != 1 || most != 1 {
		t.Errorf("hung endpoint: got %d requests, %d at once; want 1 and 1", n, most)
	}
}

// TestFailingChannelDoesNotDelayOthers: a channel answering 500, slowly, while its
// retries run does not hold up another channel's recovery, and it still gets its
// retries, one at a time, until the policy gives up.
func TestFailingChannelDoesNotDelayOthers(t *testing.T) {
	failing, healthy := newStuck(t, 2, http.StatusInternalServerError), newReceiver(t)
	f, g := webhook("failing", failing.URL), webhook("healthy", healthy.URL)
	store := &memStore{recorded: make(chan struct{}, 100)}
	store.add("failing-down", "i1", f, down)
	store.add("healthy-down", "i1", g, down)
	due := time.Now()
	w := startWorker(t, store, fastRetry)
	healthy.expect(t, "down", due)
	failing.waitHeld(t) // the first retry is in flight

	store.waitStatus(t, "healthy-down", StatusSent)
	store.add("healthy-up", "i1", g, recovery)
	due = time.Now()
	w.Wake()
	healthy.expect(t, "up", due)

	failing.releaseAll()
	store.settled(t)
	if o := store.outcome("failing-down"); o.Status != StatusFailed || o.Attempts != fastRetry.MaxAttempts {
		t.Errorf("failing channel: got %s after %d attempts, want failed after %d", o.Status, o.Attempts, fastRetry.MaxAttempts)
	}
	if n, most := failing.counts(); n != fastRetry.MaxAttempts || most != 1 {
		t.Errorf("failing endpoint: got %d requests, %d at once; want %d and 1", n, most, fastRetry.MaxAttempts)
	}
	for _, id := range []string{"healthy-down", "healthy-up"} {
		if o := store.outcome(id); o.Status != StatusSent || o.Attempts != 1 {
			t.Errorf("%s: got %s after %d attempts, want sent after 1", id, o.Status, o.Attempts)
		}
	}
}

// TestWorkerStopsDuringHungDelivery: stopping the worker while an endpoint hangs returns
// at once and leaves the notification pending for the next start.
func TestWorkerStopsDuringHungDelivery(t *testing.T) {
	hung := newStuck(t, 1, http.StatusOK)
	store := &memStore{recorded: make(chan struct{}, 10)}
	store.add("n1", "i1", webhook("hung", hung.URL), down)
	w := &Worker{Store: store, Sender: &Sender{}, Policy: fastRetry, Poll: time.Minute, Timeout: time.Minute, Logger: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	w.Wake()
	hung.waitHeld(t)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the worker did not stop within 2 s while a request hung")
	}
	if o := store.outcome("n1"); o.Status != StatusPending || o.Attempts != 0 {
		t.Errorf("n1: got %s after %d attempts, want still pending, none made", o.Status, o.Attempts)
	}
}

// gatedStore holds one Due answer, taken while armed, until the test opens the gate:
// the view of a store query that raced with a delivery being recorded.
type gatedStore struct {
	*memStore
	armed atomic.Bool
	taken chan struct{} // closed once the held answer is taken
	gate  chan struct{}
	after chan struct{} // one value per Due answered after the gate opened
}

func (s *gatedStore) Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	d, err := s.memStore.Due(ctx, now, limit)
	if s.armed.CompareAndSwap(true, false) {
		close(s.taken)
		<-s.gate
		return d, err
	}
	select {
	case <-s.gate:
		s.after <- struct{}{}
	default:
	}
	return d, err
}

// holdingSender counts its sends and holds the first until released.
type holdingSender struct {
	sends   atomic.Int32
	held    chan struct{}
	release chan struct{}
}

func (s *holdingSender) Send(ctx context.Context, _ Channel, _ Message) error {
	if s.sends.Add(1) == 1 {
		close(s.held)
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// within fails with msg unless c yields within 5 s.
func within(t *testing.T, c <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal(msg + " within 5 s")
	}
}

// TestWorkerNeverResendsOnStaleAnswer: a store answer taken before a delivery was
// recorded as sent (a lane finishing while the worker looked for more work) must not
// send that notification again.
func TestWorkerNeverResendsOnStaleAnswer(t *testing.T) {
	store := &gatedStore{memStore: &memStore{recorded: make(chan struct{}, 10)},
		taken: make(chan struct{}), gate: make(chan struct{}), after: make(chan struct{}, 100)}
	store.add("n1", "i1", Channel{ID: "c", Name: "c", Type: Webhook}, down)
	sender := &holdingSender{held: make(chan struct{}), release: make(chan struct{})}
	w := &Worker{Store: store, Sender: sender, Policy: fastRetry, Poll: time.Minute, Timeout: time.Minute, Logger: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	w.Wake()
	within(t, sender.held, "n1 was not sent")

	store.armed.Store(true)
	w.Wake()
	// While n1 is being sent the worker still looks for other channels' work; its view
	// of the store has n1 pending.
	within(t, store.taken, "the worker did not look at the store while a delivery was in flight")
	close(sender.release)
	store.waitStatus(t, "n1", StatusSent)
	close(store.gate)
	within(t, store.after, "the worker did not look at the store again after the delivery")
	cancel()
	<-done
	if n := sender.sends.Load(); n != 1 {
		t.Errorf("n1 was sent %d times, want once", n)
	}
}
