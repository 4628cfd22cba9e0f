package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// The states of a stored notification.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Delivery is a stored notification that is due.
type Delivery struct {
	ID       string
	Attempts int // attempts made so far
	Channel  Channel
	Message  Message
	// Err, when set, fails the delivery without an attempt (a channel disabled or
	// misconfigured since the notification was queued).
	Err error
}

// Outcome is what an attempt leaves in the store.
type Outcome struct {
	Status        string
	Attempts      int
	LastError     string
	SentAt        time.Time
	NextAttemptAt time.Time
}

// Store is where notifications wait. Due returns pending notifications whose time has
// come, oldest first, leaving out any behind an earlier pending one of the same channel
// and incident: a recovery never overtakes its alert.
type Store interface {
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	Record(ctx context.Context, id string, o Outcome) error
}

// Deliverer sends one message through one channel (*Sender is one).
type Deliverer interface {
	Send(ctx context.Context, ch Channel, m Message) error
}

// Policy is how failed deliveries are retried: exponential backoff from Base, at most
// Max apart, until MaxAttempts attempts have been made.
type Policy struct {
	MaxAttempts int
	Base, Max   time.Duration
}

// DefaultPolicy retries for about two hours: 10 s, 20 s, 40 s ... capped at 30 min,
// 10 attempts in all.
var DefaultPolicy = Policy{MaxAttempts: 10, Base: 10 * time.Second, Max: 30 * time.Minute}

// Next is the outcome of attempt number attempts (1 for the first) that ended in err.
func (p Policy) Next(attempts int, err error, now time.Time) Outcome {
	if err == nil {
		return Outcome{Status: StatusSent, Attempts: attempts, SentAt: now}
	}
	o := Outcome{Status: StatusFailed, Attempts: attempts, LastError: truncate(err.Error(), 1000)}
	var e *Error
	if errors.As(err, &e) && e.Permanent {
		return o
	}
	if attempts >= p.MaxAttempts {
		return o
	}
	wait := p.Base
	for i := 1; i < attempts && wait < p.Max; i++ {
		wait *= 2
	}
	if wait > p.Max {
		wait = p.Max
	}
	if e != nil && e.RetryAfter > wait {
		wait = min(e.RetryAfter, time.Hour) // the endpoint asked for longer; within reason
	}
	o.Status, o.NextAttemptAt = StatusPending, now.Add(wait)
	return o
}

// Worker delivers due notifications until its context ends. Each channel has its own
// delivery lane with at most one attempt in flight: a channel's messages go out in order,
// and one that hangs or fails holds up only itself (and gets one request at a time),
// never another channel.
type Worker struct {
	Store  Store
	Sender Deliverer
	Policy Policy
	Now    func() time.Time
	Logger *slog.Logger
	// Poll is how often the store is asked when nothing woke the worker; it bounds how
	// late a retry goes out.
	Poll time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Observe, when set, is told the outcome of every attempt once it is recorded (the
	// alerting's canary watches for channels that deliver nothing). It must not block.
	Observe func(Delivery, Outcome)

	once sync.Once
	wake chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() { w.wake = make(chan struct{}, 1) })
}

// Wake tells the worker new notifications are waiting; it never blocks.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the attempts in flight, which end with ctx:
// a notification cut short stays pending and goes out after the next start.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	l := newLanes(w)
	t := time.NewTimer(w.poll())
	defer t.Stop()
	var freed []string // the channels whose lanes just ended; nil: look for all work
	for {
		if freed == nil {
			t.Reset(w.poll()) // a look at everything at least every Poll: retries fall due unannounced
		}
		if _, err := l.dispatch(ctx, freed); err != nil && ctx.Err() == nil {
			w.logger().Error("notifications: delivery round failed", "error", err)
		}
		freed = nil
		select {
		case <-ctx.Done():
			l.drain(ctx)
			return
		case <-w.wake:
		case <-t.C:
		case r := <-l.done:
			freed = l.ended(ctx, r, nil)
			for more := true; more; {
				select {
				case r := <-l.done:
					freed = l.ended(ctx, r, freed)
				default:
					more = false
				}
			}
		}
	}
}

// RunOnce starts one delivery for each channel with a notification due now, waits for
// them and reports how many there were. Unlike Run it waits for a slow channel; it is for
// tests and tools.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	l := newLanes(w)
	n, err := l.dispatch(ctx, nil)
	for range n {
		if r := <-l.done; r.err != nil && err == nil {
			err = r.err
		}
	}
	return n, err
}

