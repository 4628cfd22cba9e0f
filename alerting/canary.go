package alerting

import (
	"context"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// DefaultCanaryAfter is how long notifications may fail on every channel before the
// canary is raised (--canaryAfter).
const DefaultCanaryAfter = 10 * time.Minute

// canaryTick is how often the canary looks at the time: it is raised at most this late.
const canaryTick = time.Second

// Canary watches the delivery worker: when alerts were due and no notification could be
// delivered on any channel for After, it is raised. Raising logs an error, shows on
// /api/health and in the dashboard's header, and sends one notice to every enabled
// channel that none of the failing alerts went to. A delivery on any channel clears it
// (its own notices do not count: they say something is wrong, not that it is fixed).
type Canary struct {
	After  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// Channels lists every channel that can be sent to (disabled and broken ones left out).
	Channels func(ctx context.Context) ([]notify.Channel, error)
	Sender   notify.Deliverer
	// Timeout bounds one notice.
	Timeout time.Duration

	mu           sync.Mutex
	failingSince time.Time         // the first failure since the last delivery; zero when none
	failed       map[string]string // the channels that failed since then, id to name
	lastError    string
	raisedAt     time.Time // zero while the canary is down
}

// CanaryStatus is what the canary says: Raised since when, and since when every attempt
// failed; the names of the channels that failed and the last error are for the
// dashboard (logged-in people), not for the public health reply.
type CanaryStatus struct {
	Raised       bool
	RaisedAt     time.Time
	FailingSince time.Time
	Channels     []string
	LastError    string
}

// Observe is the worker's hook: it is told the outcome of every delivery attempt.
func (c *Canary) Observe(d notify.Delivery, o notify.Outcome) {
	if o.Status == notify.StatusSent {
		c.Delivered()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failingSince.IsZero() {
		c.failingSince = c.now()
		c.failed = map[string]string{}
	}
	c.failed[d.Channel.ID] = d.Channel.Name
	c.lastError = o.LastError
}

// Delivered tells the canary a notification went out: it is cleared.
func (c *Canary) Delivered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.raisedAt.IsZero() {
		c.logger().Info("notifications: delivered again; the canary is cleared", "failingFor", c.now().Sub(c.failingSince).Round(time.Second).String())
	}
	c.failingSince, c.failed, c.lastError, c.raisedAt = time.Time{}, nil, "", time.Time{}
}

// Status is the canary's state now.
func (c *Canary) Status() CanaryStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CanaryStatus{Raised: !c.raisedAt.IsZero(), RaisedAt: c.raisedAt, FailingSince: c.failingSince, LastError: c.lastError}
	for _, name := range c.failed {
		s.Channels = append(s.Channels, name)
	}
	sort.Strings(s.Channels)
	return s
}

// Check raises the canary when every attempt has failed for After; it reports whether it
// raised it now. Raising sends the notices (each bounded by Timeout) before it returns.
func (c *Canary) Check(ctx context.Context) bool {
	c.mu.Lock()
	now := c.now()
	if c.failingSince.IsZero() || !c.raisedAt.IsZero() || now.Sub(c.failingSince) < c.After {
		c.mu.Unlock()
		return false
	}
	c.raisedAt = now
	since, lastError := c.failingSince, c.lastError
	failed := make(map[string]string, len(c.failed))
	var names []string
	for id, name := range c.failed {
		failed[id] = name
		names = append(names, name)
	}
	c.mu.Unlock()
	sort.Strings(names)
	c.logger().Error("NOTIFICATIONS ARE FAILING: no notification could be delivered on any channel; trying every other channel",
		"failingSince", since.Format(time.RFC3339), "failingFor", now.Sub(since).Round(time.Second).String(),
		"failedChannels", names, "lastError", lastError)
	c.notify(ctx, failed, canaryMessage(now, since, names))
	return true
}

// notify sends m to every channel not in failed, at once, and waits for them.
func (c *Canary) notify(ctx context.Context, failed map[string]string, m notify.Message) {
	chans, err := c.Channels(ctx)
	if err != nil {
		c.logger().Error("notifications: canary: list channels", "error", err)
		return
	}
	var wg sync.WaitGroup
	tried := 0
	for _, ch := range chans {
		if _, ok := failed[ch.ID]; ok {
			continue
		}
		tried++
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, c.timeout())
			defer cancel()
			if err := c.Sender.Send(sctx, ch, m); err != nil {
				c.logger().Error("notifications: canary notice not delivered", "channel", ch.Name, "error", err)
				return
			}
			c.logger().Warn("notifications: canary notice delivered", "channel", ch.Name)
		}()
	}
	wg.Wait()
	if tried == 0 {
		c.logger().Error("notifications: canary: no other channel to try; add a second channel of another kind")
	}
}

