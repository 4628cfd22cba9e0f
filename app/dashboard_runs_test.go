package app

import (
	"iter"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

const (
	runsUUID = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	runsRID1 = "11111111-2222-4333-8444-555555555555"
	runsRID2 = "22222222-3333-4444-8555-666666666666"
	runsRID3 = "33333333-4444-4555-8666-777777777777"
)

// page parses a dashboard page.
func page(t *testing.T, b *browser, path string) *html.Node {
	t.Helper()
	res := b.send("GET", path, nil)
	if res.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, res.Code, body(res))
	}
	doc, err := html.Parse(strings.NewReader(body(res)))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// nodes are the elements that match: n itself, then those under it in document order.
func nodes(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range withDescendants(n) {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

// withDescendants is n, then every node under it in document order.
func withDescendants(n *html.Node) iter.Seq[*html.Node] {
	return func(yield func(*html.Node) bool) {
		if yield(n) {
			n.Descendants()(yield)
		}
	}
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// elementByID is the element with id, or nil.
func elementByID(n *html.Node, id string) *html.Node {
	if found := nodes(n, func(n *html.Node) bool { return attrOf(n, "id") == id }); len(found) > 0 {
		return found[0]
	}
	return nil
}

func classed(n *html.Node, class string) bool {
	return strings.Contains(" "+attrOf(n, "class")+" ", " "+class+" ")
}

// textOf is the text under n with runs of space made one.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for d := range withDescendants(n) {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// cells are the texts of a table row's cells.
func cells(tr *html.Node) []string {
	var out []string
	for _, td := range nodes(tr, func(n *html.Node) bool { return n.Data == "td" }) {
		out = append(out, textOf(td))
	}
	return out
}

// runsJob pings a cron job through its day: a measured run, a failed one with exit
// status 3, a rid-less run ended by a success with a body, a log and a start without
// bodies, and a run left open. It returns the browser of a logged-in person at the end.
func runsJob(t *testing.T, h *harness) *browser {
	t.Helper()
	// 03:00 in Riga (UTC+2 in November) is 01:00 UTC.
	t0 := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	h.person("users", "ann@example.com")
	h.service("backup", "backup-key-0123456789", map[string]any{"pingId": runsUUID, "schedule": "0 3 * * *",
		"timezone": "Europe/Riga", "grace": 1800, "maxRuntime": 3600})
	h.service("web", "web-key-0123456789", map[string]any{"interval": 60})
	ping := func(at time.Duration, method, path, payload string) {
		t.Helper()
		h.setClock(t0.Add(at))
		if res := h.do(method, path, payload); res.Code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, res.Code, body(res))
		}
	}
	u := "/ping/" + runsUUID
	ping(0, "GET", u+"/start?rid="+runsRID1, "")
	ping(5*time.Minute, "GET", u+"/0?rid="+runsRID1, "")
	ping(10*time.Minute, "GET", u+"/start?rid="+runsRID2, "")
	ping(12*time.Minute+30*time.Second, "POST", u+"/3?rid="+runsRID2, "")
	ping(20*time.Minute, "HEAD", u+"/start", "")
	ping(21*time.Minute, "POST", u, "backup <done> & copied\nsecond line")
	ping(22*time.Minute, "GET", u+"/log", "")
	ping(30*time.Minute, "GET", u+"/start?rid="+runsRID3, "")
	h.setClock(t0)
	if code := h.beat("web", "web-key-0123456789"); code != 200 {
		t.Fatalf("beat: %d", code)
	}
	h.setClock(t0.Add(31 * time.Minute))
	b := newBrowser(h, "10.0.0.1")
	b.login("ann@example.com", dashPassword)
	return b
}

// TestServicePageShowsSchedule: a cron job's page says its schedule in words, the zone,
// the grace, the bound on runs, when the next ping is expected (the schedule's next run
// after the last ping) and that a run is going; an interval service's next beat is its
// last beat plus its interval, and it has no runs section.
func TestServicePageShowsSchedule(t *testing.T) {
	h := newHarness(t)
	b := runsJob(t, h)
	doc := page(t, b, "/services/backup")
	for id, want := range map[string]string{
		"schedule":    "every day at 03:00",
		"timezone":    "Europe/Riga",
		"grace":       "30m 00s after an expected run",
		"max-runtime": "1h 00m",
		"expected":    "2026-12-01 01:00:00 UTC (in 23h 29m)",
		"running":     "Running since 2026-11-30 01:30:00 UTC",
	} {
		if got := textOf(elementByID(doc, id)); got != want {
			t.Errorf("#%s: got %q, want %q", id, got, want)
		}
	}

	web := page(t, b, "/services/web")
	if got, want := textOf(elementByID(web, "expected")), "2026-11-30 01:01:00 UTC (overdue by 30m 00s)"; got != want {
		t.Errorf("interval service #expected: got %q, want %q", got, want)
	}
	for _, id := range []string{"runs", "schedule", "running"} {
		if elementByID(web, id) != nil {
			t.Errorf("a plain interval service without runs shows #%s", id)
		}
	}
}

// TestServicePageShowsRuns: the runs table lists each run newest first with its start,
// end, duration, exit status and run id; the chart has a bar per run, the failed one in
// the down colour's class and the open one marked; the heartbeats list shows a start
// and a log by their kind and a ping's body escaped behind its first line; the overview
// marks the service running.
func TestServicePageShowsRuns(t *testing.T) {
	h := newHarness(t)
	b := runsJob(t, h)
	doc := page(t, b, "/services/backup")

	table := elementByID(doc, "runs-table")
	if table == nil {
		t.Fatal("no runs table")
	}
	var got [][]string
	for _, tr := range nodes(table, func(n *html.Node) bool { return n.Data == "tr" && classed(n, "run-row") }) {
		got = append(got, cells(tr))
	}
	want := [][]string{
		{"Running", "2026-11-30 01:30:00 UTC", "running", "1m 00s so far", "—", runsRID3},
		{"Succeeded", "2026-11-30 01:20:00 UTC", "2026-11-30 01:21:00 UTC", "1m 00s", "—", "—"},
		{"Failed", "2026-11-30 01:10:00 UTC", "2026-11-30 01:12:30 UTC", "2m 30s", "3", runsRID2},
		{"Succeeded", "2026-11-30 01:00:00 UTC", "2026-11-30 01:05:00 UTC", "5m 00s", "0", runsRID1},
	}
	if len(got) != len(want) {
		t.Fatalf("runs table rows:\n got %q\nwant %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], " | ") != strings.Join(want[i], " | ") {
			t.Errorf("run %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}

	chart := elementByID(doc, "runs-chart")
	if chart == nil || chart.Data != "svg" {
		t.Fatal("no runs chart")
	}
	bars := nodes(chart, func(n *html.Node) bool { return n.Data == "rect" })
	if len(bars) != 4 {
		t.Fatalf("chart bars: got %d, want 4", len(bars))
	}
	// Oldest on the left: the 5 min run is the tallest, then the failure, the rid-less
	// run and the open one.
	var classes, titles []string
	for _, r := range bars {
		classes = append(classes, attrOf(r, "class"))
		titles = append(titles, textOf(r))
	}
	if strings.Join(classes, ",") != "ok,fail,ok,open" {
		t.Errorf("bar classes: got %q, want ok,fail,ok,open", classes)
	}
	if attrOf(bars[0], "height") != "100" || attrOf(bars[1], "height") != "50" {
		t.Errorf("bar heights: got %s and %s, want 100 (the longest run) and 50 (half as long)", attrOf(bars[0], "height"), attrOf(bars[1], "height"))
	}
	if want := "started 2026-11-30 01:10:00 UTC · 2m 30s · exit 3 · Failed"; titles[1] != want {
		t.Errorf("failed bar's title: got %q, want %q", titles[1], want)
	}

	beats := nodes(elementByID(doc, "beats"), func(n *html.Node) bool { return n.Data == "tr" && classed(n, "beat") })
	var statuses []string
	for _, tr := range beats {
		statuses = append(statuses, cells(tr)[1])
	}
	if got, want := strings.Join(statuses, ","), "start,log,up,start,down · exit 3,start,up · exit 0,start"; got != want {
		t.Errorf("heartbeat statuses: got %q, want %q", got, want)
	}
	res := b.send("GET", "/services/backup", nil)
	if !strings.Contains(body(res), "<summary>backup &lt;done&gt; &amp; copied …</summary><pre>backup &lt;done&gt; &amp; copied\nsecond line</pre>") {
		t.Error("the success ping's body is shown escaped, its first line opening the whole")
	}

	over := page(t, b, "/")
	row := elementByID(over, "svc-backup")
	if row == nil || len(nodes(row, func(n *html.Node) bool { return classed(n, "run") })) != 1 {
		t.Errorf("the overview marks backup running: %q", textOf(row))
	}
	if web := elementByID(over, "svc-web"); web == nil || len(nodes(web, func(n *html.Node) bool { return classed(n, "run") })) != 0 {
		t.Error("the overview marks only services with an open run as running")
	}
}

// TestRunsPanelRefreshes: the runs panel asks for itself again (as the header does), and
// its partial shows a run that finished since the page was loaded; a stranger gets no
// partial.
func TestRunsPanelRefreshes(t *testing.T) {
	h := newHarness(t)
	b := runsJob(t, h)
	doc := page(t, b, "/services/backup")
	panel := elementByID(doc, "runs")
	if panel == nil || attrOf(panel, "hx-get") != "/services/backup/runs" || !strings.HasPrefix(attrOf(panel, "hx-trigger"), "every ") {
		t.Fatalf("runs panel without its refresh: %v", panel)
	}
	h.setClock(time.Date(2026, 11, 30, 1, 40, 0, 0, time.UTC))
	if res := h.do("GET", "/ping/"+runsUUID+"/0?rid="+runsRID3, ""); res.Code != 200 {
		t.Fatalf("finish: %d", res.Code)
	}
	part := page(t, b, "/services/backup/runs")
	table := elementByID(part, "runs-table")
	if table == nil {
		t.Fatal("the partial has no runs table")
	}
	rows := nodes(table, func(n *html.Node) bool { return n.Data == "tr" && classed(n, "run-row") })
	if len(rows) == 0 || strings.Join(cells(rows[0]), " | ") != "Succeeded | 2026-11-30 01:30:00 UTC | 2026-11-30 01:40:00 UTC | 10m 00s | 0 | "+runsRID3 {
		t.Errorf("newest run in the partial: %q", cells(rows[0]))
	}
	if res := h.do("GET", "/services/backup/runs", ""); res.Code == 200 && strings.Contains(body(res), "runs-table") {
		t.Error("the runs partial was served without a session")
	}
}
