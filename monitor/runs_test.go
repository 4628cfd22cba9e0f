package monitor

import (
	"testing"
	"time"
)

var runT0 = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return runT0.Add(d) }

// TestRunsApply: a finish is measured from its own start (same rid), overlapping runs
// separately, a rid-less finish from the last rid-less start; a finish of a run never
// started measures nothing; a log changes nothing; every finish sets the exit status.
func TestRunsApply(t *testing.T) {
	var r Runs
	r, _ = r.Apply(Ping{Kind: PingStart, RID: "a", At: at(0)})
	r, _ = r.Apply(Ping{Kind: PingStart, RID: "b", At: at(time.Minute)})
	if !r.Running() || len(r.Open) != 2 {
		t.Fatalf("after two starts: %+v", r)
	}
	r, started := r.Apply(Ping{Kind: PingExit, Exit: 0, RID: "a", At: at(10 * time.Minute)})
	if !started.Equal(at(0)) || r.LastDuration != 10*time.Minute || !r.HasDuration || !r.HasExit || r.LastExit != 0 {
		t.Fatalf("run a: started %v, runs %+v; want 10m from its own start, exit 0", started, r)
	}
	if len(r.Open) != 1 || r.Open[0].RID != "b" {
		t.Fatalf("run b should still be open: %+v", r.Open)
	}
	r, _ = r.Apply(Ping{Kind: PingLog, RID: "b", At: at(11 * time.Minute)})
	if len(r.Open) != 1 || r.LastDuration != 10*time.Minute {
		t.Fatalf("a log changed the runs: %+v", r)
	}
	r, started = r.Apply(Ping{Kind: PingFail, RID: "b", At: at(13 * time.Minute)})
	if !started.Equal(at(time.Minute)) || r.LastDuration != 12*time.Minute || r.HasExit || r.Running() {
		t.Fatalf("run b: started %v, runs %+v; want 12m, exit unknown, nothing open", started, r)
	}
	// A finish whose start is unknown keeps the last duration.
	r, started = r.Apply(Ping{Kind: PingExit, Exit: 3, At: at(20 * time.Minute)})
	if !started.IsZero() || r.LastDuration != 12*time.Minute || r.LastExit != 3 || !r.HasExit {
		t.Fatalf("finish with no start: started %v, runs %+v", started, r)
	}
	// Without a rid at either end: the last start. A rid'd run stays open.
	r, _ = r.Apply(Ping{Kind: PingStart, RID: "c", At: at(21 * time.Minute)})
	r, _ = r.Apply(Ping{Kind: PingStart, At: at(22 * time.Minute)})
	r, _ = r.Apply(Ping{Kind: PingStart, At: at(23 * time.Minute)})
	if len(r.Open) != 2 {
		t.Fatalf("a rid-less start should replace the rid-less one: %+v", r.Open)
	}
	r, started = r.Apply(Ping{Kind: PingSuccess, At: at(25 * time.Minute)})
	if !started.Equal(at(23*time.Minute)) || r.LastDuration != 2*time.Minute || r.HasExit {
		t.Fatalf("rid-less finish: started %v, runs %+v", started, r)
	}
	if len(r.Open) != 1 || r.Open[0].RID != "c" {
		t.Fatalf("the rid'd run should be open still: %+v", r.Open)
	}
}

// TestRunsRidlessFinishEndsARunWithAnID: a job that sends its run id only with its start
// is not left running: a finish without an id ends the newest open run, unmeasured; a
// finish with another id ends nothing.
func TestRunsRidlessFinishEndsARunWithAnID(t *testing.T) {
	var r Runs
	r, _ = r.Apply(Ping{Kind: PingStart, RID: "a", At: at(0)})
	r, _ = r.Apply(Ping{Kind: PingStart, RID: "b", At: at(time.Minute)})
	r, _ = r.Apply(Ping{Kind: PingFail, RID: "c", At: at(2 * time.Minute)})
	if len(r.Open) != 2 {
		t.Fatalf("a finish with an unknown id ended a run: %+v", r.Open)
	}
	r, started := r.Apply(Ping{Kind: PingSuccess, At: at(3 * time.Minute)})
	if !started.IsZero() || r.HasDuration || len(r.Open) != 1 || r.Open[0].RID != "a" {
		t.Fatalf("rid-less finish: started %v, runs %+v; want b ended unmeasured, a open", started, r)
	}
}

