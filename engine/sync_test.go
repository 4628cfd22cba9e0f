package engine

import (
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// TestEngineSync: services written by another process (an import into a running server)
// join the engine with their stored facts, changed settings apply, deleted services go,
// and services that did not change are not evaluated again.
func TestEngineSync(t *testing.T) {
	c := &clock{now: t0}
	s := &sink{}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0), svc("b", t0), svc("c", t0)}, everyone, nil)
	e.StepAll(c.Now())
	dueB := mustGet(t, e, "b").Due

	slower := svc("a", t0)
	slower.Model.Interval = 10 * time.Minute
	added := svc("d", t0.Add(-time.Hour)) // quiet for an hour: down at its first step
	added.State = monitor.Unknown
	a, ch, r := e.Sync([]Service{slower, svc("b", t0), added})
	if a != 1 || ch != 1 || r != 1 {
		t.Fatalf("Sync: %d added, %d changed, %d removed; want 1, 1, 1", a, ch, r)
	}
	if _, ok := e.Get("c"); ok {
		t.Error("c was deleted and is still held")
	}
	if got := mustGet(t, e, "b").Due; !got.Equal(dueB) {
		t.Errorf("b did not change but is due %s, not %s", got, dueB)
	}
	e.StepAll(c.Now())
	if got := mustGet(t, e, "a").Due; !got.Equal(t0.Add(5*time.Minute + time.Nanosecond)) {
		t.Errorf("a's new interval (10 min, above its threshold) not applied: due %s", got)
	}
	if got := mustGet(t, e, "d"); got.State != monitor.Down {
		t.Errorf("the imported service: %s, want down (quiet for an hour)", got.State)
	}
}

func mustGet(t *testing.T, e *Engine, sid string) View {
	t.Helper()
	v, ok := e.Get(sid)
	if !ok {
		t.Fatalf("%s is not held", sid)
	}
	return v
}

// TestEngineUpdate: rows saved elsewhere come in; only new services and changed settings
// are taken, and a row that changed nothing (an import that stamped every row) leaves
// its service's schedule alone.
func TestEngineUpdate(t *testing.T) {
	c := &clock{now: t0}
	e := newEngine(c, &sink{})
	e.Load([]Service{svc("a", t0), svc("b", t0)}, everyone, nil)
	e.StepAll(c.Now())
	dueA := mustGet(t, e, "a").Due
	longer := svc("b", t0)
	longer.Model.Threshold = time.Hour
	if a, ch := e.Update([]Service{svc("a", t0), longer, svc("new", t0)}); a != 1 || ch != 1 {
		t.Fatalf("Update: %d added, %d changed; want 1 and 1", a, ch)
	}
	if got := mustGet(t, e, "a").Due; !got.Equal(dueA) {
		t.Errorf("a changed nothing but is due %s, not %s", got, dueA)
	}
	if got := mustGet(t, e, "b").Model.Threshold; got != time.Hour {
		t.Errorf("b's threshold %s, want the new hour", got)
	}
	if _, ok := e.Get("new"); !ok {
		t.Error("the new service is not held")
	}
}
