package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// captured is a slog handler that keeps every record's attributes.
type captured struct{ lines []map[string]any }

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }
func (c *captured) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
	c.lines = append(c.lines, m)
	return nil
}
func (c *captured) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captured) WithGroup(string) slog.Handler      { return c }

// TestRefusalCounterBounds: refusals from many addresses in one minute cost a bounded
// number of lines, the overflow is counted under "other", every refusal is counted once,
// and a refusal in the next minute logs the previous one.
func TestRefusalCounterBounds(t *testing.T) {
	var out captured
	log := slog.New(&out)
	c := newRefusalCounter(func() *slog.Logger { return log })
	minute := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const addrs = 1000
	for i := range addrs {
		c.add(minute.Add(time.Duration(i)*time.Millisecond), refusalKey{Status: 401, Reason: "Invalid API key",
			IP: fmt.Sprintf("10.0.%d.%d", i/256, i%256), Key: keyFingerprint("stolen-key-0123456789")})
		c.add(minute.Add(time.Duration(i)*time.Millisecond), refusalKey{Status: 429, Reason: errRateLimited,
			IP: fmt.Sprintf("10.1.%d.%d", i/256, i%256), Key: keyFingerprint("")})
	}
	c.flush(minute.Add(59 * time.Second))
	if len(out.lines) != 0 {
		t.Fatalf("lines before the minute is over: got %d, want 0", len(out.lines))
	}
	c.add(minute.Add(time.Minute), refusalKey{Status: 401, Reason: "Invalid API key", IP: "10.9.9.9", Key: "none"})
	if len(out.lines) > maxRefusalEntries+2 {
		t.Errorf("lines for a minute of %d addresses: got %d, want at most %d", 2*addrs, len(out.lines), maxRefusalEntries+2)
	}
	total, other := 0, 0
	for _, l := range out.lines {
		n := int(l["count"].(int64))
		total += n
		if l["ip"] == "other" {
			other += n
		}
		if l["msg"] != RefusalsLogMessage || l["minute"] != "2026-03-01T12:00Z" {
			t.Errorf("line %v: want message %q minute 2026-03-01T12:00Z", l, RefusalsLogMessage)
		}
		if strings.Contains(fmt.Sprint(l), "stolen-key") {
			t.Errorf("line %v discloses the key", l)
		}
	}
	if total != 2*addrs || other != 2*addrs-maxRefusalEntries {
		t.Errorf("counts: got %d in all, %d under other; want %d and %d", total, other, 2*addrs, 2*addrs-maxRefusalEntries)
	}
	out.lines = nil
	c.flushAll()
	if len(out.lines) != 1 || out.lines[0]["minute"] != "2026-03-01T12:01Z" || out.lines[0]["count"] != int64(1) {
		t.Errorf("shutdown flush: got %v, want the one refusal of 12:01", out.lines)
	}
}
