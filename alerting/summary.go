package alerting

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
)

// SummaryEntry is one service in a summary's results.
type SummaryEntry struct {
	ServiceID              string `json:"serviceId"`
	Status                 string `json:"status"`
	TimeSinceLastHeartbeat *int64 `json:"timeSinceLastHeartbeat"`
}

// maxSummaryResults bounds the results of one summary: a mass outage of a million
// services still writes a summary of a few hundred KB; the counts stay complete.
const maxSummaryResults = 1000

// changeLog holds the state changes committed since the last summary.
type changeLog struct {
	mu      sync.Mutex
	entries []SummaryEntry
	dropped int
}

// add records the state changes of a commit (the engine's Sink calls it).
func (c *changeLog) add(now time.Time, ts []engine.Transition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range ts {
		if !t.Decision.Changed {
			continue
		}
		if len(c.entries) >= maxSummaryResults {
			c.dropped++
			continue
		}
		e := SummaryEntry{ServiceID: t.Service.ServiceID, Status: string(t.Decision.Status)}
		if seen := t.Service.Model.LastSeen; !seen.IsZero() {
			ms := now.Sub(seen).Milliseconds()
			e.TimeSinceLastHeartbeat = &ms
		}
		c.entries = append(c.entries, e)
	}
}

// take empties the log.
func (c *changeLog) take() []SummaryEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.entries
	c.entries, c.dropped = nil, 0
	return out
}

// CheckStaleness is the minute cron. The engine has already decided every state change
// as its deadline passed, and written one log row per change with it; this first makes
// sure everything due by now is decided, then writes the minute's one summary row: the
// counts of every state, and the services whose state changed since the last summary.
func (a *Alerting) CheckStaleness(now time.Time) error {
	now = now.UTC()
	if err := a.Evaluate(now); err != nil {
		return err
	}
	var sum store.Counts
	for st, n := range a.eng.Counts() {
		sum.AddN(st, n)
	}
	entries := a.changes.take()
	if entries == nil {
		entries = []SummaryEntry{}
	}
	results, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("alerting: encode summary: %w", err)
	}
	return store.InsertSummary(a.App.NonconcurrentDB(), sum, string(results), now)
}
