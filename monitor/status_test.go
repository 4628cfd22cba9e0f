package monitor

import (
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	svc := func(seen time.Time, last string) Service {
		return Service{LastSeen: seen, LastStatus: last, Interval: 120 * time.Second, Threshold: 300 * time.Second}
	}
	cases := []struct {
		name      string
		s         Service
		want      Status
		wantCause Cause
	}{
		{"never seen", svc(time.Time{}, ""), Unknown, CauseNone},
		{"paused wins over never seen", Service{Paused: true}, Paused, CauseNone},
		{"paused wins over stale", Service{Paused: true, LastSeen: ago(time.Hour), LastStatus: "up"}, Paused, CauseNone},
		{"fresh up", svc(ago(10*time.Second), "up"), Up, CauseNone},
		{"beat in the future (clock skew) is up", svc(now.Add(time.Second), "up"), Up, CauseNone},
		{"exactly at interval is up", svc(ago(120*time.Second), "up"), Up, CauseNone},
		{"1 ms past interval is late", svc(ago(120*time.Second+time.Millisecond), "up"), Late, CauseNone},
		{"exactly at threshold is late, not down", svc(ago(300*time.Second), "up"), Late, CauseNone},
		{"1 ms past threshold is down (stale)", svc(ago(300*time.Second+time.Millisecond), "up"), Down, CauseStale},
		{"reported down", svc(ago(time.Second), "down"), Down, CauseReported},
		{"reported degraded", svc(ago(time.Second), "degraded"), Degraded, CauseReported},
		{"reported degraded and late stays degraded", svc(ago(200*time.Second), "degraded"), Degraded, CauseReported},
		{"reported degraded past threshold is down (stale)", svc(ago(301*time.Second), "degraded"), Down, CauseStale},
		{"reported down past threshold is stale", svc(ago(301*time.Second), "down"), Down, CauseStale},
		{"unset interval and threshold use defaults: 299 s is late", Service{LastSeen: ago(299 * time.Second), LastStatus: "up"}, Late, CauseNone},
		{"unset threshold defaults to 300 s", Service{LastSeen: ago(301 * time.Second), LastStatus: "up"}, Down, CauseStale},
		{"unset interval defaults to 120 s", Service{LastSeen: ago(119 * time.Second), LastStatus: "up"}, Up, CauseNone},
		{"threshold shorter than interval: down before late", Service{LastSeen: ago(61 * time.Second), LastStatus: "up", Interval: 120 * time.Second, Threshold: 60 * time.Second}, Down, CauseStale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cause := Evaluate(c.s, now)
			if got != c.want || cause != c.wantCause {
				t.Errorf("Evaluate = %s (%q), want %s (%q)", got, cause, c.want, c.wantCause)
			}
		})
	}
}

func TestIsIncident(t *testing.T) {
	for st, want := range map[Status]bool{Down: true, Degraded: true, Up: false, Late: false, Unknown: false, Paused: false} {
		if got := st.IsIncident(); got != want {
			t.Errorf("%s.IsIncident() = %v, want %v", st, got, want)
		}
	}
}

func TestEvaluatePausedUntil(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := Service{LastSeen: now.Add(-time.Hour), LastStatus: "up", PausedUntil: now.Add(time.Minute)}
	if got, _ := Evaluate(s, now); got != Paused {
		t.Errorf("paused until a later time: %s, want paused", got)
	}
	s.PausedUntil = now
	if got, _ := Evaluate(s, now); got != Down {
		t.Errorf("pause ending now: %s, want down (the pause is over)", got)
	}
}
