package monitor

import (
	"testing"
	"time"
)

func TestTimelineDays(t *testing.T) {
	// now is 06:00 UTC on day 3 of a 3-day window: day 1, day 2, and 6 h of day 3.
	day1 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	day2, day3 := day1.AddDate(0, 0, 1), day1.AddDate(0, 0, 2)
	now := day3.Add(6 * time.Hour)
	at := func(day time.Time, hhmm string) time.Time {
		d, err := time.ParseDuration(hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(d)
	}
	down := func(from, to time.Time) Incident { return Incident{Status: Down, Span: Span{from, to}} }
	const h = time.Hour
	type want struct {
		pct      float64 // -1: no data
		down     time.Duration
		degraded time.Duration
	}
	cases := []struct {
		name string
		h    History
		want [3]want
	}{
		{
			name: "no incidents is 100 % every day, today included",
			h:    History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0)},
			want: [3]want{{100, 0, 0}, {100, 0, 0}, {100, 0, 0}},
		},
		{
			name: "incident spanning midnight is split between the days",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0), Incidents: []Incident{
				down(at(day1, "22h"), at(day2, "2h")),
			}},
			want: [3]want{{100 * 22.0 / 24, 2 * h, 0}, {100 * 22.0 / 24, 2 * h, 0}, {100, 0, 0}},
		},
		{
			name: "open incident runs until now, and today counts only up to now",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0), Incidents: []Incident{
				down(at(day3, "3h"), time.Time{}),
			}},
			want: [3]want{{100, 0, 0}, {100, 0, 0}, {50, 3 * h, 0}},
		},
		{
			name: "open incident since before the window: 0 % is 0 %, not no data",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0), Incidents: []Incident{
				down(day1.AddDate(0, 0, -5), time.Time{}),
			}},
			want: [3]want{{0, 24 * h, 0}, {0, 24 * h, 0}, {0, 6 * h, 0}},
		},
		{
			name: "created mid-window: days before are no data, the first day counts from creation",
			h: History{Created: at(day2, "12h"), FirstBeat: at(day2, "12h"), Incidents: []Incident{
				down(at(day2, "18h"), at(day2, "21h")),
			}},
			want: [3]want{{-1, 0, 0}, {75, 3 * h, 0}, {100, 0, 0}},
		},
		{
			name: "incident before creation is not counted",
			h: History{Created: at(day2, "12h"), FirstBeat: at(day2, "12h"), Incidents: []Incident{
				down(at(day2, "6h"), at(day2, "13h")),
			}},
			want: [3]want{{-1, 0, 0}, {100 * 11.0 / 12, h, 0}, {100, 0, 0}},
		},
		{
			name: "paused time leaves the denominator, and downtime while paused is not counted",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0),
				Incidents: []Incident{down(at(day1, "10h"), at(day1, "14h"))},
				Paused:    []Span{{at(day1, "12h"), at(day1, "18h")}},
			},
			// day 1: 24 h - 6 h paused = 18 h monitored, down 10-12 = 2 h.
			want: [3]want{{100 * 16.0 / 18, 2 * h, 0}, {100, 0, 0}, {100, 0, 0}},
		},
		{
			name: "a day paused throughout is no data; an open pause runs until now",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0),
				Paused: []Span{{at(day1, "12h"), time.Time{}}},
			},
			want: [3]want{{100, 0, 0}, {-1, 0, 0}, {-1, 0, 0}},
		},
		{
			name: "degraded counts as up; time both down and degraded counts as down",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0), Incidents: []Incident{
				{Status: Degraded, Span: Span{at(day1, "0h"), at(day1, "6h")}},
				down(at(day1, "4h"), at(day1, "8h")),
			}},
			want: [3]want{{100 * 20.0 / 24, 4 * h, 4 * h}, {100, 0, 0}, {100, 0, 0}},
		},
		{
			name: "overlapping incidents are not counted twice; inverted ones are ignored",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0), Incidents: []Incident{
				down(at(day1, "1h"), at(day1, "3h")),
				down(at(day1, "2h"), at(day1, "4h")),
				down(at(day1, "9h"), at(day1, "8h")),
			}},
			want: [3]want{{100 * 21.0 / 24, 3 * h, 0}, {100, 0, 0}, {100, 0, 0}},
		},
		{
			name: "one second of downtime is not 100 %",
			h: History{Created: day1.AddDate(0, -1, 0), FirstBeat: day1.AddDate(0, -1, 0), Incidents: []Incident{
				down(at(day2, "1h"), at(day2, "1h").Add(time.Second)),
			}},
			want: [3]want{{100, 0, 0}, {100 * (86400 - 1) / 86400.0, time.Second, 0}, {100, 0, 0}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			days := c.h.Timeline(now).Days(3)
			if len(days) != 3 {
				t.Fatalf("got %d days, want 3", len(days))
			}
			for i, d := range days {
				if wantDate := day1.AddDate(0, 0, i); !d.Date.Equal(wantDate) {
					t.Errorf("day %d: got date %v, want %v", i, d.Date, wantDate)
				}
				pct, ok := d.Percentage()
				w := c.want[i]
				switch {
				case w.pct < 0 && ok:
					t.Errorf("day %d: got %v %%, want no data", i, pct)
				case w.pct >= 0 && !ok:
					t.Errorf("day %d: got no data, want %v %%", i, w.pct)
				case ok && !approx(pct, w.pct):
					t.Errorf("day %d: got %v %%, want %v %%", i, pct, w.pct)
				}
				if d.Down != w.down || d.Degraded != w.degraded {
					t.Errorf("day %d: got down %v degraded %v, want %v and %v", i, d.Down, d.Degraded, w.down, w.degraded)
				}
			}
		})
	}
}