// canaryMessage is the canary's notice: an external alert from the monitor itself, which
// every channel type knows how to show.
func canaryMessage(now, since time.Time, failed []string) notify.Message {
	text := "Heartbeat Monitor could not deliver any notification since " + since.UTC().Format("2006-01-02 15:04:05 UTC") +
		" (" + notify.Duration(now.Sub(since)) + "): alerts may be going unseen. Check the channels"
	if len(failed) > 0 {
		text += " that failed: " + strings.Join(failed, ", ")
	}
	text += "."
	return notify.Message{Event: notify.EventExternal, At: now, Alert: &notify.External{
		Title: "Notifications are failing", Message: text, Severity: "critical", Source: "heartbeat-monitor canary",
	}}
}

// Run checks the canary every second until ctx ends.
func (c *Canary) Run(ctx context.Context) {
	t := time.NewTicker(canaryTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Check(ctx)
		}
	}
}

func (c *Canary) now() time.Time {
	if c.Now == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}

func (c *Canary) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 20 * time.Second
	}
	return c.Timeout
}

func (c *Canary) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// sendableChannels lists the stored channels that can be sent to.
func (a *Alerting) sendableChannels(ctx context.Context) ([]notify.Channel, error) {
	rows, err := store.LoadChannels(a.App.DB())
	if err != nil {
		return nil, err
	}
	var out []notify.Channel
	for _, r := range rows {
		if ch, err := ChannelOf(r); err == nil {
			out = append(out, ch)
		}
	}
	return out, ctx.Err()
}

// startCanary builds the canary (unless after is 0), hooks it to the worker and runs it
// until ctx ends.
func (a *Alerting) startCanary(ctx context.Context, after time.Duration, now func() time.Time) {
	if after <= 0 {
		return
	}
	a.canary = &Canary{After: after, Now: now, Logger: LoudLogger(a.App), Channels: a.sendableChannels, Sender: a.Sender()}
	a.worker.Observe = a.canary.Observe
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.canary.Run(ctx)
	}()
}

// LoudLogger is app's logger and, outside dev mode (where that logger writes to the
// logs table alone), standard error too: for what an operator must see in the service's
// own log (journald, docker logs) without opening the admin UI.
func LoudLogger(app core.App) *slog.Logger {
	if app.IsDev() {
		return app.Logger()
	}
	return slog.New(slog.NewMultiHandler(app.Logger().Handler(), slog.NewTextHandler(os.Stderr, nil)))
}

// Canary is the canary's state; the zero status (not raised) when it is off.
func (a *Alerting) Canary() CanaryStatus {
	if a.canary == nil {
		return CanaryStatus{}
	}
	return a.canary.Status()
}

// CanaryBanner is what the dashboard's header says while the canary is raised; "" when
// it is not.
func (a *Alerting) CanaryBanner() string {
	s := a.Canary()
	if !s.Raised {
		return ""
	}
	text := "No notification could be delivered on any channel since " + s.FailingSince.UTC().Format("2006-01-02 15:04 UTC") + "; alerts may be going unseen."
	if len(s.Channels) > 0 {
		text += " Failing: " + strings.Join(s.Channels, ", ") + "."
	}
	if s.LastError != "" {
		text += " Last error: " + s.LastError
	}
	return text
}

// CanaryReply is the canary as GET /api/health shows it to anyone: whether notifications
// are failing, and since when (no channel names or errors: the route is public).
type CanaryReply struct {
	Failing      bool   `json:"failing"`
	FailingSince string `json:"failingSince,omitempty"`
}

// CanaryHealth is the health reply's "notifications" field.
func (a *Alerting) CanaryHealth() any {
	s := a.Canary()
	if !s.Raised {
		return CanaryReply{}
	}
	return CanaryReply{Failing: true, FailingSince: s.FailingSince.UTC().Format(time.RFC3339)}
}
