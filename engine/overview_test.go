package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// overviewOrder is the order the dashboard lists states in.
var overviewOrder = []monitor.Status{monitor.Down, monitor.Late, monitor.Degraded, monitor.Unknown, monitor.Up, monitor.Paused}

// fleet is n services over three groups and the ungrouped, one in 97 down, one in 31
// late, one in 13 paused, the rest up: more than one scan chunk when n is large.
func fleet(n int) []Service {
	groups := []string{"", "core", "jobs", "web"}
	out := make([]Service, n)
	for i := range out {
		st := monitor.Up
		switch {
		case i%97 == 5:
			st = monitor.Down
		case i%31 == 3:
			st = monitor.Late
		case i%13 == 1:
			st = monitor.Paused
		}
		id := fmt.Sprintf("s%05d", (i*7919)%n) // not in list order
		out[i] = Service{ID: "r" + id, ServiceID: id, Name: "Name " + id, Group: groups[i%len(groups)], State: st}
	}
	return out
}

// want is the page order worked out the slow way.
func want(svcs []Service, states []monitor.Status, match Match) []string {
	var keep []Service
	for _, s := range svcs {
		if slices.Contains(states, s.State) && (match == nil || match(s.ServiceID, s.Name, s.Group)) {
			keep = append(keep, s)
		}
	}
	slices.SortFunc(keep, func(a, b Service) int {
		return cmp.Or(cmp.Compare(slices.Index(states, a.State), slices.Index(states, b.State)),
			cmp.Compare(ungrouped(a), ungrouped(b)), cmp.Compare(a.Group, b.Group), cmp.Compare(a.ServiceID, b.ServiceID))
	})
	out := make([]string, len(keep))
	for i, s := range keep {
		out[i] = s.ServiceID
	}
	return out
}

// ungrouped sorts the services without a group after the others.
func ungrouped(s Service) int {
	if s.Group == "" {
		return 1
	}
	return 0
}

func sidsOf(vs []View) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ServiceID
	}
	return out
}

func TestEnginePageListsEveryPageInOrder(t *testing.T) {
	svcs := fleet(10000)
	e := newEngine(&clock{now: t0}, &sink{})
	e.Load(svcs, nil, nil)
	search := func(sid, name, group string) bool { return strings.Contains(sid, "7") || group == "web" }
	for _, tc := range []struct {
		name   string
		states []monitor.Status
		match  Match
	}{
		{"all", overviewOrder, nil},
		{"problems", []monitor.Status{monitor.Down, monitor.Late, monitor.Degraded}, nil},
		{"paused", []monitor.Status{monitor.Paused}, nil},
		{"search", overviewOrder, search},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts := e.Counts()
			if tc.match != nil {
				counts = e.CountMatching(tc.match)
			}
			exp := want(svcs, tc.states, tc.match)
			total := 0
			for _, st := range tc.states {
				total += counts[st]
			}
			if total != len(exp) {
				t.Fatalf("counts add up to %d, want %d", total, len(exp))
			}
			const per = 50
			var got []string
			for off := 0; off < total; off += per {
				page := sidsOf(e.Page(tc.states, counts, tc.match, off, per))
				if want := min(per, total-off); len(page) != want {
					t.Fatalf("page at %d: %d services, want %d", off, len(page), want)
				}
				got = append(got, page...)
			}
			if !slices.Equal(got, exp) {
				t.Errorf("the pages together: got %d services, want %d in page order (first difference at %d)", len(got), len(exp), firstDiff(got, exp))
			}
			if extra := e.Page(tc.states, counts, tc.match, total, per); len(extra) != 0 {
				t.Errorf("past the end: got %d services, want none", len(extra))
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestEnginePageLooksOnlyAtWhatThePageNeeds: a page of up services does not look at the
// services of states before it, and page 1 stops once it is full.
func TestEnginePageLooksOnlyAtWhatThePageNeeds(t *testing.T) {
	svcs := fleet(10000)
	e := newEngine(&clock{now: t0}, &sink{})
	e.Load(svcs, nil, nil)
	counts := e.Counts()
	looked := 0
	match := func(string, string, string) bool { looked++; return true }

	problems := counts[monitor.Down] + counts[monitor.Late]
	e.Page(overviewOrder, counts, match, problems+100, 50) // within the up services
	if looked != 150 {
		t.Errorf("a page of up services looked at %d services, want the 150 up ones up to its end", looked)
	}
	looked = 0
	page := e.Page([]monitor.Status{monitor.Up}, counts, match, 0, 50)
	if len(page) != 50 || looked != 50 {
		t.Errorf("page 1 of up services: %d services after looking at %d, want 50 and 50", len(page), looked)
	}
}
