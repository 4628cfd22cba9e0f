package engine

import "hash/maphash"

// noSlot marks an empty place in an index, and a service that is not queued.
const noSlot = -1

// index finds a service's slot by its record id or its serviceId. It is an open-addressing
// table of slots (linear probing, at most 3/4 full): 4 bytes a place, about 8 bytes a
// service, where a map[string]int32 takes 30 to 50, and nothing in it for the GC to scan.
// The keys are the entries' own strings, so the index holds no copy of them.
type index struct {
	places []int32 // slots; noSlot where empty; the length is a power of two or zero
	n      int
	bySID  bool // keyed by serviceId rather than record id
	seed   maphash.Seed
}

func newIndex(bySID bool, sizeHint int) index {
	size := 8
	for size*3 < sizeHint*4 {
		size *= 2
	}
	x := index{places: make([]int32, size), bySID: bySID, seed: maphash.MakeSeed()}
	for i := range x.places {
		x.places[i] = noSlot
	}
	return x
}

func (x *index) key(es []entry, slot int32) string {
	if x.bySID {
		return es[slot].sid
	}
	return es[slot].id
}

func (x *index) home(k string) int {
	return int(maphash.String(x.seed, k) & uint64(len(x.places)-1))
}

// grow doubles the table when one more key would fill it past 3/4.
func (x *index) grow(es []entry) {
	if (x.n+1)*4 <= len(x.places)*3 {
		return
	}
	old := x.places
	x.places = make([]int32, 2*len(old))
	for i := range x.places {
		x.places[i] = noSlot
	}
	mask := len(x.places) - 1
	for _, s := range old {
		if s == noSlot {
			continue
		}
		i := x.home(x.key(es, s))
		for x.places[i] != noSlot {
			i = (i + 1) & mask
		}
		x.places[i] = s
	}
}

// find is the place of key: where it is (ok), or the empty place it would go.
func (x *index) find(es []entry, k string) (place int, ok bool) {
	mask := len(x.places) - 1
	for i := x.home(k); ; i = (i + 1) & mask {
		s := x.places[i]
		if s == noSlot {
			return i, false
		}
		if x.key(es, s) == k {
			return i, true
		}
	}
}

// get is the slot of key k.
func (x *index) get(es []entry, k string) (int32, bool) {
	p, ok := x.find(es, k)
	if !ok {
		return noSlot, false
	}
	return x.places[p], true
}

// put makes the key of slot find slot, in place of any other slot with that key.
func (x *index) put(es []entry, slot int32) {
	x.grow(es)
	p, ok := x.find(es, x.key(es, slot))
	x.places[p] = slot
	if !ok {
		x.n++
	}
}

// del forgets the key of slot, if it finds slot (another slot may have taken the key).
// The places after it shift back, so no probe ever crosses a hole (no tombstones).
func (x *index) del(es []entry, slot int32) {
	p, ok := x.find(es, x.key(es, slot))
	if !ok || x.places[p] != slot {
		return
	}
	x.n--
	mask := len(x.places) - 1
	i := p
	for j := (i + 1) & mask; x.places[j] != noSlot; j = (j + 1) & mask {
		h := x.home(x.key(es, x.places[j]))
		// The key at j may move back to i unless its home lies cyclically in (i, j].
		if (i <= j && i < h && h <= j) || (i > j && (i < h || h <= j)) {
			continue
		}
		x.places[i] = x.places[j]
		i = j
	}
	x.places[i] = noSlot
}
