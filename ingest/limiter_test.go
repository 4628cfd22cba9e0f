package ingest

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	l := NewLimiter(120) // 2 a second, bursts of 120
	for i := 0; i < 120; i++ {
		if ok, _ := l.Allow("k", 1, t0); !ok {
			t.Fatalf("beat %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("k", 1, t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("121st beat: ok=%v wait=%v, want refused with 500ms", ok, wait)
	}
	if ok, _ := l.Allow("other", 1, t0); !ok {
		t.Error("another key shares the bucket")
	}
	if ok, _ := l.Allow("k", 1, t0.Add(499*time.Millisecond)); ok {
		t.Error("allowed before a token refilled")
	}
	if ok, _ := l.Allow("k", 1, t0.Add(500*time.Millisecond)); !ok {
		t.Error("refused after a token refilled")
	}
	if ok, _ := l.Allow("k", 500, t0.Add(time.Hour)); ok {
		t.Error("a request larger than the bucket was allowed")
	}
}

func TestLimiterOffAndSweep(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	off := NewLimiter(0)
	for i := 0; i < 10000; i++ {
		if ok, _ := off.Allow("k", 1, t0); !ok {
			t.Fatal("a limit of 0 must allow everything")
		}
	}
	l := NewLimiter(60)
	for i := 0; i < 1000; i++ {
		l.Allow(string(rune('a'+i%26))+itoa(i), 1, t0)
	}
	l.Allow("late", 1, t0.Add(2*time.Minute))
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets after every idle one refilled, want 1", n)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
