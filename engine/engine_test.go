package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// sink records what was committed, and fails while fail is set.
type sink struct {
	mu        sync.Mutex
	fail      bool
	committed []Transition
	calls     int
	onCommit  func()
}

func (s *sink) Commit(now time.Time, ts []Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail {
		return errors.New("disk full")
	}
	s.committed = append(s.committed, ts...)
	if s.onCommit != nil {
		s.onCommit()
	}
	return nil
}

func (s *sink) take() []Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.committed
	s.committed = nil
	return out
}

// notices lists a transition's notices as "event:channel,channel".
func notices(ts []Transition) []string {
	var out []string
	for _, t := range ts {
		for _, n := range t.Decision.Notices {
			out = append(out, fmt.Sprintf("%s %s:%v", t.Service.ServiceID, n.Event, n.Channels))
		}
	}
	return out
}

var ids int

func newID(time.Time) string { ids++; return fmt.Sprintf("inc%d", ids) }

func newEngine(c *clock, s *sink) *Engine {
	return New(Config{StartedAt: t0.Add(-time.Hour), FlapLimit: monitor.DefaultFlapLimit, Now: c.Now, NewID: newID, Sink: s})
}

// svc is a service that beats every 2 min with a 5 min threshold, last seen at seen and
// found up then.
func svc(id string, seen time.Time) Service {
	return Service{ID: id, ServiceID: id, Model: monitor.Service{LastSeen: seen, LastStatus: "up", Interval: 2 * time.Minute, Threshold: 5 * time.Minute},
		State: monitor.Up, Since: seen}
}

var everyone = []monitor.Subscriber{{ID: "ops", Events: []monitor.Event{monitor.EventDown, monitor.EventUp, monitor.EventLate}}}

func TestEngineWakesAtEachDeadline(t *testing.T) {
	c := &clock{now: t0}
	s := &sink{}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0)}, everyone, nil)
	if n := e.Step(c.Now()); n != 0 {
		t.Fatalf("a service that just beat: %d transitions, want none", n)
	}
	v, _ := e.Get("a")
	if want := t0.Add(2*time.Minute + time.Nanosecond); !v.Due.Equal(want) {
		t.Fatalf("due %s, want %s (the interval passing)", v.Due, want)
	}
	steps := []struct {
		at      time.Time
		want    monitor.Status
		notices []string
	}{
		{t0.Add(2 * time.Minute), monitor.Up, nil}, // exactly at the interval: nothing due yet
		{t0.Add(2*time.Minute + time.Millisecond), monitor.Late, []string{"a late:[ops]"}},
		{t0.Add(5 * time.Minute), monitor.Late, nil}, // exactly at the threshold
		{t0.Add(5*time.Minute + time.Millisecond), monitor.Down, []string{"a down:[ops]"}},
		{t0.Add(time.Hour), monitor.Down, nil}, // down stays down: nothing more
	}
	for _, st := range steps {
		c.Set(st.at)
		e.Step(c.Now())
		got := s.take()
		v, _ := e.Get("a")
		if v.State != st.want {
			t.Errorf("at %s: %s, want %s", st.at.Sub(t0), v.State, st.want)
		}
		if fmt.Sprint(notices(got)) != fmt.Sprint(st.notices) {
			t.Errorf("at %s: notices %v, want %v", st.at.Sub(t0), notices(got), st.notices)
		}
	}
	v, _ = e.Get("a")
	if v.Open == nil || !v.Open.StartedAt.Equal(t0.Add(5*time.Minute)) || v.Open.AlertedAt.IsZero() {
		t.Fatalf("open incident %+v, want one alerted, started when the threshold passed", v.Open)
	}
	if !v.Since.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("down since %s, want the threshold passing", v.Since)
	}
	if got := e.Counts(); got[monitor.Down] != 1 || got[monitor.Up] != 0 {
		t.Errorf("counts %v, want one down", got)
	}
}

func TestEngineBeatRecoversAtOnce(t *testing.T) {
	c := &clock{now: t0.Add(10 * time.Minute)}
	s := &sink{}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0)}, everyone, nil)
	e.Step(c.Now())
	if got := notices(s.take()); fmt.Sprint(got) != "[a down:[ops]]" {
		t.Fatalf("notices %v, want the down alert", got)
	}
	c.Set(t0.Add(11 * time.Minute))
	e.Beat("a", c.Now(), "up", "back")
	if n := e.Step(c.Now()); n != 1 {
		t.Fatalf("%d transitions after a recovering beat, want 1", n)
	}
	got := s.take()
	if fmt.Sprint(notices(got)) != "[a up:[ops]]" {
		t.Fatalf("notices %v, want the recovery to the channel that got the alert", notices(got))
	}
	if got[0].Decision.Close == nil {
		t.Fatal("the recovery closes no incident")
	}
	v, _ := e.Get("a")
	if v.State != monitor.Up || v.Open != nil || v.LastMessage != "back" || !v.Since.Equal(c.Now()) {
		t.Errorf("after the recovery: %+v", v)
	}
}

