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

// Worker delivers due notifications until its context ends. Each channel's messages go
// out in order; different channels are served side by side, so one slow endpoint does
// not hold up the others.
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

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.logger().Error("notifications: delivery round failed", "error", err)
		}
		if n > 0 && err == nil {
			continue // more may be due right behind these
		}
		t.Reset(poll)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// roundSize bounds the notifications one round takes from the store.
const roundSize = 50

// RunOnce delivers the notifications due now and reports how many it handled.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	due, err := w.Store.Due(ctx, w.now(), roundSize)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	byChannel := map[string][]Delivery{}
	var order []string
	for _, d := range due {
		if _, ok := byChannel[d.Channel.ID]; !ok {
			order = append(order, d.Channel.ID)
		}
		byChannel[d.Channel.ID] = append(byChannel[d.Channel.ID], d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(due))
	sem := make(chan struct{}, 4)
	for _, id := range order {
		list := byChannel[id]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, d := range list {
				if err := w.deliver(ctx, d); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return len(due), <-errs
}

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
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the notification stays pending for next start
		}
	} else {
		err = Permanent(err)
	}
	o := w.Policy.Next(d.Attempts+1, err, w.now())
	if o.Status != StatusSent {
		w.logger().Warn("notification not delivered", "channel", d.Channel.Name, "event", d.Message.Event,
			"attempt", o.Attempts, "status", o.Status, "error", o.LastError)
	}
	return w.Store.Record(ctx, d.ID, o)
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
