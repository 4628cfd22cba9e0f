package ingest

import (
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket per (key, service): perMinute beats a minute, with bursts of
// up to perMinute. A zero or negative perMinute turns it off.
type Limiter struct {
	perMinute int
	mu        sync.Mutex
	buckets   map[string]*bucket
	sweepAt   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter allowing perMinute beats a minute per key.
func NewLimiter(perMinute int) *Limiter {
	return &Limiter{perMinute: perMinute, buckets: map[string]*bucket{}}
}

// Allow takes n tokens for key at now. When it refuses it says how long until n tokens
// are there again (for Retry-After); a request larger than the bucket is never allowed.
func (l *Limiter) Allow(key string, n int, now time.Time) (bool, time.Duration) {
	if l == nil || l.perMinute <= 0 {
		return true, 0
	}
	rate := float64(l.perMinute) / 60 // tokens a second
	burst := float64(l.perMinute)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, burst, rate)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(burst, b.tokens+dt*rate)
		b.last = now
	}
	if b.tokens >= float64(n) {
		b.tokens -= float64(n)
		return true, 0
	}
	wait := time.Duration((float64(n) - b.tokens) / rate * float64(time.Second))
	return false, wait
}

// sweep drops, once a minute, buckets that have refilled: they hold no information.
func (l *Limiter) sweep(now time.Time, burst, rate float64) {
	if now.Before(l.sweepAt) {
		return
	}
	l.sweepAt = now.Add(time.Minute)
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*rate >= burst {
			delete(l.buckets, k)
		}
	}
}
