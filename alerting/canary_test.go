package alerting

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
)

// canaryStore is a notify.Store in memory: every pending delivery is due.
type canaryStore struct {
	mu    sync.Mutex
	items []notify.Delivery
	state map[string]string
}

func (s *canaryStore) add(d notify.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		s.state = map[string]string{}
	}
	s.items = append(s.items, d)
	s.state[d.ID] = notify.StatusPending
}

func (s *canaryStore) Due(_ context.Context, _ time.Time, limit int) ([]notify.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notify.Delivery
	for _, d := range s.items {
		if s.state[d.ID] == notify.StatusPending && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *canaryStore) Record(_ context.Context, id string, o notify.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state[id] = o.Status
	for i := range s.items {
		if s.items[i].ID == id {
			s.items[i].Attempts = o.Attempts
		}
	}
	return nil
}

// canarySender fails every send to the channels in broken and records the others.
type canarySender struct {
	mu     sync.Mutex
	broken map[string]bool
	sent   []string // "channel event title"
}

func (s *canarySender) Send(_ context.Context, ch notify.Channel, m notify.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken[ch.ID] {
		return errors.New("connection refused")
	}
	s.sent = append(s.sent, ch.ID+" "+m.Event+" "+m.Title())
	return nil
}

func (s *canarySender) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// logLines is a slog handler's output, for asserting on the error line.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCanaryRaisedAfterTheWindowAndCleared: alerts to a channel that always fails; once
// every delivery has failed for the window the canary is raised (an error line, the
// status), every other channel gets one notice and the broken one none; a delivery on
// any channel clears it.
func TestCanaryRaisedAfterTheWindowAndCleared(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pager := notify.Channel{ID: "pager", Name: "Pager", Type: "webhook"}
	slack := notify.Channel{ID: "slack", Name: "Slack", Type: "webhook"}
	mail := notify.Channel{ID: "mail", Name: "Mail", Type: "email"}
	sender := &canarySender{broken: map[string]bool{"pager": true}}
	logs := &logLines{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	c := &Canary{After: 10 * time.Minute, Now: clock, Logger: logger, Sender: sender,
		Channels: func(context.Context) ([]notify.Channel, error) { return []notify.Channel{pager, slack, mail}, nil }}
	st := &canaryStore{}
	w := &notify.Worker{Store: st, Sender: sender, Policy: notify.Policy{MaxAttempts: 100, Base: time.Second, Max: time.Second},
		Now: clock, Logger: slog.New(slog.DiscardHandler), Observe: c.Observe}
	st.add(notify.Delivery{ID: "n1", Channel: pager, Message: notify.Message{Event: "down", ServiceID: "db"}})

	ctx := context.Background()
	step := func(d time.Duration) {
		t.Helper()
		now = now.Add(d)
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(0) // the first attempt fails
	for range 9 {
		step(time.Minute)
		if c.Check(ctx) {
			t.Fatalf("raised at %v, before the window of %v passed", now, c.After)
		}
	}
	if s := c.Status(); s.Raised {
		t.Fatalf("got %+v before the window passed, want not raised", s)
	}
	now = now.Add(time.Minute) // ten minutes of failures, no retry in the last one
	if !c.Check(ctx) {
		t.Fatal("not raised after ten minutes of failures")
	}
	s := c.Status()
	if !s.Raised || !s.RaisedAt.Equal(now) || !s.FailingSince.Equal(now.Add(-10*time.Minute)) || strings.Join(s.Channels, ",") != "Pager" {
		t.Errorf("got %+v, want raised now, failing for 10 minutes, on Pager", s)
	}
	got := sender.got()
	if len(got) != 2 || !containsPrefix(got, "slack external") || !containsPrefix(got, "mail external") {
		t.Fatalf("canary notices: got %q, want one to slack and one to mail, none to pager", got)
	}
	if !strings.Contains(got[0], "Notifications are failing") {
		t.Errorf("notice title: got %q", got[0])
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "NOTIFICATIONS ARE FAILING") || !strings.Contains(l, "Pager") {
		t.Errorf("log: got %q, want an error line naming Pager", l)
	}
	if c.Check(ctx) || len(sender.got()) != 2 {
		t.Errorf("a second check while raised notified again: %q", sender.got())
	}

	// The pager is fixed: its retry goes out, and the canary is down.
	sender.mu.Lock()
	sender.broken["pager"] = false
	sender.mu.Unlock()
	step(time.Minute)
	if s := c.Status(); s.Raised || !s.FailingSince.IsZero() {
		t.Errorf("after a delivery: got %+v, want cleared", s)
	}
	if !strings.Contains(logs.String(), "delivered again") {
		t.Errorf("log: got %q, want the clearing said", logs.String())
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestCanaryNotRaisedWhileSomethingDelivers: one channel fails for longer than the
// window, but another delivers meanwhile: notifications are getting through, no canary.
func TestCanaryNotRaisedWhileSomethingDelivers(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &Canary{After: 10 * time.Minute, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler),
		Sender: &canarySender{}, Channels: func(context.Context) ([]notify.Channel, error) { return nil, nil }}
	pager := notify.Delivery{Channel: notify.Channel{ID: "pager"}}
	c.Observe(pager, notify.Outcome{Status: notify.StatusPending, LastError: "refused"})
	now = now.Add(9 * time.Minute)
	c.Observe(notify.Delivery{Channel: notify.Channel{ID: "slack"}}, notify.Outcome{Status: notify.StatusSent})
	now = now.Add(2 * time.Minute)
	c.Observe(pager, notify.Outcome{Status: notify.StatusFailed, LastError: "refused"})
	if c.Check(context.Background()) || c.Status().Raised {
		t.Errorf("raised 2 minutes after a delivery, want not before %v", c.After)
	}
}
