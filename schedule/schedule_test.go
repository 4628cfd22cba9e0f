package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNextDST walks the spring-forward and fall-back days of three zones. want is the
// fire time with the zone's offset, wantUTC the same instant in UTC.
func TestNextDST(t *testing.T) {
	cases := []struct {
		name, expr, zone, after, want, wantUTC string
	}{
		// Europe/Riga: 2026-03-29 03:00 -> 04:00 (01:00Z), 2026-10-25 04:00 -> 03:00 (01:00Z).
		{"riga fixed in gap runs when it ends", "30 3 * * *", "Europe/Riga", "2026-03-29T00:00:00+02:00", "2026-03-29T04:00:00+03:00", "2026-03-29T01:00:00Z"},
		{"riga fixed in gap, next day normal", "30 3 * * *", "Europe/Riga", "2026-03-29T04:00:00+03:00", "2026-03-30T03:30:00+03:00", "2026-03-30T00:30:00Z"},
		{"riga fixed before gap unaffected", "30 2 * * *", "Europe/Riga", "2026-03-29T00:00:00+02:00", "2026-03-29T02:30:00+02:00", "2026-03-29T00:30:00Z"},
		{"riga two fixed times in gap run once", "15,45 3 * * *", "Europe/Riga", "2026-03-29T04:00:00+03:00", "2026-03-30T03:15:00+03:00", "2026-03-30T00:15:00Z"},
		{"riga fixed in repeated hour: first", "30 3 * * *", "Europe/Riga", "2026-10-25T00:00:00+03:00", "2026-10-25T03:30:00+03:00", "2026-10-25T00:30:00Z"},
		{"riga fixed in repeated hour: once", "30 3 * * *", "Europe/Riga", "2026-10-25T03:30:00+03:00", "2026-10-26T03:30:00+02:00", "2026-10-26T01:30:00Z"},
		{"riga fixed from inside second hour", "45 3 * * *", "Europe/Riga", "2026-10-25T03:10:00+02:00", "2026-10-26T03:45:00+02:00", "2026-10-26T01:45:00Z"},
		{"riga */15 skips the gap", "*/15 * * * *", "Europe/Riga", "2026-03-29T02:50:00+02:00", "2026-03-29T04:00:00+03:00", "2026-03-29T01:00:00Z"},
		{"riga */15 repeats the hour", "*/15 * * * *", "Europe/Riga", "2026-10-25T03:45:00+03:00", "2026-10-25T03:00:00+02:00", "2026-10-25T01:00:00Z"},
		{"riga */15 before the repeat", "*/15 * * * *", "Europe/Riga", "2026-10-25T03:20:00+03:00", "2026-10-25T03:30:00+03:00", "2026-10-25T00:30:00Z"},
		{"riga 30 * skips the gap", "30 * * * *", "Europe/Riga", "2026-03-29T02:45:00+02:00", "2026-03-29T04:30:00+03:00", "2026-03-29T01:30:00Z"},
		{"riga 30 * first occurrence", "30 * * * *", "Europe/Riga", "2026-10-25T03:00:00+03:00", "2026-10-25T03:30:00+03:00", "2026-10-25T00:30:00Z"},
		{"riga 30 * second occurrence", "30 * * * *", "Europe/Riga", "2026-10-25T03:30:00+03:00", "2026-10-25T03:30:00+02:00", "2026-10-25T01:30:00Z"},
		{"riga 30 * after the repeat", "30 * * * *", "Europe/Riga", "2026-10-25T03:30:00+02:00", "2026-10-25T04:30:00+02:00", "2026-10-25T02:30:00Z"},
		{"riga 0 2 spring", "0 2 * * *", "Europe/Riga", "2026-03-28T23:00:00+02:00", "2026-03-29T02:00:00+02:00", "2026-03-29T00:00:00Z"},
		{"riga 0 2 fall", "0 2 * * *", "Europe/Riga", "2026-10-24T23:00:00+03:00", "2026-10-25T02:00:00+03:00", "2026-10-24T23:00:00Z"},

		// America/New_York: 2026-03-08 02:00 -> 03:00 (07:00Z), 2026-11-01 02:00 -> 01:00 (06:00Z).
		{"ny 0 2 in gap", "0 2 * * *", "America/New_York", "2026-03-08T00:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00Z"},
		{"ny 30 2 in gap", "30 2 * * *", "America/New_York", "2026-03-08T00:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00Z"},
		{"ny 15,45 2 in gap runs once", "15,45 2 * * *", "America/New_York", "2026-03-08T03:00:00-04:00", "2026-03-09T02:15:00-04:00", "2026-03-09T06:15:00Z"},
		{"ny 0 2 fall", "0 2 * * *", "America/New_York", "2026-11-01T00:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T07:00:00Z"},
		{"ny 30 1 repeated: first", "30 1 * * *", "America/New_York", "2026-11-01T00:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T05:30:00Z"},
		{"ny 30 1 repeated: once", "30 1 * * *", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-02T06:30:00Z"},
		{"ny */15 spring", "*/15 * * * *", "America/New_York", "2026-03-08T01:50:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00Z"},
		{"ny */15 fall", "*/15 * * * *", "America/New_York", "2026-11-01T01:50:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T06:00:00Z"},
		{"ny 30 * spring", "30 * * * *", "America/New_York", "2026-03-08T01:45:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-08T07:30:00Z"},
		{"ny 30 * fall second", "30 * * * *", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T06:30:00Z"},

		// Australia/Sydney: 2026-04-05 03:00 -> 02:00 (16:00Z on the 4th), 2026-10-04 02:00 -> 03:00 (16:00Z on the 3rd).
		{"syd 30 2 repeated: first", "30 2 * * *", "Australia/Sydney", "2026-04-05T00:00:00+11:00", "2026-04-05T02:30:00+11:00", "2026-04-04T15:30:00Z"},
		{"syd 30 2 repeated: once", "30 2 * * *", "Australia/Sydney", "2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00", "2026-04-05T16:30:00Z"},
		{"syd 30 * second occurrence", "30 * * * *", "Australia/Sydney", "2026-04-05T02:45:00+11:00", "2026-04-05T02:30:00+10:00", "2026-04-04T16:30:00Z"},
		{"syd */15 fall", "*/15 * * * *", "Australia/Sydney", "2026-04-05T02:50:00+11:00", "2026-04-05T02:00:00+10:00", "2026-04-04T16:00:00Z"},
		{"syd 30 2 in gap", "30 2 * * *", "Australia/Sydney", "2026-10-04T00:00:00+10:00", "2026-10-04T03:00:00+11:00", "2026-10-03T16:00:00Z"},
		{"syd 0 2 in gap", "0 2 * * *", "Australia/Sydney", "2026-10-04T00:00:00+10:00", "2026-10-04T03:00:00+11:00", "2026-10-03T16:00:00Z"},
		{"syd */15 spring", "*/15 * * * *", "Australia/Sydney", "2026-10-04T01:50:00+10:00", "2026-10-04T03:00:00+11:00", "2026-10-03T16:00:00Z"},
		{"syd 30 * spring", "30 * * * *", "Australia/Sydney", "2026-10-04T01:45:00+10:00", "2026-10-04T03:30:00+11:00", "2026-10-03T16:30:00Z"},

		// Days: 2026-11-01 is a Sunday, 2026-11-13 a Friday.
		{"dom or dow: the Friday first", "0 0 13 * 5", "Europe/Riga", "2026-11-01T00:00:00+02:00", "2026-11-06T00:00:00+02:00", "2026-11-05T22:00:00Z"},
		{"dom or dow: the Friday after the 13th", "0 0 13 * 5", "Europe/Riga", "2026-11-13T00:00:00+02:00", "2026-11-20T00:00:00+02:00", "2026-11-19T22:00:00Z"},
		{"dom or dow: the 13th on a Sunday", "0 0 13 * fri", "Europe/Riga", "2026-12-11T00:00:00+02:00", "2026-12-13T00:00:00+02:00", "2026-12-12T22:00:00Z"},
		{"dow only: Fridays", "0 0 * * 5", "Europe/Riga", "2026-11-06T00:00:00+02:00", "2026-11-13T00:00:00+02:00", "2026-11-12T22:00:00Z"},
		{"dom only: the 13th", "0 0 13 * *", "Europe/Riga", "2026-11-13T00:00:00+02:00", "2026-12-13T00:00:00+02:00", "2026-12-12T22:00:00Z"},
		{"dow starting with * ANDs", "0 0 13 * */5", "Europe/Riga", "2026-11-13T00:00:00+02:00", "2026-12-13T00:00:00+02:00", "2026-12-12T22:00:00Z"},
		{"dow 7 is Sunday", "0 0 * * 7", "UTC", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z", "2026-11-08T00:00:00Z"},
		{"weekdays by name", "0 9 * * MON-FRI", "UTC", "2026-11-06T09:00:00Z", "2026-11-09T09:00:00Z", "2026-11-09T09:00:00Z"},
		{"@weekly is Sunday midnight", "@weekly", "America/New_York", "2026-11-01T00:00:00-04:00", "2026-11-08T00:00:00-05:00", "2026-11-08T05:00:00Z"},
		{"@monthly", "@monthly", "Australia/Sydney", "2026-10-01T00:00:00+10:00", "2026-11-01T00:00:00+11:00", "2026-10-31T13:00:00Z"},
		{"@yearly", "@annually", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"@hourly over the gap", "@hourly", "America/New_York", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00Z"},
		{"31st skips 30-day months", "0 0 31 * *", "UTC", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-05-31T00:00:00Z"},
		{"30th skips February", "0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z", "2026-03-30T00:00:00Z"},
		{"last days 28-31 in February", "0 0 28-31 * *", "UTC", "2026-02-28T00:00:00Z", "2026-03-28T00:00:00Z", "2026-03-28T00:00:00Z"},
		{"last days 28-31 in a long month", "0 0 28-31 * *", "UTC", "2026-03-30T00:00:00Z", "2026-03-31T00:00:00Z", "2026-03-31T00:00:00Z"},
		{"leap day", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"leap day skips 2100", "0 0 29 feb *", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z", "2104-02-29T00:00:00Z"},
		{"never: Feb 30", "0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", "", ""},
		{"never: Apr 31", "0 0 31 APR *", "Europe/Riga", "2026-01-01T00:00:00Z", "", ""},
		{"strictly after", "*/5 * * * *", "UTC", "2026-06-01T10:05:00Z", "2026-06-01T10:10:00Z", "2026-06-01T10:10:00Z"},
		{"sub-second after", "*/5 * * * *", "UTC", "2026-06-01T10:04:59.5Z", "2026-06-01T10:05:00Z", "2026-06-01T10:05:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			loc := mustLoad(t, tc.zone)
			after, err := time.Parse(time.RFC3339Nano, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Next(after, loc)
			if tc.want == "" {
				if !got.IsZero() {
					t.Fatalf("Next(%s) = %s, want never (zero)", tc.after, got.Format(time.RFC3339))
				}
				return
			}
			if g := got.Format(time.RFC3339); g != tc.want {
				t.Errorf("Next(%s) in %s = %s, want %s", tc.after, tc.zone, g, tc.want)
			}
			if g := got.UTC().Format(time.RFC3339); g != tc.wantUTC {
				t.Errorf("Next(%s) in UTC = %s, want %s", tc.after, g, tc.wantUTC)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ expr, field, msg string }{
		{"", "expression", "expression: want 5 fields (minute hour day-of-month month day-of-week), got 0"},
		{"* * * *", "expression", "expression: want 5 fields (minute hour day-of-month month day-of-week), got 4"},
		{"* * * * * *", "expression", "expression: want 5 fields (minute hour day-of-month month day-of-week), got 6"},
		{"@reboot", "expression", `expression: unknown alias "@reboot" (want @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)`},
		{"60 * * * *", "minute", "minute: 60 is out of range 0-59"},
		{"x * * * *", "minute", `minute: "x" is not a number`},
		{"*/0 * * * *", "minute", `minute: step "0" is not a positive number`},
		{"5/10 * * * *", "minute", `minute: step "5/10" needs a range or * before the /`},
		{"1,,2 * * * *", "minute", `minute: empty item in list "1,,2"`},
		{"0 24 * * *", "hour", "hour: 24 is out of range 0-23"},
		{"0 5-3 * * *", "hour", `hour: range "5-3" starts after it ends`},
		{"0 -1 * * *", "hour", `hour: "" is not a number`},
		{"0 0 0 * *", "day-of-month", "day-of-month: 0 is out of range 1-31"},
		{"0 0 32 * *", "day-of-month", "day-of-month: 32 is out of range 1-31"},
		{"0 0 * 13 *", "month", "month: 13 is out of range 1-12"},
		{"0 0 * JANUARY *", "month", `month: "JANUARY" is not a number`},
		{"0 0 * * 8", "day-of-week", "day-of-week: 8 is out of range 0-7"},
		{"0 0 * * MON-XYZ", "day-of-week", `day-of-week: "XYZ" is not a number`},
		{"0 0 * * */x", "day-of-week", `day-of-week: step "x" is not a positive number`},
	}
	for _, tc := range cases {
		_, err := Parse(tc.expr)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *ParseError", tc.expr, err)
			continue
		}
		if pe.Field != tc.field || err.Error() != tc.msg {
			t.Errorf("Parse(%q) = field %q, %q; want field %q, %q", tc.expr, pe.Field, err.Error(), tc.field, tc.msg)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	for _, expr := range []string{"@HOURLY", "@Daily", "@midnight", "0 0 * jan-mar sun,sat", "*/7 1-10/3 1,15 */2 0-7", "  0   0 * * *  "} {
		if _, err := Parse(expr); err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
		}
	}
}

// reference is the brute-force evaluator: it walks instants minute by minute and
// applies the rules to each.
type reference struct {
	minute, hour, dom, month, dow map[int]bool
	domStar, dowStar, fixed       bool
}

func newReference(expr string) reference {
	parts := strings.Fields(expr)
	sets := make([]map[int]bool, 5)
	for i, p := range parts {
		f := fields[i]
		sets[i] = map[int]bool{}
		for _, item := range strings.Split(p, ",") {
			rng, stepText, _ := strings.Cut(item, "/")
			step := 1
			if stepText != "" {
				fmt.Sscan(stepText, &step)
			}
			lo, hi := f.min, f.max
			if rng != "*" {
				a, b, isRange := strings.Cut(rng, "-")
				fmt.Sscan(a, &lo)
				hi = lo
				if isRange {
					fmt.Sscan(b, &hi)
				}
			}
			for v := lo; v <= hi; v += step {
				if i == 4 && v == 7 {
					sets[i][0] = true
				}
				sets[i][v] = true
			}
		}
	}
	return reference{sets[0], sets[1], sets[2], sets[3], sets[4],
		strings.HasPrefix(parts[2], "*"), strings.HasPrefix(parts[4], "*"),
		!strings.HasPrefix(parts[0], "*") && !strings.HasPrefix(parts[1], "*")}
}

func (r reference) matches(w time.Time) bool {
	if !r.minute[w.Minute()] || !r.hour[w.Hour()] || !r.month[int(w.Month())] {
		return false
	}
	domOK, dowOK := r.dom[w.Day()], r.dow[int(w.Weekday())]
	if r.domStar || r.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// wall is the instant's wall clock in loc as a zone-less time.
func wall(u time.Time, loc *time.Location) time.Time {
	l := u.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
}

func (r reference) fires(u time.Time, loc *time.Location) bool {
	w := wall(u, loc)
	if !r.fixed {
		return r.matches(w)
	}
	if r.matches(w) {
		// Only the first instant reading this wall clock.
		first := true
		for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
			if wall(u.Add(-d), loc).Equal(w) {
				first = false
			}
		}
		if first {
			return true
		}
	}
	// At the end of a gap: any skipped wall minute that matches runs now.
	prev := wall(u.Add(-time.Minute), loc).Add(time.Minute)
	for m := prev; m.Before(w); m = m.Add(time.Minute) {
		if r.matches(m) {
			return true
		}
	}
	return false
}

func randomField(rng *rand.Rand, lo, hi int) string {
	n := func() int { return lo + rng.IntN(hi-lo+1) }
	switch rng.IntN(7) {
	case 0, 1:
		return "*"
	case 2:
		return fmt.Sprintf("*/%d", 1+rng.IntN(hi/2+1))
	case 3:
		return fmt.Sprint(n())
	case 4:
		a, b := n(), n()
		if a > b {
			a, b = b, a
		}
		return fmt.Sprintf("%d-%d", a, b)
	case 5:
		a, b := n(), n()
		if a > b {
			a, b = b, a
		}
		return fmt.Sprintf("%d-%d/%d", a, b, 1+rng.IntN(4))
	default:
		return fmt.Sprintf("%d,%d,%d", n(), n(), n())
	}
}

// TestNextMatchesBruteForce compares Next with the minute-by-minute reference around the
// DST transitions of three zones.
func TestNextMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	transitions := map[string][]string{
		"Europe/Riga":      {"2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"},
		"America/New_York": {"2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z"},
		"Australia/Sydney": {"2026-04-04T16:00:00Z", "2026-10-03T16:00:00Z"},
	}
	const horizon = 2 * 24 * time.Hour
	const rounds = 600
	checked := 0
	for zone, ts := range transitions {
		loc := mustLoad(t, zone)
		for i := range rounds {
			expr := strings.Join([]string{
				randomField(rng, 0, 59), randomField(rng, 0, 23), randomField(rng, 1, 31),
				randomField(rng, 1, 12), randomField(rng, 0, 7),
			}, " ")
			if i%2 == 0 { // most fire near the transition: every day of every month
				f := strings.Fields(expr)
				f[2], f[3], f[4] = "*", "*", "*"
				expr = strings.Join(f, " ")
			}
			s, err := Parse(expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", expr, err)
			}
			ref := newReference(expr)
			tr := mustTime(t, ts[rng.IntN(len(ts))])
			after := tr.Add(time.Duration(rng.IntN(6*3600)-4*3600) * time.Second)
			var want time.Time
			for u := after.Truncate(time.Minute).Add(time.Minute); u.Before(after.Add(horizon)); u = u.Add(time.Minute) {
				if ref.fires(u, loc) {
					want = u
					break
				}
			}
			got := s.Next(after, loc)
			switch {
			case want.IsZero() && !got.IsZero() && got.Before(after.Add(horizon)):
				t.Errorf("%q in %s after %s: Next = %s, reference finds nothing within %s", expr, zone, after.In(loc).Format(time.RFC3339), got.Format(time.RFC3339), horizon)
			case !want.IsZero() && !got.Equal(want):
				t.Errorf("%q in %s after %s: Next = %s, reference = %s", expr, zone, after.In(loc).Format(time.RFC3339), got.Format(time.RFC3339), want.In(loc).Format(time.RFC3339))
			case !want.IsZero():
				checked++
			}
		}
	}
	if checked < rounds {
		t.Fatalf("only %d cases fired within the horizon; the comparison proves little", checked)
	}
}