// TestEngineUpBeatIsOnlyRescheduled: the common beat (up, staying up) decides nothing and
// commits nothing; it moves the service's deadline.
func TestEngineUpBeatIsOnlyRescheduled(t *testing.T) {
	c := &clock{now: t0}
	s := &sink{}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0)}, everyone, nil)
	e.Step(c.Now())
	for i := 1; i <= 10; i++ {
		c.Set(t0.Add(time.Duration(i) * time.Minute))
		e.Beat("a", c.Now(), "up", "")
		e.Step(c.Now())
	}
	if s.calls != 0 {
		t.Errorf("sink called %d times for beats that change nothing", s.calls)
	}
	v, _ := e.Get("a")
	if want := t0.Add(12*time.Minute + time.Nanosecond); !v.Due.Equal(want) {
		t.Errorf("due %s, want the last beat's interval %s", v.Due, want)
	}
}

// TestEngineCommitFailure: nothing counts until the sink has stored it; a failed commit is
// tried again and alerts once.
func TestEngineCommitFailure(t *testing.T) {
	c := &clock{now: t0.Add(10 * time.Minute)}
	s := &sink{fail: true}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0)}, everyone, nil)
	e.Step(c.Now())
	v, _ := e.Get("a")
	if v.State != monitor.Up || v.Open != nil {
		t.Fatalf("after a failed commit: %s, open %v; want nothing applied", v.State, v.Open)
	}
	if want := c.Now().Add(time.Second); !v.Due.Equal(want) {
		t.Fatalf("due %s, want a retry at %s", v.Due, want)
	}
	s.fail = false
	c.Set(c.Now().Add(time.Second))
	e.Step(c.Now())
	c.Set(c.Now().Add(time.Minute))
	e.Step(c.Now())
	if got := notices(s.take()); fmt.Sprint(got) != "[a down:[ops]]" {
		t.Errorf("notices %v, want one down alert", got)
	}
}

// TestEngineRestartRebuildsState: loading what was committed gives the same state, and
// an alert already sent is not sent again; one that was not committed is.
func TestEngineRestartRebuildsState(t *testing.T) {
	c := &clock{now: t0.Add(10 * time.Minute)}
	s := &sink{}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0), svc("b", t0.Add(9*time.Minute))}, everyone, nil)
	e.Step(c.Now())
	if got := notices(s.take()); fmt.Sprint(got) != "[a down:[ops]]" {
		t.Fatalf("notices %v, want a's down alert", got)
	}
	var stored []Service
	e.Each(func(v View) bool {
		stored = append(stored, Service{ID: v.ID, ServiceID: v.ServiceID, Model: v.Model, State: v.State, Since: v.Since, Open: v.Open})
		return true
	})
	// The process dies; a new one starts a minute later with what was stored.
	c.Set(c.Now().Add(time.Minute))
	e2 := New(Config{StartedAt: c.Now(), FlapLimit: monitor.DefaultFlapLimit, Now: c.Now, NewID: newID, Sink: s})
	e2.Load(stored, everyone, nil)
	e2.Step(c.Now())
	if got := s.take(); len(got) != 0 {
		t.Fatalf("after the restart: %v, want nothing decided again", notices(got))
	}
	a, _ := e2.Get("a")
	if a.State != monitor.Down || a.Open == nil {
		t.Errorf("a after the restart: %s open %v, want still down with its incident", a.State, a.Open)
	}
	// b was up and beating before the restart: the restart grace gives it a fresh threshold.
	b, _ := e2.Get("b")
	if want := c.Now().Add(2*time.Minute + time.Nanosecond); b.State != monitor.Up || !b.Due.Equal(want) {
		t.Errorf("b after the restart: %s due %s, want up and due %s", b.State, b.Due, want)
	}
}

func TestEngineDependencies(t *testing.T) {
	c := &clock{now: t0.Add(10 * time.Minute)}
	s := &sink{}
	e := newEngine(c, s)
	child := svc("child", t0)
	child.Parents = []string{"router"}
	e.Load([]Service{svc("router", t0), child}, everyone, nil)
	e.Step(c.Now())
	for e.Step(c.Now()) > 0 {
	}
	got := s.take()
	if fmt.Sprint(notices(got)) != "[router down:[ops]]" {
		t.Fatalf("notices %v, want only the router's alert", notices(got))
	}
	for _, tr := range got {
		if tr.Service.ID == "router" && fmt.Sprint(tr.Decision.Notices[0].Dependents) != "[child]" {
			t.Errorf("router's alert names %v, want the child it holds back", tr.Decision.Notices[0].Dependents)
		}
	}
	// The router comes back, the child does not: the child's held alert goes out now.
	c.Set(c.Now().Add(time.Minute))
	e.Beat("router", c.Now(), "up", "")
	for e.Step(c.Now()) > 0 {
	}
	if got := notices(s.take()); fmt.Sprint(got) != "[router up:[ops] child down:[ops]]" {
		t.Errorf("notices %v, want the router's recovery, then the child's alert", got)
	}
}