// TestRunsStayBounded: starts that never finish do not pile up.
func TestRunsStayBounded(t *testing.T) {
	var r Runs
	for i := range 3 * MaxOpenRuns {
		r, _ = r.Apply(Ping{Kind: PingStart, RID: string(rune('A' + i)), At: at(time.Duration(i) * time.Minute)})
	}
	if len(r.Open) != MaxOpenRuns || !r.Open[0].At.Equal(at(time.Duration(2*MaxOpenRuns)*time.Minute)) {
		t.Fatalf("open runs: %d, first at %v; want the newest %d", len(r.Open), r.Open[0].At, MaxOpenRuns)
	}
}

// TestRunsBound: a start's own timeout wins over maxRuntime; without either a run has
// no bound.
func TestRunsBound(t *testing.T) {
	r := Runs{Open: []OpenRun{{RID: "a", At: at(0)}, {RID: "b", At: at(time.Minute), Timeout: 5 * time.Minute}}}
	if s, d := r.Bound(0); !s.Equal(at(time.Minute)) || !d.Equal(at(6*time.Minute)) {
		t.Errorf("without maxRuntime: %v %v; want b's own bound", s, d)
	}
	if s, d := r.Bound(2 * time.Minute); !s.Equal(at(0)) || !d.Equal(at(2*time.Minute)) {
		t.Errorf("maxRuntime 2m: %v %v; want a's", s, d)
	}
	if _, d := (Runs{Open: []OpenRun{{At: at(0)}}}).Bound(0); !d.IsZero() {
		t.Errorf("no bound at all: %v", d)
	}
}

