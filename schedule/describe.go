package schedule

import (
	"slices"
	"strconv"
	"strings"
)

// weekdayNames are the days of the week in English, Sunday first as cron counts them
// (7 is Sunday again).
var weekdayNames = [8]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// monthNames are the months in English, January at 1.
var monthNames = [13]string{"", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// Describe is expr in words for the shapes people write most ("every 15 minutes",
// "every day at 03:00", "every Monday at 03:00", "on day 1 of every month at 00:00"),
// and expr itself, trimmed, for anything else, including an expression Parse refuses:
// a page must never show a wrong sentence, so a shape it does not know is left as
// written.
func Describe(expr string) string {
	expr = strings.TrimSpace(expr)
	if _, err := Parse(expr); err != nil {
		return expr
	}
	full := expr
	if strings.HasPrefix(expr, "@") {
		full = aliases[strings.ToLower(expr)]
	}
	f := strings.Fields(full)
	if s, ok := describe(f[0], f[1], f[2], f[3], f[4]); ok {
		return s
	}
	return expr
}

// describe is the words for the five fields, or false for a shape it does not know.
func describe(minute, hour, dom, month, dow string) (string, bool) {
	if dom == "*" && month == "*" && dow == "*" {
		switch {
		case hour == "*" && minute == "*":
			return "every minute", true
		case hour == "*":
			if n, ok := step(minute, 60); ok {
				if n == 1 {
					return "every minute", true
				}
				return "every " + strconv.Itoa(n) + " minutes", true
			}
			if m, ok := number(minute, fields[0]); ok {
				return "every hour at minute " + strconv.Itoa(m), true
			}
			return "", false
		}
		if n, ok := step(hour, 24); ok {
			m, ok := number(minute, fields[0])
			if !ok {
				return "", false
			}
			if n == 1 {
				return "every hour at minute " + strconv.Itoa(m), true
			}
			return "every " + strconv.Itoa(n) + " hours at minute " + strconv.Itoa(m), true
		}
	}
	at, ok := clock(minute, hour)
	if !ok {
		return "", false
	}
	switch {
	case dom == "*" && month == "*" && dow == "*":
		return "every day at " + at, true
	case dom == "*" && month == "*":
		days, ok := weekdays(dow)
		if !ok {
			return "", false
		}
		return "every " + days + " at " + at, true
	case dow == "*" && month == "*":
		days, ok := list(dom, fields[2])
		if !ok {
			return "", false
		}
		word := "day "
		if strings.Contains(dom, ",") {
			word = "days "
		}
		return "on " + word + days + " of every month at " + at, true
	case dow == "*":
		d, ok := number(dom, fields[2])
		if !ok {
			return "", false
		}
		m, ok := number(month, fields[3])
		if !ok {
			return "", false
		}
		return "every year on " + strconv.Itoa(d) + " " + monthNames[m] + " at " + at, true
	}
	return "", false
}

// step reads "*/n" (and "*", which is */1) with 1 <= n < limit.
func step(text string, limit int) (int, bool) {
	if text == "*" {
		return 1, true
	}
	rest, ok := strings.CutPrefix(text, "*/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n >= limit {
		return 0, false
	}
	return n, true
}

// number reads a single value of f (a number or a name), or false.
func number(text string, f field) (int, bool) {
	if text == "" || strings.ContainsAny(text, "*,-/") {
		return 0, false
	}
	n, err := f.value(text)
	return n, err == nil
}

// clock is a fixed time of day "03:00", or a list of them "03:00 and 15:30" (one
// minute, several hours), or false.
func clock(minute, hour string) (string, bool) {
	m, ok := number(minute, fields[0])
	if !ok {
		return "", false
	}
	var times []string
	for _, h := range strings.Split(hour, ",") {
		n, ok := number(h, fields[1])
		if !ok {
			return "", false
		}
		times = append(times, pad2(n)+":"+pad2(m))
	}
	return join(times), true
}

// weekdays is "Monday", "Monday and Friday", "weekday" (1-5), or false.
func weekdays(dow string) (string, bool) {
	if dow == "1-5" || strings.EqualFold(dow, "MON-FRI") {
		return "weekday (Monday to Friday)", true
	}
	var names []string
	for _, d := range strings.Split(dow, ",") {
		n, ok := number(d, fields[4])
		if !ok {
			return "", false
		}
		if !slices.Contains(names, weekdayNames[n]) { // 0 and 7 are both Sunday
			names = append(names, weekdayNames[n])
		}
	}
	return join(names), true
}

// list is a comma list of single values of f in words: "1", "1 and 15", "1, 10 and 20".
func list(text string, f field) (string, bool) {
	var out []string
	for _, item := range strings.Split(text, ",") {
		n, ok := number(item, f)
		if !ok {
			return "", false
		}
		out = append(out, strconv.Itoa(n))
	}
	return join(out), true
}

// join is "a", "a and b", "a, b and c".
func join(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
