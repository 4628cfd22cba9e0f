package app

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

// pagingNow is the clock of the paging tests.
var pagingNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// pagingFleet is how many services of each state pagingHarness creates, in the order
// the overview lists them: 30 that need a look, 90 up, 10 paused.
var pagingFleet = []struct {
	state monitor.Status
	n     int
}{{monitor.Down, 10}, {monitor.Late, 8}, {monitor.Degraded, 6}, {monitor.Unknown, 6}, {monitor.Up, 90}, {monitor.Paused, 10}}

// pagingHarness is a harness holding the 130 services of pagingFleet, written straight
// into the database, spread over the groups "alpha", "beta" and none, with ids that do
// not follow their states, and a browser logged in to it.
func pagingHarness(t *testing.T, opts ...func(*Config)) (*harness, *browser) {
	t.Helper()
	h := newHarness(t, opts...)
	h.setClock(pagingNow)
	h.person("users", "ann@example.com")
	groups := []string{"beta", "", "alpha"}
	var rows, states [][]any
	i := 0
	for _, f := range pagingFleet {
		for range f.n {
			id := fmt.Sprintf("svc-%03d", (i*37)%130)
			seen, last, paused := pagingNow.Add(-10*time.Second), "up", false
			switch f.state {
			case monitor.Down:
				seen = pagingNow.Add(-20 * time.Minute)
			case monitor.Late:
				seen = pagingNow.Add(-200 * time.Second) // past the 120 s interval, within the 300 s threshold
			case monitor.Degraded:
				last = "degraded"
			case monitor.Paused:
				paused = true
			}
			seenText, first := store.DBDate(seen), store.DBDate(pagingNow.AddDate(0, 0, -30))
			if f.state == monitor.Unknown {
				seenText, last, first = "", "", ""
			}
			rec := fmt.Sprintf("rec%012d", i)
			rows = append(rows, []any{rec, id, "Service " + id, groups[i%len(groups)], fmt.Sprintf("key%037d", i),
				120, 300, paused, store.DBDate(pagingNow.AddDate(0, 0, -40)), store.DBDate(pagingNow.AddDate(0, 0, -40))})
			if f.state != monitor.Unknown {
				states = append(states, []any{rec, rec, seenText, last, "ok", first})
			}
			i++
		}
	}
	err := store.InsertRows(h.app.DB(), "services", []string{"id", "serviceId", "name", "group", "apiKey", "interval", "stalenessThreshold", "paused",
		"created", "updated"}, rows)
	if err == nil {
		err = store.InsertRows(h.app.DB(), "service_states", []string{"id", "service", "lastSeen", "lastStatus", "lastMessage", "firstSeen"}, states)
	}
	if err != nil {
		t.Fatal(err)
	}
	h.s.alerts.StartedAt = pagingNow.AddDate(0, 0, -1) // no restart grace: the states above hold at once
	h.reloadEngine()
	b := newBrowser(h, "10.0.0.1")
	b.login("ann@example.com", dashPassword)
	return h, b
}

var rowRE = regexp.MustCompile(`<tr id="svc-(svc-\d+)" data-status="([a-z]+)"`)

// listed is the services a page lists, in order, with their states.
type listed struct{ ids, states []string }

func listOf(page string) listed {
	var l listed
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		l.ids = append(l.ids, m[1])
		l.states = append(l.states, m[2])
	}
	return l
}

