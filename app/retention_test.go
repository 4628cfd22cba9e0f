package app

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// countingApp is the harness's app with database handles of its own over the same
// connection pools, which count the statements that read or write a service's history
// (heartbeats or logs).
type countingApp struct {
	core.App
	reads, writes *dbx.DB
	n             *atomic.Int64
}

func newCountingApp(t *testing.T, app core.App) *countingApp {
	t.Helper()
	c := &countingApp{App: app, n: &atomic.Int64{}}
	wrap := func(b dbx.Builder) *dbx.DB {
		d, ok := b.(*dbx.DB)
		if !ok {
			t.Fatalf("db is a %T", b)
		}
		out := dbx.NewFromDB(d.DB(), d.DriverName())
		out.QueryLogFunc = func(_ context.Context, _ time.Duration, q string, _ *sql.Rows, _ error) { c.count(q) }
		out.ExecLogFunc = func(_ context.Context, _ time.Duration, q string, _ sql.Result, _ error) { c.count(q) }
		return out
	}
	c.reads, c.writes = wrap(app.ConcurrentDB()), wrap(app.NonconcurrentDB())
	return c
}

func (c *countingApp) count(q string) {
	if strings.Contains(q, "heartbeats") || strings.Contains(q, "logs") {
		c.n.Add(1)
	}
}

func (c *countingApp) DB() dbx.Builder              { return c.reads }
func (c *countingApp) ConcurrentDB() dbx.Builder    { return c.reads }
func (c *countingApp) NonconcurrentDB() dbx.Builder { return c.writes }

// historyStatements runs a retention pass at now and returns how many statements on
// heartbeats or logs it ran.
func historyStatements(t *testing.T, h *harness, now time.Time) int64 {
	t.Helper()
	c := newCountingApp(t, h.app)
	if err := h.s.pruneOn(c, now); err != nil {
		t.Fatal(err)
	}
	return c.n.Load()
}

// insertHistory stores n heartbeats and n logs of service recordID straight into the
// database, one a minute up to an hour before now, as a server before this one would
// have left them.
func insertHistory(t *testing.T, h *harness, recordID string, beats, logs int) {
	t.Helper()
	base := time.Now().UTC().Add(-time.Hour)
	var hb, lg [][]any
	for i := range beats {
		hb = append(hb, []any{fmt.Sprintf("h%s%04d", recordID[len(recordID)-8:], i), recordID, "up", store.DBDate(base.Add(time.Duration(i) * time.Minute))})
	}
	for i := range logs {
		lg = append(lg, []any{fmt.Sprintf("l%s%04d", recordID[len(recordID)-8:], i), recordID, "down", "up", "", 0, 300000, store.DBDate(base.Add(time.Duration(i) * time.Minute))})
	}
	if len(hb) > 0 {
		if err := store.InsertRows(h.app.NonconcurrentDB(), "heartbeats", []string{"id", "service", "status", "created"}, hb); err != nil {
			t.Fatal(err)
		}
	}
	if len(lg) > 0 {
		if err := store.InsertRows(h.app.NonconcurrentDB(), "logs", []string{"id", "service", "status", "previousStatus", "lastSeen", "timeSinceLastHeartbeat", "stalenessThreshold", "created"}, lg); err != nil {
			t.Fatal(err)
		}
	}
}

// newestIDs returns the ids of the newest n rows of table for service recordID.
func newestIDs(t *testing.T, h *harness, table, recordID string, n int) string {
	t.Helper()
	var ids []string
	err := h.app.DB().NewQuery("SELECT id FROM " + table + " WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:n}").
		Bind(dbx.Params{"id": recordID, "n": n}).Column(&ids)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(ids, ",")
}

// TestRetentionPassFollowsChanges: once the first pass has looked at the fleet, a pass
// costs what changed since the previous one, not the fleet. At 100,000 services, a pass
// that asked the database about every service stalled beats for more than a second
// every ten minutes.
func TestRetentionPassFollowsChanges(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepHeartbeats, c.KeepLogs, c.RateLimit = 5, 3, 0 })
	const fleet = 100
	rows := make([][]any, fleet)
	for i := range fleet {
		rows[i] = []any{fmt.Sprintf("rt%013d", i), fmt.Sprintf("rt-%d", i), fmt.Sprintf("key-rt-%d", i)}
	}
	if err := store.InsertRows(h.app.NonconcurrentDB(), "services", []string{"id", "serviceId", "apiKey"}, rows); err != nil {
		t.Fatal(err)
	}
	for i := range fleet {
		insertHistory(t, h, fmt.Sprintf("rt%013d", i), 2, 1) // within what is kept
	}
	a := h.service("a", "k1", nil)
	b := h.service("b", "k2", nil)
	now := time.Now()
	if err := h.s.prune(now); err != nil { // the first pass looks at every service
		t.Fatal(err)
	}

	if n := historyStatements(t, h, now.Add(10*time.Minute)); n > 1 {
		t.Errorf("a pass after nothing changed ran %d statements on heartbeats or logs, want at most 1 (of %d services)", n, fleet+2)
	}

	for range 7 {
		h.beat("a", "k1") // past the 5 kept
	}
	h.beat("b", "k2")
	newest := newestIDs(t, h, "heartbeats", a.Id, 5)
	n := historyStatements(t, h, now.Add(20*time.Minute))
	if n > 6 {
		t.Errorf("a pass after 2 of %d services got beats ran %d statements on heartbeats or logs, want at most 6", fleet+2, n)
	}
	if got := newestIDs(t, h, "heartbeats", a.Id, 100); got != newest {
		t.Errorf("a kept heartbeats %s, want its newest five %s", got, newest)
	}
	if got := h.count("heartbeats", "service = {:id}", dbx.Params{"id": b.Id}); got != 1 {
		t.Errorf("b has %d heartbeats, want its 1", got)
	}
	if got := h.count("heartbeats", "", nil); got != 2*fleet+5+1 {
		t.Errorf("%d heartbeats in all, want %d", got, 2*fleet+5+1)
	}
}

