package monitor

import (
	"testing"
	"time"
)

func TestStateAt(t *testing.T) {
	const (
		interval  = 2 * time.Minute
		threshold = 5 * time.Minute
	)
	seen := t0.Add(-time.Hour) // the last beat, an hour before t0
	beat := func(status string) Service {
		return Service{LastSeen: seen, LastStatus: status, Interval: interval, Threshold: threshold}
	}
	started := seen.Add(30 * time.Second) // the monitor restarted after that beat
	ns := time.Nanosecond
	tests := []struct {
		name      string
		s         Service
		prev      Prior
		startedAt time.Time
		at        time.Time
		want      State // Model is not compared
	}{
		{"never seen", Service{Interval: interval, Threshold: threshold}, Prior{}, time.Time{}, seen,
			State{Status: Unknown, Since: seen}},
		{"just beat", beat("up"), Prior{}, time.Time{}, seen,
			State{Status: Up, Since: seen, Next: seen.Add(interval + ns)}},
		{"exactly at the interval: still up", beat("up"), Prior{Up, seen}, time.Time{}, seen.Add(interval),
			State{Status: Up, Since: seen, Next: seen.Add(interval + ns)}},
		{"1 ms past the interval: late since the interval passed", beat("up"), Prior{Up, seen}, time.Time{}, seen.Add(interval + time.Millisecond),
			State{Status: Late, Since: seen.Add(interval), Next: seen.Add(threshold + ns)}},
		{"exactly at the threshold: still late", beat("up"), Prior{Late, seen.Add(interval)}, time.Time{}, seen.Add(threshold),
			State{Status: Late, Since: seen.Add(interval), Next: seen.Add(threshold + ns)}},
		{"1 ms past the threshold: down since it passed", beat("up"), Prior{Late, seen.Add(interval)}, time.Time{}, seen.Add(threshold + time.Millisecond),
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
		{"found down late (a check long after): since is still the threshold", beat("up"), Prior{Up, seen}, time.Time{}, t0,
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
		{"down goes on: since kept", beat("up"), Prior{Down, seen.Add(threshold)}, time.Time{}, t0,
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
		{"reported down: down at once, no deadline", beat("down"), Prior{Up, seen.Add(-time.Hour)}, time.Time{}, seen,
			State{Status: Down, Cause: CauseReported, Since: seen}},
		{"reported degraded: down when stale", beat("degraded"), Prior{Up, seen.Add(-time.Hour)}, time.Time{}, seen.Add(time.Minute),
			State{Status: Degraded, Cause: CauseReported, Since: seen, Next: seen.Add(threshold + ns)}},
		{"degraded past the threshold: down", beat("degraded"), Prior{Degraded, seen}, time.Time{}, seen.Add(threshold + time.Millisecond),
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
		{"a recovery begins with its beat", beat("up"), Prior{Down, seen.Add(-time.Hour)}, time.Time{}, seen.Add(time.Second),
			State{Status: Up, Since: seen, Next: seen.Add(interval + ns)}},
		{"interval above the threshold: up turns down directly",
			Service{LastSeen: seen, LastStatus: "up", Interval: 10 * time.Minute, Threshold: threshold}, Prior{Up, seen}, time.Time{}, seen,
			State{Status: Up, Since: seen, Next: seen.Add(threshold + ns)}},
		{"unset interval and threshold take the defaults", Service{LastSeen: seen, LastStatus: "up"}, Prior{}, time.Time{}, seen,
			State{Status: Up, Since: seen, Next: seen.Add(DefaultInterval + ns)}},
		{"paused: no deadline", with2(beat("up"), func(s *Service) { s.Paused = true }), Prior{}, time.Time{}, t0,
			State{Status: Paused, Since: t0}},
		{"paused goes on: since kept", with2(beat("up"), func(s *Service) { s.Paused = true }), Prior{Paused, seen}, time.Time{}, t0,
			State{Status: Paused, Since: seen}},
		{"timed pause: ends at its deadline", with2(beat("up"), func(s *Service) { s.PausedUntil = t0.Add(time.Hour) }), Prior{Up, seen}, time.Time{}, t0,
			State{Status: Paused, Since: t0, Next: t0.Add(time.Hour)}},
		{"timed pause over, stale all through it: down since the pause ended",
			with2(beat("up"), func(s *Service) { s.PausedUntil = t0 }), Prior{Paused, t0.Add(-30 * time.Minute)}, time.Time{}, t0,
			State{Status: Down, Cause: CauseStale, Since: t0.Add(-30 * time.Minute)}},
		{"restart grace: quiet since before the start gets a threshold from the start", beat("up"), Prior{Up, seen}, started, started.Add(threshold),
			State{Status: Late, Since: started.Add(interval), Next: started.Add(threshold + ns)}},
		{"restart grace: 1 ms past the fresh threshold, down since it passed", beat("up"), Prior{Late, started.Add(interval)}, started, started.Add(threshold + time.Millisecond),
			State{Status: Down, Cause: CauseStale, Since: started.Add(threshold)}},
		{"restart grace: up right after the start", beat("up"), Prior{Up, seen}, started, started,
			State{Status: Up, Since: seen, Next: started.Add(interval + ns)}},
		{"restart grace: a service already found down stays down", beat("up"), Prior{Down, seen.Add(threshold)}, t0, t0,
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
		{"restart grace: none for a beat after the start", beat("up"), Prior{}, seen.Add(-time.Minute), seen.Add(threshold + time.Millisecond),
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
		{"restart grace: none for an evaluation before the start", beat("up"), Prior{Up, seen}, t0, seen.Add(threshold + time.Millisecond),
			State{Status: Down, Cause: CauseStale, Since: seen.Add(threshold)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StateAt(tt.s, tt.prev, tt.startedAt, tt.at)
			got.Model = Service{}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestStateAtNextIsExact checks Next against Evaluate itself: the state holds up to the
// instant before Next and has changed at Next, for every kind of deadline.
func TestStateAtNextIsExact(t *testing.T) {
	seen := t0.Add(-time.Hour)
	started := seen.Add(time.Minute)
	cases := []struct {
		name      string
		s         Service
		startedAt time.Time
		at        time.Time
	}{
		{"up to late", Service{LastSeen: seen, LastStatus: "up", Interval: time.Minute, Threshold: 3 * time.Minute}, time.Time{}, seen},
		{"late to down", Service{LastSeen: seen, LastStatus: "up", Interval: time.Minute, Threshold: 3 * time.Minute}, time.Time{}, seen.Add(2 * time.Minute)},
		{"degraded to down", Service{LastSeen: seen, LastStatus: "degraded", Interval: time.Minute, Threshold: 3 * time.Minute}, time.Time{}, seen},
		{"timed pause to down", Service{LastSeen: seen, LastStatus: "up", PausedUntil: t0}, time.Time{}, seen},
		{"graced late to down", Service{LastSeen: seen, LastStatus: "up", Interval: time.Minute, Threshold: 3 * time.Minute}, started, started.Add(2 * time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := StateAt(c.s, Prior{}, c.startedAt, c.at)
			if st.Next.IsZero() {
				t.Fatalf("no deadline for %s", st.Status)
			}
			before := StateAt(c.s, Prior{}, c.startedAt, st.Next.Add(-time.Nanosecond))
			after := StateAt(c.s, Prior{}, c.startedAt, st.Next)
			if before.Status != st.Status {
				t.Errorf("just before Next: %s, want %s still", before.Status, st.Status)
			}
			if after.Status == st.Status {
				t.Errorf("at Next %s: still %s, want a change", st.Next, st.Status)
			}
		})
	}
}

func with2(s Service, f func(*Service)) Service { f(&s); return s }

func TestPlanAlertsDue(t *testing.T) {
	maint := Window{Start: t0.Add(-time.Hour), End: t0.Add(30 * time.Minute)}
	down := func(s AlertService) AlertService {
		s.Service.LastSeen = t0.Add(-time.Hour)
		s.Prev = Down
		return s
	}
	tests := []struct {
		name string
		in   AlertInput
		want time.Time
	}{
		{"up: due when it turns late", AlertInput{Now: t0, Services: []AlertService{svc("a", 0, Up)}},
			t0.Add(2*time.Minute + time.Nanosecond)},
		{"down and alerted, no reminder: never", AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{
			with(down(svc("a", 0, Down)), func(s *AlertService) {
				s.Open = alerted("i", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all")
			})}},
			time.Time{}},
		{"down with a reminder: due when the reminder is", AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{
			with(down(svc("a", 0, Down)), func(s *AlertService) {
				s.Open = alerted("i", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all")
				s.Reminder = time.Hour
			})}},
			t0.Add(5 * time.Minute)},
		{"reminder sent now: due a reminder later", AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{
			with(down(svc("a", 0, Down)), func(s *AlertService) {
				s.Open = alerted("i", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all")
				s.Reminder = 30 * time.Minute
			})}},
			t0.Add(30 * time.Minute)},
		{"alert queued now with a reminder: due for the first reminder", AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{
			with(svc("a", time.Hour, Up), func(s *AlertService) { s.Reminder = 10 * time.Minute })}},
			t0.Add(10 * time.Minute)},
		{"held by maintenance: due when the window ends", AlertInput{Now: t0, Subscribers: subs, Windows: []Window{maint}, Services: []AlertService{
			svc("a", time.Hour, Up)}},
			maint.End},
		{"reminder in maintenance: due when the window ends", AlertInput{Now: t0, Subscribers: subs, Windows: []Window{maint}, Services: []AlertService{
			with(down(svc("a", 0, Down)), func(s *AlertService) {
				s.Open = alerted("i", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all")
				s.Reminder = time.Minute
			})}},
			maint.End},
		{"held as flapping: due when the incident outlasts its threshold", AlertInput{Now: t0, FlapLimit: 2, Subscribers: subs, Services: []AlertService{
			with(svc("a", 0, Up), func(s *AlertService) {
				s.Service.LastStatus = "down"
				s.Changes = 5
			})}},
			t0.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanAlerts(tt.in)[0].Due
			if !got.Equal(tt.want) {
				t.Errorf("Due = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWindowActiveUntil(t *testing.T) {
	riga, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	// Sunday 2025-03-30 is the spring-forward day in Riga: 03:00 becomes 04:00.
	sunday := time.Date(2025, 3, 30, 0, 0, 0, 0, riga)
	weekly := Window{Weekdays: []time.Weekday{time.Sunday}, StartMinute: 2 * 60, Duration: 2 * time.Hour, Location: riga}
	tests := []struct {
		name string
		w    Window
		at   time.Time
		want time.Time
	}{
		{"one-off, before it", Window{Start: t0, End: t0.Add(time.Hour)}, t0.Add(-time.Second), time.Time{}},
		{"one-off, at its start", Window{Start: t0, End: t0.Add(time.Hour)}, t0, t0.Add(time.Hour)},
		{"one-off, at its end: over", Window{Start: t0, End: t0.Add(time.Hour)}, t0.Add(time.Hour), time.Time{}},
		{"one-off without an end", Window{Start: t0}, t0.Add(time.Hour), farFuture},
		{"weekly, on: two hours of elapsed time across the DST jump", weekly, sunday.Add(2*time.Hour + 30*time.Minute), sunday.Add(4 * time.Hour)},
		{"weekly, off", weekly, sunday.Add(5 * time.Hour), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.ActiveUntil(tt.at); !got.Equal(tt.want) {
				t.Errorf("ActiveUntil(%s) = %s, want %s", tt.at, got, tt.want)
			}
			if got := tt.w.Active(tt.at); got != !tt.want.IsZero() {
				t.Errorf("Active(%s) = %v, want %v", tt.at, got, !got)
			}
		})
	}
}
