package views

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// statuses in the order the summary cards and the filter list them.
var statuses = []monitor.Status{monitor.Up, monitor.Late, monitor.Degraded, monitor.Down, monitor.Unknown, monitor.Paused}

// Label is the word shown for a status.
func Label(st monitor.Status) string {
	switch st {
	case monitor.Up:
		return "Up"
	case monitor.Late:
		return "Late"
	case monitor.Degraded:
		return "Degraded"
	case monitor.Down:
		return "Down"
	case monitor.Paused:
		return "Paused"
	}
	return "Unknown"
}

// statusClass keeps unexpected values out of class names.
func statusClass(st monitor.Status) string {
	switch st {
	case monitor.Up, monitor.Late, monitor.Degraded, monitor.Down, monitor.Paused:
		return string(st)
	}
	return string(monitor.Unknown)
}

// UTC is the exact time shown on hover: "2026-11-26 17:08:03 UTC".
func UTC(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// seenTitle is the exact time shown on hover over a "last seen": the time of day when
// it is today (UTC), the date too otherwise. It is on every row of the overview, so
// the short form keeps the refreshed list small.
func seenTitle(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05 UTC")
	}
	return UTC(t)
}

// Ago is a time relative to now: "12s ago", "5m ago", "never".
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
}

// Duration is a span in its two largest units: "2d 4h", "3h 12m", "4m 05s", "45s".
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, h, m := s/86400, s/3600%24, s/60%60
	s %= 60
	pad := func(n int64) string {
		if n < 10 {
			return "0" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	switch {
	case days > 0:
		return strconv.FormatInt(days, 10) + "d " + strconv.FormatInt(h, 10) + "h"
	case h > 0:
		return strconv.FormatInt(h, 10) + "h " + pad(m) + "m"
	case m > 0:
		return strconv.FormatInt(m, 10) + "m " + pad(s) + "s"
	}
	return strconv.FormatInt(s, 10) + "s"
}

// Percent shows an uptime: "100%" only when there was no downtime at all, otherwise
// rounded down to two decimals (so 99.999 % is "99.99%", never "100%"); "0%" is 0 %,
// and no data is "—".
func Percent(t monitor.Tally) string {
	p, ok := t.Percentage()
	if !ok {
		return "—"
	}
	if t.Down == 0 {
		return "100%"
	}
	p = math.Floor(p*100) / 100
	s := strconv.FormatFloat(p, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// serviceURL is the page of a service.
func serviceURL(serviceID string) templ.SafeURL {
	return templ.SafeURL("/services/" + url.PathEscape(serviceID))
}

// beatsURL is one page of a service's heartbeats.
func beatsURL(serviceID string, page int, partial bool) string {
	if partial {
		return "/services/" + url.PathEscape(serviceID) + "/heartbeats?page=" + strconv.Itoa(page)
	}
	return "/services/" + url.PathEscape(serviceID) + "?page=" + strconv.Itoa(page) + "#beats"
}

// OverviewURL is the address of the overview with a search, a status filter and a
// page; what is empty or page 1 is left out, so the plain overview is "/".
func OverviewURL(query, filter string, page int) string {
	v := make([]string, 0, 3)
	if query != "" {
		v = append(v, "q="+url.QueryEscape(query))
	}
	if filter != "" {
		v = append(v, "status="+url.QueryEscape(filter))
	}
	if page > 1 {
		v = append(v, "page="+strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + strings.Join(v, "&")
}

// pageURL is another page of the overview with its search and filter, for the links
// that work without htmx.
func pageURL(o Overview, page int) templ.SafeURL {
	return templ.SafeURL(OverviewURL(o.Query, o.Filter, page))
}

// livePageURL is the live list at a page; the search and the filter come from the
// filter form (hx-include), as they do for the 30 s refresh.
func livePageURL(page int) string {
	if page > 1 {
		return "/overview/live?page=" + strconv.Itoa(page)
	}
	return "/overview/live"
}

// pageRange is where the page is in the list: "51–100 of 130".
func pageRange(o Overview) string {
	return strconv.Itoa(o.First()) + "–" + strconv.Itoa(o.Last()) + " of " + strconv.Itoa(o.Shown)
}

// filterURL is the overview narrowed to one status.
func filterURL(st string) templ.SafeURL {
	return templ.SafeURL("/?status=" + url.QueryEscape(st))
}

// clip shortens s to n runes with an ellipsis; the overview shows the start of a message
// and the service page shows all of it.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// sinceText says since when a service has been in its state, for the badge's title.
func sinceText(st monitor.Status, since, now time.Time) string {
	if since.IsZero() {
		return ""
	}
	return Label(st) + " since " + UTC(since) + " (" + Duration(now.Sub(since)) + ")"
}

// segment is a run of days drawn as one element of a bar.
type segment struct {
	Span  int
	Class string
	Title string
}

// dayClass is how a day is coloured: ok (no downtime), dg (degraded only), lo (down
// but at least 99 % up), hi (down more), na (no data).
func dayClass(d monitor.Day) string {
	p, ok := d.Percentage()
	switch {
	case !ok:
		return "na"
	case d.Down == 0 && d.Degraded == 0:
		return "ok"
	case d.Down == 0:
		return "dg"
	case p >= 99:
		return "lo"
	}
	return "hi"
}

// segments turns days into bar segments. With merge, a run of clean days (or of days
// without data) becomes one element, which keeps the overview small: most services
// have a bar of one or two elements rather than ninety.
func segments(days []monitor.Day, merge bool) []segment {
	var out []segment
	for i := 0; i < len(days); {
		c := dayClass(days[i])
		j := i + 1
		if merge && (c == "ok" || c == "na") {
			for j < len(days) && dayClass(days[j]) == c {
				j++
			}
		}
		out = append(out, segment{Span: j - i, Class: c, Title: dayTitle(days[i:j], c)})
		i = j
	}
	return out
}

func dayTitle(run []monitor.Day, class string) string {
	const layout = "Jan 2"
	when := run[0].Date.Format(layout)
	if len(run) > 1 {
		when += " – " + run[len(run)-1].Date.Format(layout)
	}
	if class == "na" {
		return when + ": no data"
	}
	t := monitor.Sum(run)
	s := when + ": " + Percent(t) + " up"
	if t.Down > 0 {
		s += ", down " + Duration(t.Down)
	}
	if t.Degraded > 0 {
		s += ", degraded " + Duration(t.Degraded)
	}
	return s
}

// mark is a run of days the overview's bar draws over its clean background.
type mark struct {
	Class string // column, length and colour: "c45 s3 na"
	Title string
}

// marks are the days of an overview bar that are not clean: runs of days without data,
// and each day with downtime or degradation on its own.
func marks(days []monitor.Day) []mark {
	var out []mark
	col := 1
	for _, s := range segments(days, true) {
		if s.Class != "ok" {
			var b strings.Builder
			if col > 1 {
				b.WriteString("c" + strconv.Itoa(col) + " ")
			}
			if s.Span > 1 {
				b.WriteString(spanClass(s.Span) + " ")
			}
			b.WriteString(s.Class)
			m := mark{Class: b.String()}
			if s.Class != "na" {
				m.Title = s.Title
			}
			out = append(out, m)
		}
		col += s.Span
	}
	return out
}

func spanClass(n int) string { return "s" + strconv.Itoa(min(max(n, 1), 90)) }

// barLabel is what a screen reader says for a bar.
func barLabel(days []monitor.Day) string {
	return strconv.Itoa(len(days)) + " days: " + Percent(monitor.Sum(days)) + " up"
}

// problems reports whether st needs someone's attention.
func problem(st monitor.Status) bool {
	return st == monitor.Down || st == monitor.Late || st == monitor.Degraded
}

func groupName(g string) string {
	if g == "" {
		return "Ungrouped"
	}
	return g
}

// stateURL is the live region of a service page.
func stateURL(serviceID string) string {
	return "/services/" + url.PathEscape(serviceID) + "/state"
}

func runsURL(serviceID string) string {
	return "/services/" + url.PathEscape(serviceID) + "/runs"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func causeText(c string) string {
	switch c {
	case "stale":
		return "no heartbeat"
	case "reported":
		return "reported"
	case "overrun":
		return "run too long"
	}
	return "—"
}

func incidentLength(inc Incident, now time.Time) time.Duration {
	if inc.End.IsZero() {
		return now.Sub(inc.Start)
	}
	return inc.End.Sub(inc.Start)
}

// every is the htmx trigger of a live region: "every 30s".
func every(d time.Duration) string {
	if d <= 0 {
		d = 30 * time.Second
	}
	return "every " + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