func TestEngineMaintenanceEndReleasesAlert(t *testing.T) {
	c := &clock{now: t0.Add(10 * time.Minute)}
	s := &sink{}
	e := newEngine(c, s)
	end := t0.Add(30 * time.Minute)
	e.Load([]Service{svc("a", t0)}, everyone, []monitor.Window{{Start: t0, End: end}})
	e.Step(c.Now())
	if got := notices(s.take()); len(got) != 0 {
		t.Fatalf("in maintenance: %v, want no alert", got)
	}
	v, _ := e.Get("a")
	if v.State != monitor.Down || !v.Due.Equal(end) {
		t.Fatalf("in maintenance: %s due %s, want down, due when the window ends %s", v.State, v.Due, end)
	}
	c.Set(end)
	e.Step(c.Now())
	if got := notices(s.take()); fmt.Sprint(got) != "[a down:[ops]]" {
		t.Errorf("at the window's end: %v, want the held alert", got)
	}
}

// TestEngineRunAlertsWithinASecond runs the real loop on the real clock: the down alert is
// committed well within a second of the deadline.
func TestEngineRunAlertsWithinASecond(t *testing.T) {
	var mu sync.Mutex
	var at time.Time
	s := &sink{}
	s.onCommit = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, tr := range s.committed {
			if tr.Decision.Status == monitor.Down && at.IsZero() {
				at = time.Now()
			}
		}
	}
	start := time.Now()
	e := New(Config{StartedAt: start.Add(-time.Hour), Now: time.Now, NewID: newID, Sink: s})
	a := Service{ID: "a", ServiceID: "a", Model: monitor.Service{LastSeen: start, LastStatus: "up", Interval: 100 * time.Millisecond, Threshold: 300 * time.Millisecond},
		State: monitor.Up, Since: start}
	e.Load([]Service{a}, everyone, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	// The engine keeps a beat's time to the millisecond, as the store does: the deadline is
	// the threshold after that (up to 1 ms before the threshold after the exact instant).
	deadline := start.Truncate(time.Millisecond).Add(300 * time.Millisecond)
	for time.Since(start) < 3*time.Second {
		mu.Lock()
		got := at
		mu.Unlock()
		if !got.IsZero() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if at.IsZero() {
		t.Fatal("no down transition within 3 s")
	}
	if delay := at.Sub(deadline); delay < 0 || delay > time.Second {
		t.Errorf("down committed %s after the deadline, want within 1 s", delay)
	}
	t.Logf("down committed %s after the deadline", at.Sub(deadline))
}

// TestEngineIdleCostDoesNotGrowWithTheFleet: with 50,000 services that all beat
// recently, a step examines nothing and the next wake-up is the earliest deadline.
func TestEngineIdleCostDoesNotGrowWithTheFleet(t *testing.T) {
	c := &clock{now: t0}
	s := &sink{}
	e := newEngine(c, s)
	svcs := make([]Service, 50_000)
	for i := range svcs {
		svcs[i] = svc(fmt.Sprintf("s%06d", i), t0.Add(-time.Duration(i)*time.Millisecond))
	}
	e.Load(svcs, everyone, nil)
	for e.Step(c.Now()) > 0 {
	}
	for _, due := e.f.dueBy(c.Now()); due; _, due = e.f.dueBy(c.Now()) {
		e.Step(c.Now())
	}
	head := timeOfNs(e.f.es[e.f.queue.head()].due)
	if want := t0.Add(-49_999*time.Millisecond + 2*time.Minute + time.Nanosecond); !head.Equal(want) {
		t.Fatalf("first due %s, want the oldest beat's interval %s", head, want)
	}
	if s.calls != 0 {
		t.Fatalf("%d commits for a fleet that is all up", s.calls)
	}
	// Ten seconds on, nothing is due yet: a step touches no service.
	c.Set(t0.Add(10 * time.Second))
	before := e.f.queue.size()
	e.Step(c.Now())
	if e.f.queue.size() != before || s.calls != 0 {
		t.Errorf("a step with nothing due changed the queue (%d -> %d) or committed (%d)", before, e.f.queue.size(), s.calls)
	}
}