const (
	// roundSize is how many due notifications one look at the store takes.
	roundSize = 50
	// scanMax bounds how far one look goes past the backlog of busy channels to find
	// work for idle ones.
	scanMax = 5000
)

// lanes knows which channels have a delivery in flight. Only the dispatching goroutine
// touches it, and a channel is free again only once that goroutine has read the lane's
// result, which comes after the outcome was recorded: a store answer taken before then
// may still list the delivery as pending, and must not send it twice.
type lanes struct {
	w    *Worker
	busy map[string]bool
	done chan laneResult
}

type laneResult struct {
	channel string
	err     error
}

func newLanes(w *Worker) *lanes {
	return &lanes{w: w, busy: map[string]bool{}, done: make(chan laneResult)}
}

// dispatch starts a lane for each idle channel with a due notification, the oldest one
// first, and reports how many it started. The notifications of busy channels stay in the
// store until their lane is free, so a look may have to page past a busy channel's
// backlog to reach the others. When only some channels were just freed it stops as soon
// as they all have work again; a look at everything follows within Poll.
func (l *lanes) dispatch(ctx context.Context, freed []string) (int, error) {
	started := 0
	for limit := roundSize; ; limit = min(limit*4, scanMax) {
		due, err := l.w.Store.Due(ctx, l.w.now(), limit)
		if err != nil {
			return started, err
		}
		for _, d := range due {
			if !l.busy[d.Channel.ID] {
				l.busy[d.Channel.ID] = true
				started++
				go l.run(ctx, d)
			}
		}
		if len(due) < limit || limit == scanMax || (freed != nil && l.allBusy(freed)) {
			return started, nil
		}
	}
}

func (l *lanes) allBusy(channels []string) bool {
	for _, id := range channels {
		if !l.busy[id] {
			return false
		}
	}
	return true
}

// run is a lane: one delivery, then its result to the dispatcher.
func (l *lanes) run(ctx context.Context, d Delivery) {
	err := l.w.deliver(ctx, d)
	if err != nil && ctx.Err() == nil {
		// The outcome could not be recorded, so the store still lists the notification as
		// due: hold the lane a while rather than send it again at once.
		select {
		case <-ctx.Done():
		case <-time.After(l.w.poll()):
		}
	}
	l.done <- laneResult{channel: d.Channel.ID, err: err}
}

// ended frees a lane's channel and adds it to freed.
func (l *lanes) ended(ctx context.Context, r laneResult, freed []string) []string {
	delete(l.busy, r.channel)
	if r.err != nil && !errors.Is(r.err, ctx.Err()) { // a stop is no failure
		l.w.logger().Error("notifications: delivery not recorded", "error", r.err)
	}
	return append(freed, r.channel)
}

// drain waits for every lane to end.
func (l *lanes) drain(ctx context.Context) {
	for len(l.busy) > 0 {
		l.ended(ctx, <-l.done, nil)
	}
}

// recordTimeout bounds storing an outcome once the worker is stopping.
const recordTimeout = 5 * time.Second

func (w *Worker) deliver(ctx context.Context, d Delivery) error {
	err := d.Err
	if err == nil {
		timeout := w.Timeout
		if timeout <= 0 {
			timeout = 20 * time.Second
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		err = w.Sender.Send(actx, d.Channel, d.Message)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // cut short by a stop: the notification stays pending for next start
		}
	} else {
		err = Permanent(err)
	}
	o := w.Policy.Next(d.Attempts+1, err, w.now())
	if o.Status != StatusSent {
		w.logger().Warn("notification not delivered", "channel", d.Channel.Name, "event", d.Message.Event,
			"attempt", o.Attempts, "status", o.Status, "error", o.LastError)
	}
	// A stop arriving now must not leave a sent notification pending, to go out again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := w.Store.Record(rctx, d.ID, o); err != nil {
		return err
	}
	if w.Observe != nil {
		w.Observe(d, o)
	}
	return nil
}

func (w *Worker) poll() time.Duration {
	if w.Poll <= 0 {
		return time.Second
	}
	return w.Poll
}

func (w *Worker) now() time.Time {
	if w.Now == nil {
		return time.Now().UTC()
	}
	return w.Now().UTC()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}
