// Package slotindex finds a record's slot (its place in the caller's slice of fixed-size
// records) by a string key that the record itself holds. It is what lets a million
// services live in one slice instead of a map of pointers.
package slotindex

import "hash/maphash"

// None marks an empty place, and is the slot Get answers when a key is not found.
const None = -1

// Index is an open-addressing table of slots (linear probing, at most 3/4 full): 4 bytes
// a place, about 8 bytes a record, where a map[string]int32 takes 30 to 50, and nothing
// in it for the GC to scan. The keys are the records' own strings, read through the key
// func the caller gives New, so the index holds no copy of them; a slot that is in the
// index must keep its key until it is removed. The caller synchronises: Get only reads,
// so any number of Gets may run at once, apart from Put, Delete and Remove. Make one with
// New: the zero Index has no table.
type Index struct {
	places []int32 // slots; None where empty; the length is a power of two
	n      int
	key    func(slot int32) string
	seed   maphash.Seed
}

// New returns an index sized for sizeHint keys whose slot s has the key key(s).
func New(sizeHint int, key func(slot int32) string) Index {
	size := 8
	for size*3 < sizeHint*4 {
		size *= 2
	}
	return Index{places: empty(size), key: key, seed: maphash.MakeSeed()}
}

func empty(size int) []int32 {
	p := make([]int32, size)
	for i := range p {
		p[i] = None
	}
	return p
}

// Len is the number of keys in the index.
func (x *Index) Len() int { return x.n }

func (x *Index) home(k string) int {
	return int(maphash.String(x.seed, k) & uint64(len(x.places)-1))
}

// grow doubles the table when one more key would fill it past 3/4.
func (x *Index) grow() {
	if (x.n+1)*4 <= len(x.places)*3 {
		return
	}
	old := x.places
	x.places = empty(2 * len(old))
	mask := len(x.places) - 1
	for _, s := range old {
		if s == None {
			continue
		}
		i := x.home(x.key(s))
		for x.places[i] != None {
			i = (i + 1) & mask
		}
		x.places[i] = s
	}
}

// find is the place of key k: where it is (ok), or the empty place it would go.
func (x *Index) find(k string) (place int, ok bool) {
	mask := len(x.places) - 1
	for i := x.home(k); ; i = (i + 1) & mask {
		s := x.places[i]
		if s == None {
			return i, false
		}
		if x.key(s) == k {
			return i, true
		}
	}
}

// Get is the slot of key k.
func (x *Index) Get(k string) (int32, bool) {
	p, ok := x.find(k)
	if !ok {
		return None, false
	}
	return x.places[p], true
}

// Put makes the key of slot find slot, in place of any other slot with that key.
func (x *Index) Put(slot int32) {
	x.grow()
	p, ok := x.find(x.key(slot))
	x.places[p] = slot
	if !ok {
		x.n++
	}
}

// Delete forgets key k, whichever slot it finds, and reports that slot.
func (x *Index) Delete(k string) (int32, bool) {
	p, ok := x.find(k)
	if !ok {
		return None, false
	}
	s := x.places[p]
	x.clear(p)
	return s, true
}

// Remove forgets the key of slot, if it finds slot (another slot may have taken the key).
func (x *Index) Remove(slot int32) {
	p, ok := x.find(x.key(slot))
	if ok && x.places[p] == slot {
		x.clear(p)
	}
}

// clear empties place p. The places after it shift back, so no probe ever crosses a
// hole (no tombstones).
func (x *Index) clear(p int) {
	x.n--
	mask := len(x.places) - 1
	i := p
	for j := (i + 1) & mask; x.places[j] != None; j = (j + 1) & mask {
		h := x.home(x.key(x.places[j]))
		// The key at j may move back to i unless its home lies cyclically in (i, j].
		if (i <= j && i < h && h <= j) || (i > j && (i < h || h <= j)) {
			continue
		}
		x.places[i] = x.places[j]
		i = j
	}
	x.places[i] = None
}