// pagerOf is the pager of a page: its range text and where Previous and Next go ("" when
// absent), from the plain links.
func pagerOf(t *testing.T, page string) (rng, prev, next string) {
	t.Helper()
	nav := regexp.MustCompile(`(?s)<nav class="pager" aria-label="Pages">(.*?)</nav>`).FindStringSubmatch(page)
	if nav == nil {
		return "", "", ""
	}
	if m := regexp.MustCompile(`<span aria-current="page">([^<]*)</span>`).FindStringSubmatch(nav[1]); m != nil {
		rng = m[1]
	}
	if m := regexp.MustCompile(`<a href="([^"]*)"[^>]*rel="prev"`).FindStringSubmatch(nav[1]); m != nil {
		prev = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if m := regexp.MustCompile(`<a href="([^"]*)"[^>]*rel="next"`).FindStringSubmatch(nav[1]); m != nil {
		next = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	return rng, prev, next
}

// severityOf ranks the states as the overview lists them.
func severityOf(st string) int {
	return slices.IndexFunc(pagingFleet, func(f struct {
		state monitor.Status
		n     int
	}) bool {
		return string(f.state) == st
	})
}

func TestOverviewPages(t *testing.T) {
	_, b := pagingHarness(t)
	var seen []string
	for _, tc := range []struct {
		path            string
		rows            int
		states          map[string]int
		rng, prev, next string
	}{
		{"/", 50, map[string]int{"down": 10, "late": 8, "degraded": 6, "unknown": 6, "up": 20}, "1–50 of 130", "", "/?page=2"},
		{"/?page=2", 50, map[string]int{"up": 50}, "51–100 of 130", "/", "/?page=3"},
		{"/?page=3", 30, map[string]int{"up": 20, "paused": 10}, "101–130 of 130", "/?page=2", ""},
	} {
		res := b.send("GET", tc.path, nil)
		if res.Code != 200 {
			t.Fatalf("GET %s: %d", tc.path, res.Code)
		}
		page := body(res)
		l := listOf(page)
		if len(l.ids) != tc.rows {
			t.Errorf("GET %s: %d rows, want %d", tc.path, len(l.ids), tc.rows)
		}
		states := map[string]int{}
		for _, st := range l.states {
			states[st]++
		}
		if !maps.Equal(states, tc.states) {
			t.Errorf("GET %s: states %v, want %v: every problem on page 1, then up, then paused", tc.path, states, tc.states)
		}
		// Within the page the services are grouped, each group worst first, and the
		// group of the worst service leads.
		worst := -1
		for _, g := range strings.Split(page, "<tbody>")[1:] {
			gl := listOf(g)
			for i := 1; i < len(gl.states); i++ {
				if severityOf(gl.states[i]) < severityOf(gl.states[i-1]) {
					t.Errorf("GET %s: %s (%s) listed after %s (%s) in its group: want problems first, then up, then paused", tc.path, gl.ids[i], gl.states[i], gl.ids[i-1], gl.states[i-1])
				}
			}
			if sev := severityOf(gl.states[0]); sev < worst {
				t.Errorf("GET %s: a group led by %s follows a worse one", tc.path, gl.states[0])
			} else {
				worst = sev
			}
		}
		rng, prev, next := pagerOf(t, page)
		if rng != tc.rng || prev != tc.prev || next != tc.next {
			t.Errorf("GET %s: pager %q, previous %q, next %q; want %q, %q, %q", tc.path, rng, prev, next, tc.rng, tc.prev, tc.next)
		}
		if !strings.Contains(page, `id="count-total" class="card total" href="/" aria-current="true"><b>130</b>`) {
			t.Errorf("GET %s: the Total card does not count all 130 services", tc.path)
		}
		seen = append(seen, l.ids...)
	}
	first := listOf(body(b.send("GET", "/", nil)))
	slices.Sort(seen)
	if len(slices.Compact(seen)) != 130 {
		t.Errorf("the three pages list %d different services, want all 130 once", len(seen))
	}

	last := listOf(body(b.send("GET", "/?page=3", nil)))
	for _, path := range []string{"/?page=4", "/?page=99"} {
		if got := listOf(body(b.send("GET", path, nil))); !slices.Equal(got.ids, last.ids) {
			t.Errorf("GET %s: want the last page, got %d rows starting %v", path, len(got.ids), got.ids[:min(3, len(got.ids))])
		}
	}
	if got := listOf(body(b.send("GET", "/?page=nope", nil))); !slices.Equal(got.ids, first.ids) {
		t.Errorf("GET /?page=nope: want page 1")
	}
}

// TestOverviewPagingWithinAState: the services of one state on one page are in group
// order, the ungrouped last, and the page groups them under their group's heading.
func TestOverviewPagingGroups(t *testing.T) {
	_, b := pagingHarness(t)
	page := body(b.send("GET", "/?status=paused", nil))
	heads := regexp.MustCompile(`scope="rowgroup">([^<]*)<span>(\d+)</span>`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range heads {
		got = append(got, m[1]+" "+m[2])
	}
	if want := []string{"alpha 3", "beta 4", "Ungrouped 3"}; !slices.Equal(got, want) {
		t.Errorf("paused services by group: got %v, want %v", got, want)
	}
}

func TestOverviewSearchAcrossPages(t *testing.T) {
	_, b := pagingHarness(t)
	// svc-12x are spread over the states and the pages.
	res := b.send("GET", "/overview/live?q=C-12", nil, "HX-Request: true")
	l := listOf(body(res))
	want := []string{"svc-120", "svc-121", "svc-122", "svc-123", "svc-124", "svc-125", "svc-126", "svc-127", "svc-128", "svc-129"}
	got := slices.Clone(l.ids)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("search C-12: got %v, want %v", l.ids, want)
	}
	if !strings.Contains(body(res), `data-shown="10"`) || !strings.Contains(body(res), `id="count-total" class="card total" href="/" aria-current="true"><b>130</b>`) {
		t.Error("a search counts what it found, and the cards still count every service")
	}
	if rng, _, _ := pagerOf(t, body(res)); rng != "" {
		t.Errorf("ten results fit one page: got a pager %q", rng)
	}
	if got := res.Header().Get("HX-Replace-Url"); got != "/?q=C-12" {
		t.Errorf("HX-Replace-Url: got %q", got)
	}

	// By name and by group, paged like the whole list.
	if l := listOf(body(b.send("GET", "/?q=service+svc-00", nil))); len(l.ids) != 10 {
		t.Errorf("search by name: %d rows, want the 10 of svc-00x", len(l.ids))
	}
	page := body(b.send("GET", "/?q=A&page=2", nil)) // the groups alpha and beta
	rng, prev, next := pagerOf(t, page)
	if rng != "51–87 of 87" || prev != "/?q=A" || next != "" {
		t.Errorf("search by group, page 2: pager %q, previous %q, next %q", rng, prev, next)
	}
}

func TestOverviewFilterWithPaging(t *testing.T) {
	_, b := pagingHarness(t)
	res := b.send("GET", "/overview/live?status=up&page=2", nil, "HX-Request: true")
	l := listOf(body(res))
	if len(l.ids) != 40 || slices.ContainsFunc(l.states, func(s string) bool { return s != "up" }) {
		t.Errorf("up, page 2: %d rows (%v), want the last 40 up services", len(l.ids), slices.Compact(slices.Clone(l.states)))
	}
	rng, prev, next := pagerOf(t, body(res))
	if rng != "51–90 of 90" || prev != "/?status=up" || next != "" {
		t.Errorf("up, page 2: pager %q, previous %q, next %q", rng, prev, next)
	}
	if got := res.Header().Get("HX-Replace-Url"); got != "/?status=up&page=2" {
		t.Errorf("HX-Replace-Url: got %q", got)
	}
	// The 30 s refresh asks for the page it shows, with the form's filter.
	if !strings.Contains(body(res), `<section id="list" class="list" hx-get="/overview/live?page=2"`) {
		t.Errorf("the list refreshes another page than its own: %.200s", body(res))
	}
	if l := listOf(body(b.send("GET", "/?status=problem", nil))); len(l.ids) != 24 {
		t.Errorf("needs attention: %d rows, want the 24 down, late and degraded", len(l.ids))
	}
}

// TestOverviewPageQueriesUseIndexes: what the overview reads of its page's services
// goes by index, never through the whole table.
func TestOverviewPageQueriesUseIndexes(t *testing.T) {
	h := newHarness(t)
	db := h.app.DB()
	ids := []string{"a", "b", "c"}
	incs, pauses := store.HistoryQueries(db, ids, pagingNow)
	for name, q := range map[string]*dbx.Query{
		"services of the page":  store.PageServicesQuery(db, ids).Build(),
		"incidents of the page": incs.Build(),
		"pauses of the page":    pauses.Build(),
	} {
		var plan []struct {
			Detail string `db:"detail"`
		}
		if err := db.NewQuery("EXPLAIN QUERY PLAN " + q.SQL()).Bind(q.Params()).All(&plan); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var details []string
		for _, p := range plan {
			details = append(details, p.Detail)
		}
		all := strings.Join(details, "; ")
		t.Logf("%s: %s", name, all)
		if !strings.Contains(all, "USING") || (strings.Contains(all, "SCAN ") && !strings.Contains(all, "USING INDEX") && !strings.Contains(all, "COVERING INDEX")) {
			t.Errorf("%s: plan %q does not use an index", name, all)
		}
	}
}
