// Package schedule parses 5-field cron expressions and finds their next fire time in a
// time zone, following Debian cron's rules as Healthchecks uses them:
//
//   - day-of-month and day-of-week are OR-ed, unless either field starts with `*`, in
//     which case both must match (so only the other one restricts);
//   - a fixed-time job (neither the minute nor the hour field starts with `*`) that falls
//     in an hour daylight saving skips runs once, when the gap ends; in a repeated hour it
//     runs once, at the first occurrence;
//   - any other job follows the wall clock: it fires at every wall-clock time that exists
//     and matches, so twice in a repeated hour and not at all in a skipped one.
//
// It uses the standard library only and embeds the zone database (time/tzdata).
package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones work without a system zone database
)

// Schedule is a parsed cron expression. The zero value is not valid; use Parse.
type Schedule struct {
	minute, hour, dom, month, dow uint64 // bit i set = value i matches
	domStar, dowStar              bool   // the field starts with '*'
	fixed                         bool   // neither minute nor hour starts with '*'
	never                         bool   // no date in the 400-year Gregorian cycle matches
}

// ParseError is a refused expression: Field names the part that is wrong ("hour",
// "day-of-week", or "expression" for the whole), Reason says what is wrong with it.
type ParseError struct {
	Field  string
	Reason string
}

// Error reads like "hour: 24 is out of range 0-23".
func (e *ParseError) Error() string { return e.Field + ": " + e.Reason }

type field struct {
	name     string
	min, max int
	names    []string // names[i] is the name of value min+i (months, weekdays)
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

var aliases = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Parse reads a 5-field cron expression (minute hour day-of-month month day-of-week) or
// one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually. A refused
// expression returns a *ParseError naming the field.
func Parse(expr string) (*Schedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@") {
		full, ok := aliases[strings.ToLower(expr)]
		if !ok {
			return nil, &ParseError{Field: "expression", Reason: fmt.Sprintf("unknown alias %q (want @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)", expr)}
		}
		expr = full
	}
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return nil, &ParseError{Field: "expression", Reason: fmt.Sprintf("want 5 fields (minute hour day-of-month month day-of-week), got %d", len(parts))}
	}
	var sets [5]uint64
	for i, p := range parts {
		set, err := fields[i].parse(p)
		if err != nil {
			return nil, err
		}
		sets[i] = set
	}
	if sets[4]&(1<<7) != 0 { // 7 is Sunday too
		sets[4] = sets[4]&^(1<<7) | 1
	}
	s := &Schedule{
		minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: sets[4],
		domStar: strings.HasPrefix(parts[2], "*"),
		dowStar: strings.HasPrefix(parts[4], "*"),
		fixed:   !strings.HasPrefix(parts[0], "*") && !strings.HasPrefix(parts[1], "*"),
	}
	// The Gregorian calendar repeats every 400 years: a date that matches nowhere in one
	// cycle matches never (Feb 30, Apr 31, ...).
	if _, ok := s.nextMatch(civil{y: 2000, mo: 1, d: 1}, 2400); !ok {
		s.never = true
	}
	return s, nil
}

