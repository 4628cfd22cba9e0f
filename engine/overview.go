package engine

import (
	"slices"
	"sort"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// Match narrows a listing by a service's serviceId, name and group; a nil Match takes
// every service. It runs under the engine's read lock: it must not call the engine.
type Match func(serviceID, name, group string) bool

// CountMatching is how many services that match are in each committed state: Counts,
// narrowed by match (a search).
func (e *Engine) CountMatching(match Match) map[monitor.Status]int {
	out := map[monitor.Status]int{}
	e.walk(func(f *roster, en *entry) bool {
		if match == nil || match(en.sid, en.name, f.group(en)) {
			out[monitor.Status(f.str(en.state))]++
		}
		return true
	})
	return out
}

// Page returns at most n services from offset in page order: by committed state in the
// order of states (services in other states are left out), then by group, services
// without a group after the others, then by serviceId. counts is how many services
// match in each state (Counts, or CountMatching with the same match): the states wholly
// before offset are not looked at, and one pass over the list stops as soon as every
// state on the page has given its share, so page 1 of a fleet that is mostly up stops
// early. Counts a little stale (a service changed state between the two reads) give a
// page a service longer or shorter, never a service twice.
func (e *Engine) Page(states []monitor.Status, counts map[monitor.Status]int, match Match, offset, n int) []View {
	type share struct {
		st       monitor.Status
		from, to int // the page's part of this state's matches, in list order
		seen     int
		out      []View
	}
	var shares []*share
	start := 0
	for _, st := range states {
		c := counts[st]
		if from, to := max(offset-start, 0), min(offset+n-start, c); from < to {
			shares = append(shares, &share{st: st, from: from, to: to})
		}
		start += c
	}
	left := len(shares)
	if left == 0 {
		return nil
	}
	e.walk(func(f *roster, en *entry) bool {
		var sh *share
		for _, s := range shares {
			if string(s.st) == f.str(en.state) {
				sh = s
				break
			}
		}
		if sh == nil || sh.seen >= sh.to || (match != nil && !match(en.sid, en.name, f.group(en))) {
			return true
		}
		if sh.seen >= sh.from {
			sh.out = append(sh.out, f.view(en))
		}
		sh.seen++
		if sh.seen == sh.to {
			left--
		}
		return left > 0
	})
	out := make([]View, 0, n)
	for _, s := range shares {
		out = append(out, s.out...)
	}
	return out
}

// walk calls fn for every service in page order (grouped services by group and
// serviceId, then those without a group by serviceId) until fn returns false. Like
// Scan, it holds the read lock for at most scanChunk services at a time and follows a
// list changed meanwhile by its keys, so nothing is visited twice.
func (e *Engine) walk(fn func(*roster, *entry) bool) {
	var last Cursor
	for phase := 0; phase < 2; {
		e.mu.RLock()
		f := e.f
		// "" sorts first: the services without a group are f.order[:k].
		k := sort.Search(len(f.order), func(i int) bool { return f.group(&f.es[f.order[i]]) != "" })
		lo, hi := k, len(f.order)
		if phase == 1 {
			lo, hi = 0, k
		}
		i := lo
		if last.set {
			j, found := slices.BinarySearchFunc(f.order, last, f.cursorCmp)
			if found {
				j++
			}
			i = min(max(j, lo), hi)
		}
		for looked := 0; i < hi && looked < scanChunk; i, looked = i+1, looked+1 {
			en := &f.es[f.order[i]]
			last = Cursor{group: f.group(en), serviceID: en.sid, set: true}
			if !fn(f, en) {
				e.mu.RUnlock()
				return
			}
		}
		e.mu.RUnlock()
		if i >= hi {
			phase++
			last = Cursor{}
		}
	}
}