func TestTimelineRollingWindows(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := History{
		Created: now.AddDate(0, 0, -3), FirstBeat: now.AddDate(0, 0, -3), // 3 days old: 7 d and 30 d windows hold 3 days only
		Incidents: []Incident{
			{Status: Down, Span: Span{now.Add(-30 * time.Hour), now.Add(-29 * time.Hour)}}, // outside 24 h
			{Status: Down, Span: Span{now.Add(-36 * time.Minute), time.Time{}}},            // open
		},
	}
	tl := h.Timeline(now)
	cases := []struct {
		window time.Duration
		want   float64
	}{
		{24 * time.Hour, 100 * (1440 - 36) / 1440.0},
		{7 * 24 * time.Hour, 100 * (72*60 - 96) / (72 * 60.0)},
		{30 * 24 * time.Hour, 100 * (72*60 - 96) / (72 * 60.0)},
	}
	for _, c := range cases {
		got, ok := tl.Last(c.window).Percentage()
		if !ok || !approx(got, c.want) {
			t.Errorf("last %v: got %v (%v), want %v", c.window, got, ok, c.want)
		}
	}
	if got := Sum(tl.Days(4)); got.Monitored != 72*time.Hour || got.Down != 96*time.Minute {
		t.Errorf("sum of 4 days: got %+v, want 72h monitored and 96m down", got)
	}
}

func TestTallyNoData(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tl := History{Created: now.Add(time.Hour), FirstBeat: now.Add(time.Hour)}.Timeline(now) // created "in the future" (clock skew)
	if _, ok := tl.Last(24 * time.Hour).Percentage(); ok {
		t.Error("a service that does not exist yet has no data, got a percentage")
	}
	if got := tl.Days(0); got != nil {
		t.Errorf("Days(0): got %v, want nil", got)
	}
}

func approx(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

// TestTimelineStartsAtFirstBeat: time between creating a service and its first beat is
// no data, not up time.
func TestTimelineStartsAtFirstBeat(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	created := now.Add(-2 * time.Hour)
	down := func(from, to time.Time) Incident { return Incident{Status: Down, Span: Span{from, to}} }
	cases := []struct {
		name      string
		h         History
		pct       float64 // -1: no data
		monitored time.Duration
	}{
		{"created, first beat down and still down: 0 %",
			History{Created: created, FirstBeat: now.Add(-time.Hour), Incidents: []Incident{down(now.Add(-time.Hour), time.Time{})}},
			0, time.Hour},
		{"created, quiet 1 h, then up: 100 % over the hour with data",
			History{Created: created, FirstBeat: now.Add(-time.Hour)},
			100, time.Hour},
		{"created, quiet 1 h, up 30 min, then down 30 min: 50 %",
			History{Created: created, FirstBeat: now.Add(-time.Hour), Incidents: []Incident{down(now.Add(-30*time.Minute), time.Time{})}},
			50, time.Hour},
		{"created, never heard from: no data",
			History{Created: created},
			-1, 0},
		{"first beats pruned before FirstBeat was kept: the oldest incident is the first sign of life",
			History{Created: created, Incidents: []Incident{down(now.Add(-90*time.Minute), now.Add(-60*time.Minute))}},
			100 * 60 / 90.0, 90 * time.Minute},
		{"an incident older than the recorded first beat moves the start back",
			History{Created: created, FirstBeat: now.Add(-time.Hour), Incidents: []Incident{down(now.Add(-90*time.Minute), now.Add(-80*time.Minute))}},
			100 * 80 / 90.0, 90 * time.Minute},
		{"a first beat before creation (clock skew) counts from creation",
			History{Created: created, FirstBeat: created.Add(-time.Hour)},
			100, 2 * time.Hour},
		{"no creation date: counting starts at the first beat",
			History{FirstBeat: now.Add(-time.Hour), Incidents: []Incident{down(now.Add(-time.Hour), now.Add(-45*time.Minute))}},
			75, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := c.h.Timeline(now)
			for _, tally := range []Tally{tl.Last(24 * time.Hour), Sum(tl.Days(3))} {
				pct, ok := tally.Percentage()
				switch {
				case c.pct < 0 && ok:
					t.Errorf("got %v %%, want no data", pct)
				case c.pct >= 0 && !ok:
					t.Errorf("got no data, want %v %%", c.pct)
				case ok && !approx(pct, c.pct):
					t.Errorf("got %v %%, want %v %%", pct, c.pct)
				}
				if tally.Monitored != c.monitored {
					t.Errorf("monitored %v, want %v", tally.Monitored, c.monitored)
				}
			}
		})
	}
}