// TestRetentionTrimsEveryServiceOver: the services past what is kept when the server
// starts are trimmed by its first pass, and every service that goes past it later (by
// beats through the writer, or logs written by anyone) by the next; each keeps its
// newest rows.
func TestRetentionTrimsEveryServiceOver(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepHeartbeats, c.KeepLogs, c.RateLimit = 5, 3, 0 })
	pre := h.service("pre", "k1", nil)
	within := h.service("within", "k2", nil)
	insertHistory(t, h, pre.Id, 12, 6)
	insertHistory(t, h, within.Id, 3, 2)
	wantBeats, wantLogs := newestIDs(t, h, "heartbeats", pre.Id, 5), newestIDs(t, h, "logs", pre.Id, 3)
	now := time.Now()
	if err := h.s.prune(now); err != nil {
		t.Fatal(err)
	}
	if got := newestIDs(t, h, "heartbeats", pre.Id, 100); got != wantBeats {
		t.Errorf("pre kept heartbeats %s after the first pass, want its newest five %s", got, wantBeats)
	}
	if got := newestIDs(t, h, "logs", pre.Id, 100); got != wantLogs {
		t.Errorf("pre kept logs %s after the first pass, want its newest three %s", got, wantLogs)
	}
	if b, l := h.count("heartbeats", "service = {:id}", dbx.Params{"id": within.Id}), h.count("logs", "service = {:id}", dbx.Params{"id": within.Id}); b != 3 || l != 2 {
		t.Errorf("within has %d heartbeats and %d logs, want its 3 and 2", b, l)
	}

	a := h.service("a", "k3", nil)
	for range 7 {
		h.beat("a", "k3")
	}
	for range 2 {
		h.beat("pre", "k1")
	}
	if err := store.InsertRows(h.app.NonconcurrentDB(), "logs", []string{"id", "service", "status", "previousStatus", "created"},
		[][]any{{"lwithinnew0001", within.Id, "up", "down", store.DBDate(time.Now().UTC())}, {"lwithinnew0002", within.Id, "down", "up", store.DBDate(time.Now().UTC().Add(time.Second))}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, id := range []string{a.Id, pre.Id} {
		want[id] = newestIDs(t, h, "heartbeats", id, 5)
	}
	wantWithinLogs := newestIDs(t, h, "logs", within.Id, 3)
	if err := h.s.prune(now.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	for id, w := range want {
		if got := newestIDs(t, h, "heartbeats", id, 100); got != w {
			t.Errorf("%s kept heartbeats %s after the second pass, want its newest five %s", id, got, w)
		}
	}
	if got := newestIDs(t, h, "logs", within.Id, 100); got != wantWithinLogs {
		t.Errorf("within kept logs %s after the second pass, want its newest three %s", got, wantWithinLogs)
	}
}

// TestTrimServicesBoundsEachTransaction: a service far past what it keeps is trimmed
// over several short transactions, not one that holds the write connection throughout.
func TestTrimServicesBoundsEachTransaction(t *testing.T) {
	h := newHarness(t)
	svc := h.service("big", "k1", nil)
	insertHistory(t, h, svc.Id, 505, 0)
	keep := store.Retention{Heartbeats: 5}
	targets := []store.TrimTarget{{ID: svc.Id, Beats: true}}
	calls := 0
	for len(targets) > 0 {
		calls++
		if calls > 10 {
			t.Fatal("TrimServices made no progress")
		}
		left := h.count("heartbeats", "", nil)
		n, err := store.TrimServices(h.app, targets, keep, 0) // no time: one DELETE each
		if err != nil {
			t.Fatal(err)
		}
		if deleted := left - h.count("heartbeats", "", nil); deleted > 200 {
			t.Errorf("one transaction deleted %d rows, want at most one batch of 200", deleted)
		}
		targets = targets[n:]
	}
	if got := h.count("heartbeats", "", nil); got != 5 {
		t.Errorf("%d heartbeats left, want 5", got)
	}
	if calls < 3 {
		t.Errorf("trimmed 500 rows in %d transactions, want at least 3", calls)
	}

	// However long each DELETE takes, every transaction makes progress: a service whose
	// heartbeats are within what is kept and whose logs are not is trimmed too.
	both := h.service("both", "k2", nil)
	insertHistory(t, h, both.Id, 3, 10)
	targets = []store.TrimTarget{{ID: both.Id, Beats: true, Logs: true}}
	for calls = 0; len(targets) > 0; calls++ {
		if calls > 2 {
			t.Fatal("TrimServices made no progress on a service with only its logs past what is kept")
		}
		n, err := store.TrimServices(h.app, targets, store.Retention{Heartbeats: 5, Logs: 3}, 0)
		if err != nil {
			t.Fatal(err)
		}
		targets = targets[n:]
	}
	if b, l := h.count("heartbeats", "service = {:id}", dbx.Params{"id": both.Id}), h.count("logs", "service = {:id}", dbx.Params{"id": both.Id}); b != 3 || l != 3 {
		t.Errorf("both has %d heartbeats and %d logs, want 3 and 3", b, l)
	}
}
