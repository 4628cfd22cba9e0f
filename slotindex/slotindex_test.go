package slotindex

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// keys is the records of a test: slot s has the key keys[s].
type keys []string

func (k *keys) add(s string) int32 {
	*k = append(*k, s)
	return int32(len(*k) - 1)
}

// TestIndexAgreesWithAMap: random puts, removes and deletes, through growth and the
// back-shifts of deletion, find exactly what a map finds.
func TestIndexAgreesWithAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var ks keys
	x := New(0, func(s int32) string { return ks[s] })
	want := map[string]int32{}
	for op := 0; op < 40_000; op++ {
		k := fmt.Sprintf("k%d", r.IntN(3000))
		s, ok := want[k]
		switch {
		case ok && r.IntN(3) == 0:
			x.Remove(s)
			delete(want, k)
		case ok && r.IntN(2) == 0:
			if got, found := x.Delete(k); !found || got != s {
				t.Fatalf("Delete(%s) = %d %v, want %d true", k, got, found, s)
			}
			delete(want, k)
		case !ok || r.IntN(4) == 0: // a new slot, or one that takes the key from another
			s := ks.add(k)
			x.Put(s)
			want[k] = s
		}
	}
	if x.Len() != len(want) {
		t.Fatalf("index holds %d keys, want %d", x.Len(), len(want))
	}
	for i := range 3000 {
		k := fmt.Sprintf("k%d", i)
		got, ok := x.Get(k)
		w, wok := want[k]
		if ok != wok || (ok && got != w) {
			t.Fatalf("Get(%s) = %d %v, want %d %v", k, got, ok, w, wok)
		}
	}
}

// TestRemoveLeavesAKeyAnotherSlotTook: removing a slot whose key another slot has since
// taken leaves that other slot found; Delete of the key forgets it whichever slot holds it.
func TestRemoveLeavesAKeyAnotherSlotTook(t *testing.T) {
	ks := keys{"a", "a", "b"}
	x := New(2, func(s int32) string { return ks[s] })
	x.Put(0)
	x.Put(2)
	x.Put(1) // takes "a" from slot 0
	x.Remove(0)
	if s, ok := x.Get("a"); !ok || s != 1 || x.Len() != 2 {
		t.Errorf("after removing the slot that lost its key: Get(a) = %d %v, len %d, want 1 true, 2", s, ok, x.Len())
	}
	if s, ok := x.Delete("a"); !ok || s != 1 {
		t.Errorf("Delete(a) = %d %v, want 1 true", s, ok)
	}
	if s, ok := x.Get("a"); ok || s != None {
		t.Errorf("after Delete: Get(a) = %d %v, want None false", s, ok)
	}
	if _, ok := x.Delete("a"); ok {
		t.Error("a key deleted twice was found the second time")
	}
	if s, ok := x.Get("b"); !ok || s != 2 || x.Len() != 1 {
		t.Errorf("Get(b) = %d %v, len %d, want 2 true, 1", s, ok, x.Len())
	}
}

// TestGetDoesNotAllocate: a lookup, found or not, allocates nothing (it runs on every beat).
func TestGetDoesNotAllocate(t *testing.T) {
	ks := make(keys, 0, 1000)
	x := New(0, func(s int32) string { return ks[s] })
	for i := range 1000 {
		x.Put(ks.add(fmt.Sprintf("svc-%d", i)))
	}
	hit, miss := "svc-500", "svc-5000"
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := x.Get(hit); !ok {
			t.Fatal("svc-500 not found")
		}
		if _, ok := x.Get(miss); ok {
			t.Fatal("svc-5000 found")
		}
	}); n != 0 {
		t.Errorf("Get allocates %v times, want 0", n)
	}
}
