package monitor

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Window is a maintenance window: while it is active no down alert is sent for the
// services it covers (they are still evaluated, and alert when it ends if still down).
// A one-off window runs from Start to End; a weekly one starts on each of Weekdays at
// StartMinute (minutes after midnight in Location) and lasts Duration.
type Window struct {
	Services []string // empty: every service

	Start, End time.Time // one-off

	Weekdays    []time.Weekday // weekly when non-empty
	StartMinute int
	Duration    time.Duration
	Location    *time.Location
}

// Covers reports whether the window applies to service.
func (w Window) Covers(service string) bool {
	return len(w.Services) == 0 || slices.Contains(w.Services, service)
}

// Active reports whether the window is on at t. A weekly window is worked out on the
// wall clock of its time zone, so "Sunday 02:00 for 2 h" follows daylight saving time,
// and one that runs past midnight (or past a week's end) still counts.
func (w Window) Active(t time.Time) bool {
	return !w.ActiveUntil(t).IsZero()
}

// ActiveUntil is the end of the window's occurrence that is on at t (the latest, where
// weekly occurrences overlap), or zero when the window is off at t. An open-ended one-off
// window that is on ends at the far future.
func (w Window) ActiveUntil(t time.Time) time.Time {
	if len(w.Weekdays) == 0 {
		if w.Start.IsZero() || t.Before(w.Start) || (!w.End.IsZero() && !t.Before(w.End)) {
			return time.Time{}
		}
		if w.End.IsZero() {
			return farFuture
		}
		return w.End
	}
	if w.Duration <= 0 {
		return time.Time{}
	}
	loc := w.Location
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	// A window that started up to Duration ago (at most a week back) may still be on.
	days := int(w.Duration/(24*time.Hour)) + 1
	if days > 8 {
		days = 8
	}
	var until time.Time
	for back := 0; back <= days; back++ {
		day := time.Date(local.Year(), local.Month(), local.Day()-back, 0, 0, 0, 0, loc)
		if !slices.Contains(w.Weekdays, day.Weekday()) {
			continue
		}
		start := time.Date(day.Year(), day.Month(), day.Day(), w.StartMinute/60, w.StartMinute%60, 0, 0, loc)
		if end := start.Add(w.Duration); !t.Before(start) && t.Before(end) && end.After(until) {
			until = end
		}
	}
	return until
}

// farFuture stands for "never ends": far enough to outlast any service, near enough that
// time arithmetic on it does not overflow.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// weekdayNames are the values the maintenance collection stores for weekdays.
var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekdays reads weekday names (sun, mon, ... case-insensitive).
func ParseWeekdays(names []string) ([]time.Weekday, error) {
	out := make([]time.Weekday, 0, len(names))
	for _, n := range names {
		d, ok := weekdayNames[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("monitor: unknown weekday %q", n)
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseClock reads a wall-clock time "HH:MM" (24-hour) as minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("monitor: time of day %q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}
