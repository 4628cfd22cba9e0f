package monitor

import (
	"slices"
	"time"
)

// Span is the period [Start, End). A zero End means it is still going on.
type Span struct {
	Start, End time.Time
}

// Incident is a period a service spent down or degraded, as the incidents collection
// records it.
type Incident struct {
	Status Status // Down or Degraded; anything else is ignored
	Span
}

// History is what the uptime maths knows about a service: when it was created, when it
// was first heard from, its incidents, and the periods it was paused. Time before the
// first sign of life is no data, not up: a service created on Monday that first beats
// "down" on Tuesday has 0 %, not 50 %. Paused time counts neither as up nor as down: it
// leaves the denominator.
type History struct {
	Created time.Time // zero: no lower bound
	// FirstBeat is when the server first received a beat from the service; zero when it
	// never has. An incident that began earlier (its first beats were pruned before the
	// server recorded FirstBeat) is a sign of life too, and moves the start back to it.
	FirstBeat time.Time
	Incidents []Incident
	Paused    []Span
}

// Tally is how a window of time was spent. Down and Degraded exclude paused time, and
// time that was both down and degraded counts as down only.
type Tally struct {
	Monitored time.Duration // time the service existed and was not paused
	Down      time.Duration
	Degraded  time.Duration
}

// Percentage is the share of monitored time that was not down, in percent. Degraded
// time counts as up: the service still answered. ok is false when no time was
// monitored (before the service existed, or paused throughout): that is no data, not
// 0 % and not 100 %.
func (t Tally) Percentage() (pct float64, ok bool) {
	if t.Monitored <= 0 {
		return 0, false
	}
	down := min(t.Down, t.Monitored)
	return float64(t.Monitored-down) / float64(t.Monitored) * 100, true
}

// Day is the tally of one UTC calendar day.
type Day struct {
	Date time.Time // midnight UTC
	Tally
}

// Timeline is a History resolved at a moment: open spans end at now, overlaps are
// merged, and paused time is cut out of the incidents. Build it once per service and
// ask it for as many windows as needed.
type Timeline struct {
	start    time.Time // where the data begins
	noData   bool      // never heard from: nothing is counted
	now      time.Time
	down     []Span
	degraded []Span
	paused   []Span
}

// Timeline resolves h at now.
func (h History) Timeline(now time.Time) Timeline {
	var down, degraded, paused []Span
	for _, inc := range h.Incidents {
		switch inc.Status {
		case Down:
			down = append(down, inc.Span)
		case Degraded:
			degraded = append(degraded, inc.Span)
		}
	}
	paused = normalize(h.Paused, now)
	down = normalize(down, now)
	degraded = subtract(subtract(normalize(degraded, now), down), paused)
	down = subtract(down, paused)
	start, ok := h.dataStart()
	return Timeline{start: start, noData: !ok, now: now, down: down, degraded: degraded, paused: paused}
}

// dataStart is where the data begins: the first sign of life (the first beat, or an
// incident that began before it), but never before the service existed. ok is false
// when the service has never been heard from.
func (h History) dataStart() (start time.Time, ok bool) {
	start = h.FirstBeat
	for _, inc := range h.Incidents {
		if !inc.Start.IsZero() && (start.IsZero() || inc.Start.Before(start)) {
			start = inc.Start
		}
	}
	if start.IsZero() {
		return time.Time{}, false
	}
	if start.Before(h.Created) {
		start = h.Created
	}
	return start, true
}

// Tally is how [from, to) was spent; time after now has not happened and is left out.
func (t Timeline) Tally(from, to time.Time) Tally {
	if t.noData {
		return Tally{}
	}
	if from.Before(t.start) {
		from = t.start
	}
	if to.After(t.now) {
		to = t.now
	}
	if !from.Before(to) {
		return Tally{}
	}
	return Tally{
		Monitored: to.Sub(from) - measure(t.paused, from, to),
		Down:      measure(t.down, from, to),
		Degraded:  measure(t.degraded, from, to),
	}
}

// Last is the tally of the rolling window of length d that ends at now.
func (t Timeline) Last(d time.Duration) Tally { return t.Tally(t.now.Add(-d), t.now) }

// Days is the tally of each of the n UTC calendar days ending with today (today only
// up to now), oldest first.
func (t Timeline) Days(n int) []Day {
	if n <= 0 {
		return nil
	}
	n0 := t.now.UTC()
	today := time.Date(n0.Year(), n0.Month(), n0.Day(), 0, 0, 0, 0, time.UTC)
	days := make([]Day, n)
	const day = 24 * time.Hour // UTC days have no daylight saving: always 24 h
	for i := range days {
		start := today.Add(time.Duration(i-n+1) * day)
		days[i] = Day{Date: start, Tally: t.Tally(start, start.Add(day))}
	}
	return days
}

// Sum adds up tallies, e.g. the days of a window.
func Sum(days []Day) Tally {
	var s Tally
	for _, d := range days {
		s.Monitored += d.Monitored
		s.Down += d.Down
		s.Degraded += d.Degraded
	}
	return s
}

// normalize closes open spans at now, drops empty or inverted ones and merges overlaps,
// so the result is sorted and disjoint.
func normalize(spans []Span, now time.Time) []Span {
	out := make([]Span, 0, len(spans))
	for _, s := range spans {
		if s.End.IsZero() || s.End.After(now) {
			s.End = now
		}
		if s.Start.Before(s.End) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && !s.Start.After(merged[n-1].End) {
			if s.End.After(merged[n-1].End) {
				merged[n-1].End = s.End
			}
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// subtract is a minus b; both sorted and disjoint, and so is the result.
func subtract(a, b []Span) []Span {
	if len(b) == 0 {
		return a
	}
	var out []Span
	j := 0
	for _, s := range a {
		for j < len(b) && !b[j].End.After(s.Start) {
			j++
		}
		cur := s.Start
		for k := j; k < len(b) && b[k].Start.Before(s.End); k++ {
			if b[k].Start.After(cur) {
				out = append(out, Span{cur, b[k].Start})
			}
			if b[k].End.After(cur) {
				cur = b[k].End
			}
		}
		if cur.Before(s.End) {
			out = append(out, Span{cur, s.End})
		}
	}
	return out
}

// measure is how much of [from, to) the sorted, disjoint spans cover.
func measure(spans []Span, from, to time.Time) time.Duration {
	var d time.Duration
	for _, s := range spans {
		if !s.End.After(from) {
			continue
		}
		if !s.Start.Before(to) {
			break
		}
		start, end := s.Start, s.End
		if start.Before(from) {
			start = from
		}
		if end.After(to) {
			end = to
		}
		d += end.Sub(start)
	}
	return d
}