// parse reads one field: a comma list of `*`, `n`, `a-b`, `*/n`, `a-b/n`.
func (f field) parse(text string) (uint64, error) {
	if text == "" {
		return 0, &ParseError{Field: f.name, Reason: "is empty"}
	}
	var set uint64
	for _, item := range strings.Split(text, ",") {
		if item == "" {
			return 0, &ParseError{Field: f.name, Reason: fmt.Sprintf("empty item in list %q", text)}
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		lo, hi := f.min, f.max
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			hi = lo
			if isRange {
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
				if lo > hi {
					return 0, &ParseError{Field: f.name, Reason: fmt.Sprintf("range %q starts after it ends", rng)}
				}
			} else if hasStep {
				return 0, &ParseError{Field: f.name, Reason: fmt.Sprintf("step %q needs a range or * before the /", item)}
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, &ParseError{Field: f.name, Reason: fmt.Sprintf("step %q is not a positive number", stepText)}
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

// value reads one number or name of the field and checks its range.
func (f field) value(text string) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(text, name) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(text)
	if err != nil || strings.HasPrefix(text, "+") || strings.HasPrefix(text, "-") {
		return 0, &ParseError{Field: f.name, Reason: fmt.Sprintf("%q is not a number", text)}
	}
	if n < f.min || n > f.max {
		return 0, &ParseError{Field: f.name, Reason: fmt.Sprintf("%d is out of range %d-%d", n, f.min, f.max)}
	}
	return n, nil
}

// civil is a wall-clock minute without a zone.
type civil struct{ y, mo, d, h, mi int }

// unix is the civil time's seconds as if it were UTC.
func (c civil) unix() int64 {
	return daysFromCivil(c.y, c.mo, c.d)*86400 + int64(c.h)*3600 + int64(c.mi)*60
}

// normalize carries overflowing fields into the next larger one.
func (c civil) normalize() civil {
	if c.mi > 59 {
		c.mi = 0
		c.h++
	}
	if c.h > 23 {
		c.h = 0
		c.d++
	}
	if c.d > daysIn(c.y, c.mo) {
		c.d = 1
		c.mo++
	}
	if c.mo > 12 {
		c.mo = 1
		c.y++
	}
	return c
}

// daysFromCivil counts days from 1970-01-01 to the proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// nextBit is the smallest set bit of set at or above from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> uint(from) << uint(from)
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}

func (s *Schedule) dayMatches(y, m, d int) bool {
	domOK := s.dom&(1<<uint(d)) != 0
	wd := (daysFromCivil(y, m, d)%7 + 11) % 7 // 1970-01-01 was a Thursday (4)
	dowOK := s.dow&(1<<uint(wd)) != 0
	if s.domStar || s.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// nextMatch is the first civil minute at or after c that matches every field, stepping
// a month, a day, an hour at a time where a field rules them out; false past lastYear.
func (s *Schedule) nextMatch(c civil, lastYear int) (civil, bool) {
	for {
		c = c.normalize()
		if c.y > lastYear {
			return civil{}, false
		}
		if m := nextBit(s.month, c.mo); m < 0 {
			c = civil{y: c.y + 1, mo: 1, d: 1}
			continue
		} else if m != c.mo {
			c = civil{y: c.y, mo: m, d: 1}
		}
		if !s.dayMatches(c.y, c.mo, c.d) {
			c = civil{y: c.y, mo: c.mo, d: c.d + 1}
			continue
		}
		if h := nextBit(s.hour, c.h); h < 0 {
			c = civil{y: c.y, mo: c.mo, d: c.d + 1}
			continue
		} else if h != c.h {
			c.h, c.mi = h, 0
		}
		if mi := nextBit(s.minute, c.mi); mi < 0 {
			c.h, c.mi = c.h+1, 0
			continue
		} else {
			c.mi = mi
		}
		return c, true
	}
}

// offsetAt is loc's UTC offset in seconds at the instant u.
func offsetAt(u int64, loc *time.Location) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}

// resolve finds the instants whose wall clock in loc reads w (seconds as if UTC): none
// (n == 0) in a skipped stretch, where gapEnd is when the skip ends; one; or two
// (first, second) in a repeated stretch.
func resolve(w int64, loc *time.Location) (n int, first, second, gapEnd int64) {
	before := offsetAt(w-86400, loc)
	for _, off := range [3]int64{before, offsetAt(w, loc), offsetAt(w+86400, loc)} {
		u := w - off
		if offsetAt(u, loc) != off || (n >= 1 && u == first) || (n == 2 && u == second) {
			continue
		}
		switch {
		case n == 0:
			first = u
		case u < first:
			first, second = u, first
		default:
			second = u
		}
		n++
		if n == 2 {
			break
		}
	}
	if n == 0 {
		// w lies in the gap: read with the offset before it, it lands just past the
		// transition, which is where the zone that follows the gap starts.
		start, _ := time.Unix(w-before, 0).In(loc).ZoneBounds()
		gapEnd = start.Unix()
	}
	return n, first, second, gapEnd
}

// Next is the first fire time strictly after after, in loc (nil means UTC), or the zero
// time for an expression that never fires.
func (s *Schedule) Next(after time.Time, loc *time.Location) time.Time {
	if s == nil || s.never {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	a := after.Unix()
	t := time.Unix(a, 0).In(loc)
	_, off := t.Zone()
	w0 := a + int64(off)
	// Instants after `after` can read an earlier wall clock when the clocks go back next:
	// start the walk at the wall clock the coming transition lands on, if that is earlier.
	if _, end := t.ZoneBounds(); !end.IsZero() {
		if _, endOff := end.In(loc).Zone(); endOff < off {
			if we := end.Unix() + int64(endOff); we < w0 {
				w0 = we
			}
		}
	}
	st := time.Unix(w0, 0).UTC()
	c := civil{y: st.Year(), mo: int(st.Month()), d: st.Day(), h: st.Hour(), mi: st.Minute()}
	lastYear := c.y + 401

	// Walking wall clocks in order, the earliest instant of each (the first occurrence,
	// or the gap's end) never decreases, and neither does the second occurrence of a
	// repeated one. So the answer is the first earliest-instant past after, unless a
	// second occurrence seen before it is earlier still.
	var best int64
	haveSecond := false
	for {
		var ok bool
		if c, ok = s.nextMatch(c, lastYear); !ok {
			return time.Time{}
		}
		n, first, second, gapEnd := resolve(c.unix(), loc)
		c.mi++
		switch {
		case n == 0 && !s.fixed:
			continue // a wall-clock job does not fire at a time that does not exist
		case n == 0:
			first = gapEnd
		case n == 2 && !s.fixed && second > a && !haveSecond:
			best, haveSecond = second, true
		}
		if first > a {
			if haveSecond && best < first {
				first = best
			}
			return time.Unix(first, 0).In(loc)
		}
	}
}
