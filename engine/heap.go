package engine

// dueQueue is a min-heap of slots by the instant their services are next due, and among
// equal instants by slot, so services due together are taken in a fixed order. Each
// entry knows its place, so rescheduling one service is O(log n) and nothing ever scans
// the fleet. It holds 4 bytes a queued service and nothing for the GC to scan.
type dueQueue struct {
	h []int32
}

func (q *dueQueue) less(es []entry, i, j int) bool {
	a, b := q.h[i], q.h[j]
	return es[a].due < es[b].due || (es[a].due == es[b].due && a < b)
}

func (q *dueQueue) swap(es []entry, i, j int) {
	q.h[i], q.h[j] = q.h[j], q.h[i]
	es[q.h[i]].pos, es[q.h[j]].pos = int32(i), int32(j)
}

func (q *dueQueue) up(es []entry, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(es, i, p) {
			return
		}
		q.swap(es, i, p)
		i = p
	}
}

func (q *dueQueue) down(es []entry, i int) {
	n := len(q.h)
	for {
		l, small := 2*i+1, i
		if l < n && q.less(es, l, small) {
			small = l
		}
		if r := l + 1; r < n && q.less(es, r, small) {
			small = r
		}
		if small == i {
			return
		}
		q.swap(es, i, small)
		i = small
	}
}

// set schedules slot s at due (unix ns), or takes it off the queue when due is noTime.
func (q *dueQueue) set(es []entry, s int32, due int64) {
	en := &es[s]
	en.due = due
	switch {
	case due == noTime && en.pos >= 0:
		q.remove(es, s)
	case due == noTime:
	case en.pos < 0:
		en.pos = int32(len(q.h))
		q.h = append(q.h, s)
		q.up(es, int(en.pos))
	default:
		q.up(es, int(en.pos))
		q.down(es, int(es[s].pos))
	}
}

// remove takes slot s off the queue.
func (q *dueQueue) remove(es []entry, s int32) {
	i, last := int(es[s].pos), len(q.h)-1
	if i < 0 {
		return
	}
	if i != last {
		q.swap(es, i, last)
	}
	q.h = q.h[:last]
	if i != last {
		moved := q.h[i]
		q.up(es, i)
		q.down(es, int(es[moved].pos))
	}
	es[s].pos = noSlot
}

// head is the slot due first, or noSlot.
func (q *dueQueue) head() int32 {
	if len(q.h) == 0 {
		return noSlot
	}
	return q.h[0]
}

// size is how many services are queued.
func (q *dueQueue) size() int { return len(q.h) }
