package views

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// doc renders c and parses the result as a browser would.
func doc(t testing.TB, c templ.Component) *html.Node {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	n, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fragment renders a partial and parses it in a <body> context.
func fragment(t testing.TB, c templ.Component) *html.Node {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(&buf, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	return body
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// all returns the elements under n for which match is true, in document order.
func all(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func byID(t testing.TB, n *html.Node, id string) *html.Node {
	t.Helper()
	found := all(n, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })
	if len(found) != 1 {
		t.Fatalf("got %d elements with id %q, want 1", len(found), id)
	}
	return found[0]
}

func hasID(n *html.Node, id string) bool {
	return len(all(n, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })) > 0
}

func byTag(n *html.Node, tag string) []*html.Node {
	return all(n, func(n *html.Node) bool { return n.Data == tag })
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for _, c := range strings.Fields(v) {
		if c == class {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// days makes n clean days ending today, created long ago.
func cleanDays(n int) []monitor.Day {
	tl := monitor.History{Created: now.AddDate(-1, 0, 0), FirstBeat: now.AddDate(-1, 0, 0)}.Timeline(now)
	return tl.Days(n)
}

func rowIn(st monitor.Status, id string) Row {
	return Row{
		ServiceID: id, Name: "Service " + id, Status: st, Since: now.Add(-10 * time.Minute),
		LastSeen: now.Add(-30 * time.Second), LastMessage: "all good",
		Uptime: [3]monitor.Tally{{Monitored: time.Hour}, {Monitored: time.Hour}, {Monitored: time.Hour}},
		Days:   cleanDays(90),
	}
}

func overviewOf(rows ...Row) Overview {
	o := Overview{Chrome: Chrome{Title: "Overview", User: "me@example.com", CSRF: "tok"}, Now: now}
	for _, r := range rows {
		o.Counts.Add(r.Status)
	}
	if len(rows) > 0 {
		o.Groups = []Group{{Name: "g", Services: rows}}
		o.Shown = len(rows)
	}
	return o
}

func TestOverviewRowsEveryState(t *testing.T) {
	var rows []Row
	for _, st := range statuses {
		rows = append(rows, rowIn(st, "svc-"+string(st)))
	}
	d := doc(t, OverviewPage(overviewOf(rows...)))
	for _, st := range statuses {
		t.Run(string(st), func(t *testing.T) {
			tr := byID(t, d, "svc-svc-"+string(st))
			if got, _ := attr(tr, "data-status"); got != string(st) {
				t.Errorf("row data-status: got %q, want %q", got, st)
			}
			tds := byTag(tr, "td")
			if len(tds) != 8 {
				t.Fatalf("got %d cells, want 8", len(tds))
			}
			badges := byTag(tds[0], "b")
			if len(badges) != 1 {
				t.Fatalf("got %d badges in the row, want 1", len(badges))
			}
			b := badges[0]
			if text(b) != Label(st) {
				t.Errorf("badge: got %q, want the word %q (icon and colour come from the row's data-status)", text(b), Label(st))
			}
			title, hasTitle := attr(b, "title")
			if problem(st) != hasTitle {
				t.Errorf("badge title %q: a since-when hover is wanted exactly on down, late and degraded", title)
			}
			if hasTitle && !strings.Contains(title, "since 2026-11-26 11:50:00 UTC") {
				t.Errorf("badge title: got %q, want the exact UTC time the state began", title)
			}
			if got, _ := attr(tds[2], "title"); got != "11:59:30 UTC" || text(tds[2]) != "30s ago" {
				t.Errorf("last seen: got %q (title %q), want 30s ago with the exact UTC time on hover", text(tds[2]), got)
			}
			link := byTag(tds[1], "a")[0]
			if href, _ := attr(link, "href"); href != "/services/svc-"+string(st) {
				t.Errorf("service link: got %q", href)
			}
		})
	}
	for _, st := range statuses {
		card := byID(t, d, "count-"+string(st))
		if got := text(byTag(card, "b")[0]); got != "1" {
			t.Errorf("card %s: got count %q, want 1", st, got)
		}
		if hot := hasClass(card, "hot"); hot != problem(st) {
			t.Errorf("card %s: hot=%v, want highlighted only for problems with a count", st, hot)
		}
	}
	if got := text(byTag(byID(t, d, "count-total"), "b")[0]); got != "6" {
		t.Errorf("total card: got %q, want 6", got)
	}
}

func TestOverviewEmptyStates(t *testing.T) {
	d := doc(t, OverviewPage(overviewOf()))
	byID(t, d, "empty")
	if len(byTag(d, "table")) != 0 {
		t.Error("an empty overview has no table")
	}

	o := overviewOf(rowIn(monitor.Up, "a"))
	o.Groups, o.Shown, o.Query = nil, 0, "nothing"
	d = doc(t, OverviewPage(o))
	byID(t, d, "no-match")
	if hasID(d, "empty") {
		t.Error("a filter that matches nothing is not the no-services state")
	}
	if v, _ := attr(byID(t, d, "q"), "value"); v != "nothing" {
		t.Errorf("search box: got %q, want the query kept", v)
	}
}

func TestOverviewLiveIsTheListAndCardsOutOfBand(t *testing.T) {
	f := fragment(t, OverviewLive(overviewOf(rowIn(monitor.Down, "db"))))
	list := byID(t, f, "list")
	if got, _ := attr(list, "hx-trigger"); got != "every 30s" {
		t.Errorf("list refresh: got hx-trigger %q", got)
	}
	if got, _ := attr(list, "hx-swap"); got != "outerHTML" {
		t.Errorf("list swap: got %q", got)
	}
	cards := byID(t, f, "cards")
	if got, _ := attr(cards, "hx-swap-oob"); got != "true" {
		t.Errorf("cards in the live partial must be swapped out of band, got hx-swap-oob=%q", got)
	}
	if hasID(f, "filters") || hasID(f, "main") {
		t.Error("the live partial must not re-render the filter form or the page")
	}
	page := doc(t, OverviewPage(overviewOf(rowIn(monitor.Down, "db"))))
	if _, ok := attr(byID(t, page, "cards"), "hx-swap-oob"); ok {
		t.Error("the full page's cards are not out of band")
	}
}

func TestOverviewPager(t *testing.T) {
	o := overviewOf(rowIn(monitor.Up, "a"))
	o.Shown, o.Page, o.Pages, o.PerPage, o.Query, o.Filter = 130, 2, 3, 50, "db & co", "up"
	f := fragment(t, List(o))
	if got, _ := attr(byID(t, f, "list"), "hx-get"); got != "/overview/live?page=2" {
		t.Errorf("the refresh asks for %q, want the page it shows", got)
	}
	navs := all(f, func(n *html.Node) bool { v, _ := attr(n, "aria-label"); return n.Data == "nav" && v == "Pages" })
	if len(navs) != 1 {
		t.Fatalf("got %d page navigations, want 1", len(navs))
	}
	cur := all(navs[0], func(n *html.Node) bool { v, _ := attr(n, "aria-current"); return v == "page" })
	if len(cur) != 1 || text(cur[0]) != "51–100 of 130" {
		t.Errorf("the current page: got %d marked, want one saying 51–100 of 130", len(cur))
	}
	for _, tc := range []struct{ rel, href, hx, label string }{
		{"prev", "/?q=db+%26+co&status=up", "/overview/live", "Previous"},
		{"next", "/?q=db+%26+co&status=up&page=3", "/overview/live?page=3", "Next"},
	} {
		links := all(navs[0], func(n *html.Node) bool { v, _ := attr(n, "rel"); return n.Data == "a" && v == tc.rel })
		if len(links) != 1 {
			t.Errorf("%s: got %d links, want 1", tc.rel, len(links))
			continue
		}
		href, _ := attr(links[0], "href")
		hx, _ := attr(links[0], "hx-get")
		inc, _ := attr(links[0], "hx-include")
		if href != tc.href || hx != tc.hx || inc != "#filters" || text(links[0]) != tc.label {
			t.Errorf("%s: got href %q, hx-get %q with %q, %q; want %q, %q with #filters, %q", tc.rel, href, hx, inc, text(links[0]), tc.href, tc.hx, tc.label)
		}
	}

	o.Page = 1
	if f := fragment(t, List(o)); len(all(f, func(n *html.Node) bool { v, _ := attr(n, "rel"); return v == "prev" })) != 0 {
		t.Error("page 1 has no Previous")
	}
	o.Page = 3
	if f := fragment(t, List(o)); len(all(f, func(n *html.Node) bool { v, _ := attr(n, "rel"); return v == "next" })) != 0 {
		t.Error("the last page has no Next")
	}
	o.Pages, o.Page, o.Shown = 1, 1, 1
	if f := fragment(t, List(o)); len(byTag(f, "nav")) != 0 {
		t.Error("a list that fits one page has no pager")
	}
}

const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// scriptsAreOurs fails if any <script> is not one of the page's own, or any element has
// an inline event handler: user text must come out as text.
func scriptsAreOurs(t *testing.T, d *html.Node) {
	t.Helper()
	for _, s := range byTag(d, "script") {
		src, _ := attr(s, "src")
		if !strings.HasPrefix(src, "/static/") || text(s) != "" {
			t.Errorf("unexpected script element: src=%q body=%q", src, text(s))
		}
	}
	for _, n := range all(d, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("element <%s> has an event handler attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "img" {
			t.Error("an <img> element came out of user text")
		}
	}
}

func TestHostileTextIsInert(t *testing.T) {
	r := rowIn(monitor.Down, "evil")
	r.Name, r.LastMessage = hostile, hostile
	o := overviewOf(r)
	o.Groups[0].Name = hostile
	o.Query = hostile
	d := doc(t, OverviewPage(o))
	scriptsAreOurs(t, d)
	tr := byID(t, d, "svc-evil")
	if got := text(byTag(tr, "a")[0]); got != hostile {
		t.Errorf("name: got %q, want the text shown as it was sent", got)
	}
	if got := text(byTag(tr, "td")[3]); got != clip(hostile, 48) {
		t.Errorf("message: got %q", got)
	}

	s := Service{Chrome: Chrome{Title: hostile, User: hostile, CSRF: "t"}, Now: now, Row: r, Description: hostile, Group: hostile,
		LastStatus: "down", Interval: time.Minute, Threshold: 5 * time.Minute,
		Beats: Beats{ServiceID: "evil", Page: 1, Pages: 1, Total: 1, Items: []Beat{{At: now, Status: "down", Message: hostile,
			Metadata: `{"x": "` + strings.ReplaceAll(hostile, `"`, `\"`) + `"}`, SourceIP: "10.0.0.1"}}},
		Curl: "curl",
	}
	d = doc(t, ServicePage(s))
	scriptsAreOurs(t, d)
	if got := text(byTag(byID(t, d, "state"), "h1")[0]); got != hostile {
		t.Errorf("service heading: got %q", got)
	}
	if got := text(byTag(byID(t, d, "beats"), "pre")[0]); !strings.Contains(got, `<script>alert(\"x\")</script>`) {
		t.Errorf("metadata: got %q, want the JSON shown as text", got)
	}
	if got := text(byID(t, d, "last-message")); got != hostile {
		t.Errorf("last message: got %q", got)
	}

	d = doc(t, LoginPage(Login{Email: hostile, Next: hostile, Error: hostile}))
	scriptsAreOurs(t, d)
	if v, _ := attr(byID(t, d, "email"), "value"); v != hostile {
		t.Errorf("email field: got %q", v)
	}
}

func TestServicePage(t *testing.T) {
	base := Service{Chrome: Chrome{Title: "db", User: "me@example.com", CSRF: "t"}, Now: now, Row: rowIn(monitor.Down, "db"),
		Cause: monitor.CauseStale, Interval: 2 * time.Minute, Threshold: 5 * time.Minute, Curl: "curl -fsS ..."}

	t.Run("empty", func(t *testing.T) {
		d := doc(t, ServicePage(base))
		for _, id := range []string{"no-beats", "no-incidents", "no-log"} {
			byID(t, d, id)
		}
		if got, _ := attr(byID(t, d, "state"), "data-status"); got != "down" {
			t.Errorf("state data-status: got %q", got)
		}
		if got := text(byID(t, d, "since")); !strings.Contains(got, "Down since 2026-11-26 11:50:00 UTC (10m 00s)") || !strings.Contains(got, "no heartbeat") {
			t.Errorf("since: got %q", got)
		}
		if got := len(byTag(byID(t, d, "days"), "i")); got != 90 {
			t.Errorf("service page bar: got %d days, want 90 (one per day)", got)
		}
		if got := text(byID(t, d, "curl")); got != "curl -fsS ..." {
			t.Errorf("curl: got %q", got)
		}
	})

	t.Run("lists", func(t *testing.T) {
		s := base
		s.Incidents = []Incident{
			{Status: monitor.Down, Cause: monitor.CauseStale, Start: now.Add(-10 * time.Minute)},
			{Status: monitor.Degraded, Cause: monitor.CauseReported, Start: now.Add(-3 * time.Hour), End: now.Add(-150 * time.Minute)},
		}
		s.Beats = Beats{ServiceID: "db", Page: 2, Pages: 3, Total: 45, Items: []Beat{{At: now, Status: "up", Message: "m", SourceIP: "10.0.0.1"}}}
		s.Log = []LogEntry{{At: now, Status: monitor.Down, Previous: monitor.Up, Since: 6 * time.Minute}}
		d := doc(t, ServicePage(s))
		rows := byTag(byTag(byID(t, d, "incidents"), "tbody")[0], "tr")
		if len(rows) != 2 {
			t.Fatalf("got %d incident rows, want 2", len(rows))
		}
		if got := text(rows[0]); !strings.Contains(got, "ongoing") || !strings.Contains(got, "10m 00s") {
			t.Errorf("open incident: got %q, want ongoing for 10m 00s", got)
		}
		if got := text(rows[1]); !strings.Contains(got, "2026-11-26 09:30:00 UTC") || !strings.Contains(got, "30m 00s") {
			t.Errorf("closed incident: got %q, want its end and a 30 min duration", got)
		}
		pager := byTag(byID(t, d, "beats"), "nav")[0]
		links := byTag(pager, "a")
		if len(links) != 2 {
			t.Fatalf("page 2 of 3: got %d pager links, want newer and older", len(links))
		}
		if got, _ := attr(links[1], "hx-get"); got != "/services/db/heartbeats?page=3" {
			t.Errorf("older link: got hx-get %q", got)
		}
		if got, _ := attr(links[1], "href"); got != "/services/db?page=3#beats" {
			t.Errorf("older link without JS: got href %q", got)
		}
	})
}

func TestPercent(t *testing.T) {
	h := time.Hour
	cases := []struct {
		t    monitor.Tally
		want string
	}{
		{monitor.Tally{}, "—"},
		{monitor.Tally{Monitored: h}, "100%"},
		{monitor.Tally{Monitored: h, Degraded: h}, "100%"},
		{monitor.Tally{Monitored: h, Down: h}, "0%"},
		{monitor.Tally{Monitored: 24 * h, Down: time.Second}, "99.99%"},
		{monitor.Tally{Monitored: 1000 * h, Down: time.Second}, "99.99%"},
		{monitor.Tally{Monitored: 2 * h, Down: h}, "50%"},
		{monitor.Tally{Monitored: 3 * h, Down: h}, "66.66%"},
	}
	for _, c := range cases {
		if got := Percent(c.t); got != c.want {
			t.Errorf("Percent(%+v): got %q, want %q", c.t, got, c.want)
		}
	}
}

func TestSegments(t *testing.T) {
	tl := monitor.History{
		Created:   now.AddDate(0, 0, -5).Add(-time.Hour),
		FirstBeat: now.AddDate(0, 0, -5).Add(-time.Hour),
		Incidents: []monitor.Incident{{Status: monitor.Down, Span: monitor.Span{Start: now.AddDate(0, 0, -2), End: now.AddDate(0, 0, -2).Add(10 * time.Minute)}}},
	}.Timeline(now)
	days := tl.Days(10)
	var got []string
	for _, s := range segments(days, true) {
		got = append(got, fmt.Sprintf("%d %s", s.Span, s.Class))
	}
	want := "4 na|3 ok|1 lo|2 ok"
	if strings.Join(got, "|") != want {
		t.Errorf("merged: got %s, want %s", strings.Join(got, "|"), want)
	}
	if n := len(segments(days, false)); n != 10 {
		t.Errorf("unmerged: got %d segments, want 10", n)
	}
	bad := segments(days, true)[2]
	if bad.Title != "Nov 24: 99.3% up, down 10m 00s" {
		t.Errorf("bad day title: got %q", bad.Title)
	}
}

func TestSeenTitle(t *testing.T) {
	if got := seenTitle(now.Add(-time.Minute), now); got != "11:59:00 UTC" {
		t.Errorf("today: got %q, want the time of day", got)
	}
	if got := seenTitle(now.Add(-13*time.Hour), now); got != "2026-11-25 23:00:00 UTC" {
		t.Errorf("yesterday: got %q, want the date and time", got)
	}
}

func TestDurationAndAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 4*time.Minute + 5*time.Second: "4m 05s",
		3*time.Hour + 12*time.Minute: "3h 12m", 52 * time.Hour: "2d 4h",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v): got %q, want %q", d, got, want)
		}
	}
	for ago, want := range map[time.Duration]string{
		0: "just now", 12 * time.Second: "12s ago", 5 * time.Minute: "5m ago", 3 * time.Hour: "3h ago", 72 * time.Hour: "3d ago",
	} {
		if got := Ago(now.Add(-ago), now); got != want {
			t.Errorf("Ago(-%v): got %q, want %q", ago, got, want)
		}
	}
	if got := Ago(time.Time{}, now); got != "never" {
		t.Errorf("Ago(zero): got %q, want never", got)
	}
}

// TestServiceTablesLabelTheirCells: on a phone the service page's tables become cards,
// and each cell says what it is (data-label, shown by CSS) with its column's heading.
func TestServiceTablesLabelTheirCells(t *testing.T) {
	s := Service{Chrome: Chrome{Title: "db", User: "me@example.com", CSRF: "t"}, Now: now, Row: rowIn(monitor.Down, "db")}
	s.Incidents = []Incident{{Status: monitor.Down, Cause: monitor.CauseStale, Start: now.Add(-10 * time.Minute)}}
	s.Beats = Beats{ServiceID: "db", Page: 1, Pages: 1, Total: 1, Items: []Beat{{At: now, Status: "up", Message: "m", Metadata: `{"a":1}`, SourceIP: "10.0.0.1"}}}
	s.Log = []LogEntry{{At: now, Status: monitor.Down, Previous: monitor.Up, Since: 6 * time.Minute}}
	d := doc(t, ServicePage(s))
	for _, id := range []string{"incidents", "beats", "log"} {
		table := byTag(byID(t, d, id), "table")[0]
		if !hasClass(table, "resp") {
			t.Errorf("#%s: the table is not one that becomes cards on a phone", id)
		}
		heads := byTag(table, "th")
		for _, tr := range byTag(byTag(table, "tbody")[0], "tr") {
			cells := byTag(tr, "td")
			if len(cells) != len(heads) {
				t.Fatalf("#%s: %d cells under %d headings", id, len(cells), len(heads))
			}
			for i, td := range cells {
				if got, _ := attr(td, "data-label"); got != text(heads[i]) {
					t.Errorf("#%s cell %d: data-label %q, want its heading %q", id, i, got, text(heads[i]))
				}
			}
		}
	}
}

// TestHeaderLogoutForms: the header offers both log-outs, each a POST with the token.
func TestHeaderLogoutForms(t *testing.T) {
	d := doc(t, LogoutPage(Chrome{Title: "Log out", User: "me@example.com", CSRF: "tok"}))
	for _, action := range []string{"/logout", "/logout/everywhere"} {
		forms := all(d, func(n *html.Node) bool {
			a, _ := attr(n, "action")
			m, _ := attr(n, "method")
			return n.Data == "form" && a == action && m == "post"
		})
		if len(forms) != 2 { // the header's and the page's
			t.Errorf("%s: got %d POST forms, want 2", action, len(forms))
		}
		for _, f := range forms {
			ok := false
			for _, in := range byTag(f, "input") {
				n, _ := attr(in, "name")
				v, _ := attr(in, "value")
				ok = ok || (n == "csrf" && v == "tok")
			}
			if !ok {
				t.Errorf("%s: a form without the CSRF token", action)
			}
		}
	}
	if got := text(byID(t, d, "logout-everywhere")); got != "Log out everywhere" {
		t.Errorf("header button: got %q", got)
	}
}
