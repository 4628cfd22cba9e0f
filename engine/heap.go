package engine

import "time"

// dueQueue is a min-heap of services by the instant they are next due. Each entry knows
// its place, so rescheduling one service is O(log n) and nothing ever scans the fleet.
type dueQueue []*entry

func (q dueQueue) less(i, j int) bool { return q[i].due.Before(q[j].due) }

func (q dueQueue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx, q[j].idx = i, j
}

func (q dueQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q dueQueue) down(i int) {
	n := len(q)
	for {
		l, small := 2*i+1, i
		if l < n && q.less(l, small) {
			small = l
		}
		if r := l + 1; r < n && q.less(r, small) {
			small = r
		}
		if small == i {
			return
		}
		q.swap(i, small)
		i = small
	}
}

// set schedules en at due, or takes it off the queue when due is zero.
func (q *dueQueue) set(en *entry, due time.Time) {
	en.due = due
	switch {
	case due.IsZero() && en.idx >= 0:
		q.remove(en)
	case due.IsZero():
	case en.idx < 0:
		en.idx = len(*q)
		*q = append(*q, en)
		q.up(en.idx)
	default:
		q.up(en.idx)
		q.down(en.idx)
	}
}

// remove takes en off the queue.
func (q *dueQueue) remove(en *entry) {
	i, last := en.idx, len(*q)-1
	if i < 0 {
		return
	}
	if i != last {
		q.swap(i, last)
	}
	(*q)[last] = nil
	*q = (*q)[:last]
	if i != last {
		q.up(i)
		q.down(i)
	}
	en.idx = -1
}

// head is the entry due first, or nil.
func (q dueQueue) head() *entry {
	if len(q) == 0 {
		return nil
	}
	return q[0]
}