// TestPingStatus: exit 0 and a success are up; a failure and exit 1-255 are down; a
// start and a log report nothing.
func TestPingStatus(t *testing.T) {
	for _, c := range []struct {
		p    Ping
		want string
	}{
		{Ping{Kind: PingSuccess}, "up"}, {Ping{Kind: PingExit}, "up"}, {Ping{Kind: PingExit, Exit: 1}, "down"},
		{Ping{Kind: PingExit, Exit: 255}, "down"}, {Ping{Kind: PingFail}, "down"}, {Ping{Kind: PingStart}, ""}, {Ping{Kind: PingLog}, ""},
	} {
		if got := c.p.Status(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

// TestScheduleRule: a service on a schedule is late once its expected run passes, down
// once grace has passed after it; a run within its bound holds both off, and past its
// bound the service is down (overrun) even if it never pinged before.
func TestScheduleRule(t *testing.T) {
	last := at(-24 * time.Hour)
	sched := Service{LastSeen: last, LastStatus: "up", Expected: at(0), Grace: 30 * time.Minute}
	for _, c := range []struct {
		name  string
		s     Service
		now   time.Time
		want  Status
		cause Cause
		next  time.Time
	}{
		{"before the expected run", sched, at(-time.Minute), Up, CauseNone, at(time.Nanosecond)},
		{"at it", sched, at(0), Up, CauseNone, at(time.Nanosecond)},
		{"after it", sched, at(time.Second), Late, CauseNone, at(30*time.Minute + time.Nanosecond)},
		{"past grace", sched, at(31 * time.Minute), Down, CauseStale, time.Time{}},
		{"default grace", Service{LastSeen: last, LastStatus: "up", Expected: at(0)}, at(59 * time.Minute), Late, CauseNone, at(time.Hour + time.Nanosecond)},
		{"running within bound", withRun(sched, at(0), at(2*time.Hour)), at(time.Hour), Up, CauseNone, at(2*time.Hour + time.Nanosecond)},
		{"running past bound", withRun(sched, at(0), at(2*time.Hour)), at(2*time.Hour + time.Second), Down, CauseOverrun, time.Time{}},
		{"already stale when the run began", withRun(sched, at(time.Hour), at(3*time.Hour)), at(90 * time.Minute), Down, CauseStale, time.Time{}},
		{"never seen, overran", withRun(Service{}, at(0), at(time.Minute)), at(2 * time.Minute), Down, CauseOverrun, time.Time{}},
		{"never seen, running", withRun(Service{}, at(0), at(time.Minute)), at(30 * time.Second), Unknown, CauseNone, at(time.Minute + time.Nanosecond)},
		{"interval rule, running within bound", withRun(Service{LastSeen: at(0), LastStatus: "up", Interval: time.Minute, Threshold: 2 * time.Minute}, at(0), at(time.Hour)),
			at(10 * time.Minute), Up, CauseNone, at(time.Hour + time.Nanosecond)},
		{"reported down stays down while running", withRun(Service{LastSeen: at(0), LastStatus: "down", Expected: at(time.Hour)}, at(time.Minute), at(time.Hour)),
			at(2 * time.Minute), Down, CauseReported, time.Time{}},
	} {
		st := StateAt(c.s, Prior{}, time.Time{}, c.now)
		if st.Status != c.want || st.Cause != c.cause || !st.Next.Equal(c.next) {
			t.Errorf("%s: %s/%s next %v; want %s/%s next %v", c.name, st.Status, st.Cause, st.Next, c.want, c.cause, c.next)
		}
	}
	// Since is exact: late from the expected run, down from expected + grace, overrun
	// from the bound.
	if st := StateAt(sched, Prior{}, time.Time{}, at(40*time.Minute)); !st.Since.Equal(at(30 * time.Minute)) {
		t.Errorf("stale since %v, want expected + grace", st.Since)
	}
	if st := StateAt(withRun(sched, at(0), at(time.Hour)), Prior{}, time.Time{}, at(2*time.Hour)); !st.Since.Equal(at(time.Hour)) {
		t.Errorf("overrun since %v, want the bound", st.Since)
	}
}

// TestScheduleRestartGrace: an expected run that fell while the monitor was stopped is
// expected at the start instead, so the monitor's downtime is not the service's.
func TestScheduleRestartGrace(t *testing.T) {
	s := Service{LastSeen: at(-24 * time.Hour), LastStatus: "up", Expected: at(0), Grace: 10 * time.Minute}
	started := at(time.Hour)
	if st := StateAt(s, Prior{Status: Up}, started, at(time.Hour+5*time.Minute)); st.Status != Late {
		t.Errorf("5 min after a start past the expected run: %s, want late (within grace)", st.Status)
	}
	if st := StateAt(s, Prior{Status: Up}, started, at(time.Hour+11*time.Minute)); st.Status != Down {
		t.Errorf("past grace after the start: %s, want down", st.Status)
	}
	if st := StateAt(s, Prior{Status: Down}, started, at(time.Hour+time.Minute)); st.Status != Down {
		t.Errorf("found down before the stop: %s, want down", st.Status)
	}
}

func withRun(s Service, started, deadline time.Time) Service {
	s.RunStarted, s.RunDeadline = started, deadline
	return s
}

// TestRunsEncoding: what service_states.runs holds reads back the same, to the
// millisecond the store keeps; nothing known is stored as "".
func TestRunsEncoding(t *testing.T) {
	r := Runs{Open: []OpenRun{{RID: "5f2c2b1e-8a53-4c1e-9d4a-0c6b2a9f1e77", At: at(time.Second), Timeout: 2 * time.Hour}, {At: at(time.Minute)}},
		LastDuration: 1500 * time.Millisecond, HasDuration: true, LastExit: 0, HasExit: true}
	if got := DecodeRuns(EncodeRuns(r)); !got.Equal(r) {
		t.Errorf("round trip: %+v, want %+v", got, r)
	}
	if s := EncodeRuns(Runs{}); s != "" {
		t.Errorf("nothing known is stored as %q", s)
	}
	if got := DecodeRuns(`{"open":`); !got.Equal(Runs{}) {
		t.Errorf("a broken value reads as %+v", got)
	}
}

// TestRestartGraceSameMillisecond: a beat stamped in the very millisecond the monitor
// started (beats are kept to the millisecond) is not from before the start, so it gets
// no restart grace (the start-up load then agrees with the running server).
func TestRestartGraceSameMillisecond(t *testing.T) {
	beat := at(95 * time.Millisecond)
	started := at(95*time.Millisecond + 175213*time.Nanosecond)
	s := Service{LastSeen: beat, LastStatus: "up", Interval: 2 * time.Minute, Threshold: 5 * time.Minute}
	st := StateAt(s, Prior{Status: Up}, started, at(time.Second))
	if want := beat.Add(2*time.Minute + time.Nanosecond); !st.Next.Equal(want) {
		t.Errorf("next change %v, want %v (from the beat, not the start)", st.Next, want)
	}
}
