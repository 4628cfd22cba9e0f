package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/tools/logger"
)

// refusalRow is one heartbeat-refusals line as PocketBase stored it in its logs table.
type refusalRow struct {
	Minute string `json:"minute"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
	IP     string `json:"ip"`
	Key    string `json:"key"`
	Count  int    `json:"count"`
}

// flushLogs writes PocketBase's buffered log lines to auxiliary.db now and waits for it.
func (h *harness) flushLogs() {
	h.t.Helper()
	bh, ok := h.app.Logger().Handler().(*logger.BatchHandler)
	if !ok {
		h.t.Fatalf("logger handler: got %T, want *logger.BatchHandler", h.app.Logger().Handler())
	}
	if err := bh.WriteAll(context.WithValue(context.Background(), logger.BlockKey, true)); err != nil {
		h.t.Fatal(err)
	}
}

// logRows counts every row of PocketBase's logs table (request log and app log lines).
func (h *harness) logRows() int {
	h.t.Helper()
	h.flushLogs()
	var n int
	if err := h.app.AuxDB().NewQuery("SELECT COUNT(*) FROM _logs").Row(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// refusalRows returns the heartbeat-refusals lines in the logs table.
func (h *harness) refusalRows() []refusalRow {
	h.t.Helper()
	h.flushLogs()
	var raws []string
	if err := h.app.AuxDB().NewQuery("SELECT data FROM _logs WHERE message = {:m} ORDER BY rowid").
		Bind(map[string]any{"m": refusalsLogMessage}).Column(&raws); err != nil {
		h.t.Fatal(err)
	}
	rows := make([]refusalRow, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal([]byte(raw), &rows[i]); err != nil {
			h.t.Fatalf("log data %s: %v", raw, err)
		}
	}
	return rows
}

// runCron runs the cron job id now, as the minute tick would.
func (h *harness) runCron(id string) {
	h.t.Helper()
	for _, j := range h.app.Cron().Jobs() {
		if j.Id() == id {
			j.Run()
			return
		}
	}
	h.t.Fatalf("no cron job %q", id)
}

// TestRefusedBeatFloodIsAggregated: 5,000 wrong-key beats and 5,000 rate-limited ones
// within a minute add no row each to the logs table (auxiliary.db grew 1 MB/s under such
// a flood); once the minute is over they are a handful of lines whose counts add up.
func TestRefusedBeatFloodIsAggregated(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RateLimit = 1 })
	h.app.Settings().Logs.MaxDays = 5 // as in a real data dir; the test app turns logging off
	h.service("web-1", "web-1-key-0123456789", nil)
	minute := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h.setClock(minute.Add(10 * time.Second))
	if got := h.beat("web-1", "web-1-key-0123456789"); got != http.StatusOK {
		t.Fatalf("first beat: got %d, want 200", got)
	}
	before := h.logRows()

	const flood = 5000
	for range flood {
		if got := h.beat("web-1", "web-1-key-0123456789"); got != http.StatusTooManyRequests {
			t.Fatalf("over the limit: got %d, want 429", got)
		}
		if got := h.beat("web-1", "wrong-key-0123456789"); got != http.StatusUnauthorized {
			t.Fatalf("wrong key: got %d, want 401", got)
		}
	}
	if got := h.logRows(); got != before {
		t.Errorf("log rows during the flood: got %d, want %d (none per refused beat)", got, before)
	}

	h.setClock(minute.Add(time.Minute + time.Second))
	h.runCron(refusalsCronID)
	if got := h.logRows() - before; got > 5 {
		t.Errorf("log rows after the minute: got %d new, want at most 5", got)
	}
	counts := map[int]int{}
	for _, r := range h.refusalRows() {
		if r.Minute != "2026-03-01T12:00Z" || r.IP == "" || len(r.Key) != 8 {
			t.Errorf("refusal line %+v: want minute 2026-03-01T12:00Z, an ip and an 8-hex key fingerprint", r)
		}
		counts[r.Status] += r.Count
	}
	if counts[http.StatusUnauthorized] != flood || counts[http.StatusTooManyRequests] != flood {
		t.Errorf("refusal counts: got 401: %d, 429: %d, want %d each", counts[http.StatusUnauthorized], counts[http.StatusTooManyRequests], flood)
	}

	// A second tick in the same minute logs nothing again.
	after := h.logRows()
	h.runCron(refusalsCronID)
	if got := h.logRows(); got != after {
		t.Errorf("log rows after a second tick: got %d, want %d", got, after)
	}
}

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
		if l["msg"] != refusalsLogMessage || l["minute"] != "2026-03-01T12:00Z" {
			t.Errorf("line %v: want message %q minute 2026-03-01T12:00Z", l, refusalsLogMessage)
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
