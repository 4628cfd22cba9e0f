package app

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
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
		Bind(map[string]any{"m": api.RefusalsLogMessage}).Column(&raws); err != nil {
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
	h.runCron(api.RefusalsCronID)
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
	h.runCron(api.RefusalsCronID)
	if got := h.logRows(); got != after {
		t.Errorf("log rows after a second tick: got %d, want %d", got, after)
	}
}
