package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// TestQueueTakesEqualDeadlinesInSlotOrder: services due at the same instant come out
// one by one in a fixed order, none twice and none lost, whatever order they were
// queued in; an earlier deadline still comes first.
func TestQueueTakesEqualDeadlinesInSlotOrder(t *testing.T) {
	es := make([]entry, 8)
	for i := range es {
		es[i].pos = noSlot
	}
	var q dueQueue
	for _, s := range []int32{5, 2, 7, 0, 3, 6, 1} {
		q.set(es, s, 100)
	}
	q.set(es, 4, 50)
	q.set(es, 3, 100) // rescheduled at the same instant: keeps its place
	var got []int32
	for h := q.head(); h != noSlot; h = q.head() {
		q.remove(es, h)
		got = append(got, h)
	}
	if want := []int32{4, 0, 1, 2, 3, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("taken in order %v, want %v", got, want)
	}
}

// TestEngineReusesARemovedServicesSlot: a service added after one was removed takes its
// place; the removed one is gone from every read and the others are untouched.
func TestEngineReusesARemovedServicesSlot(t *testing.T) {
	c := &clock{now: t0}
	e := newEngine(c, &sink{})
	e.Load([]Service{svc("a", t0), svc("b", t0), svc("c", t0)}, everyone, nil)
	e.Remove("b")
	d := svc("d", t0.Add(-time.Minute))
	d.Group = "g"
	e.Put(d)
	if got := len(e.f.es); got != 3 {
		t.Errorf("%d slots after a remove and an add, want 3 (the slot reused)", got)
	}
	if _, ok := e.Get("b"); ok {
		t.Error("the removed service is still found")
	}
	v, ok := e.Get("d")
	if !ok || v.ID != "d" || v.Group != "g" || !v.Model.LastSeen.Equal(t0.Add(-time.Minute)) {
		t.Errorf("the added service reads %+v %v, want d in group g last seen a minute ago", v, ok)
	}
	var order []string
	e.Each(func(v View) bool { order = append(order, v.ServiceID); return true })
	if want := []string{"a", "c", "d"}; !slices.Equal(order, want) {
		t.Errorf("list order %v, want %v", order, want)
	}
	if got := e.Counts()[monitor.Up]; got != 3 || e.Len() != 3 {
		t.Errorf("counts up %d, len %d, want 3 and 3", got, e.Len())
	}
}

// TestEngineRemovedDuringCommitKeepsItsSlotUntilTheCommitReturns: a service removed
// while its transition is being committed, and one added meanwhile, do not share a
// slot: the new service is not given the removed one's decision.
func TestEngineRemovedDuringCommitKeepsItsSlotUntilTheCommitReturns(t *testing.T) {
	c := &clock{now: t0}
	s := &sink{}
	e := newEngine(c, s)
	e.Load([]Service{svc("a", t0.Add(-10*time.Minute))}, everyone, nil)
	s.onCommit = func() {
		s.onCommit = nil
		e.Remove("a")
		e.Put(svc("n", t0))
	}
	if got := e.Step(t0); got != 1 {
		t.Fatalf("step committed %d transitions, want 1 (a goes down)", got)
	}
	if _, ok := e.Get("a"); ok {
		t.Error("the removed service is still found")
	}
	v, ok := e.Get("n")
	if !ok || v.State != monitor.Up || v.Open != nil {
		t.Errorf("the service added during the commit reads %+v %v, want it up with no incident", v, ok)
	}
	if got := len(e.f.es); got != 2 {
		t.Errorf("%d slots, want 2 (the new service did not take a busy slot)", got)
	}
	if got := e.Counts(); got[monitor.Down] != 0 || got[monitor.Up] != 1 {
		t.Errorf("counts %v, want one up and none down", got)
	}
}

// TestLoaderLoadsWhatLoadLoads: a streamed load holds the same services, in the same
// order and states, as a load of the whole slice; a repeated record id replaces.
func TestLoaderLoadsWhatLoadLoads(t *testing.T) {
	c := &clock{now: t0}
	svcs := []Service{svc("b", t0), svc("a", t0), svc("c", t0)}
	svcs[1].Group = "z"
	again := svc("b", t0.Add(-time.Minute))
	again.State = monitor.Late
	whole := newEngine(c, &sink{})
	whole.Load(append(slices.Clone(svcs), again), everyone, nil)
	streamed := newEngine(c, &sink{})
	l := NewLoader(0)
	for _, s := range append(slices.Clone(svcs), again) {
		l.Add(s)
	}
	streamed.LoadFrom(l, everyone, nil)
	list := func(e *Engine) []string {
		var out []string
		e.Each(func(v View) bool { out = append(out, v.ServiceID+":"+string(v.State)); return true })
		return out
	}
	want := []string{"b:late", "c:up", "a:up"}
	if got := list(whole); !slices.Equal(got, want) {
		t.Errorf("Load lists %v, want %v", got, want)
	}
	if got := list(streamed); !slices.Equal(got, want) {
		t.Errorf("LoadFrom lists %v, want %v", got, want)
	}
	if whole.Len() != 3 || streamed.Len() != 3 {
		t.Errorf("len %d and %d, want 3", whole.Len(), streamed.Len())
	}
}
