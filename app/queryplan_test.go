package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

// smallTables are read whole by design (the registry, the overview, the channel and
// maintenance lists): a scan of them is expected. Every other table our migrations
// create grows with the fleet and time, so a new table is checked by default.
var smallTables = map[string]bool{"services": true, "api_keys": true, "channels": true, "maintenance": true, "users": true}

// perServiceTables hold one row per service, read beside services by its record id: a
// scan of one fails like a scan of a growing table, but a join of one to services sorts
// no more rows than services alone.
var perServiceTables = map[string]bool{"service_states": true}

// planExceptions are statements allowed to walk a growing table, with the reason.
var planExceptions = map[string]string{
	// ingest.Reconcile, once at start-up: repairs lastSeen from the newest beats (a
	// start or a log is not one).
	"FROM heartbeats WHERE kind NOT IN ('start', 'log') GROUP BY service": "start-up only",
	// alerting.Preload, once at start-up: every state, in storage order, beside the
	// services' own scan (a join would look each one up by id, a random page each).
	store.SQLStartupStates: "start-up only",
}

// TestQueriesUseIndexes records every statement the server itself sends to SQLite (dbx
// queries and the ingest writer's prepared statements, through a recording driver)
// while it takes beats, serves the read API and the dashboard's pages and partials,
// runs its cron jobs and evaluates alerts, then asks SQLite for the plan of each one
// that reads, changes or deletes rows of our tables. A full scan of a growing table, or
// a temporary B-tree to sort one, fails: they are what makes a page slow at 10,000
// services or a year of beats.
func TestQueriesUseIndexes(t *testing.T) {
	rec := recordSQL(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	h := newHarness(t, func(c *Config) { c.PublicStatus = false })

	resume := rec.pause() // the test's own setup is not the server's SQL
	now := time.Now().UTC()
	ids := map[string]string{}
	for i := range 5 {
		sid := fmt.Sprintf("svc-%d", i)
		ids[sid] = h.service(sid, "key-"+sid+"-0123456789", map[string]any{"group": "g", "stalenessThreshold": 60}).Id
	}
	h.apiKey("group-key-0123456789", []string{"heartbeat", "read"}, nil, false)
	ch := h.webhook("hook", hook.URL)
	h.person("users", "ann@example.com")
	super := h.authToken("_superusers")
	seedRows(t, h, ids["svc-0"], ch.Id, now)
	b := newBrowser(h, "10.0.0.9")
	b.login("ann@example.com", dashPassword)
	resume()

	for sid := range ids {
		if code := h.beat(sid, "key-"+sid+"-0123456789"); code != 200 {
			t.Fatalf("beat %s: %d", sid, code)
		}
	}
	h.do("POST", "/api/heartbeat", `{"services":["svc-1","svc-2"]}`, "Authorization: Bearer group-key-0123456789")
	auth := "Authorization: " + super
	for _, path := range []string{"/api/status", "/api/status?status=down&group=g&q=svc", "/api/services",
		"/api/logs?serviceId=svc-0&limit=50", "/api/uptime?serviceId=svc-0", "/api/alerts/recent"} {
		if res := h.do("GET", path, "", auth); res.Code != 200 {
			t.Errorf("GET %s: %d %s", path, res.Code, body(res))
		}
	}
	for _, path := range []string{"/", "/?q=svc&status=down", "/overview/live", "/services/svc-0", "/services/svc-0/state", "/services/svc-0/heartbeats"} {
		if res := b.send("GET", path, nil); res.Code != 200 {
			t.Errorf("GET %s: %d", path, res.Code)
		}
	}
	for _, later := range []time.Duration{0, 5 * time.Minute, 2 * time.Hour} {
		h.evaluate(now.Add(later)) // services go quiet: incidents open, notifications queue
	}
	for _, j := range h.app.Cron().Jobs() {
		if !strings.HasPrefix(j.Id(), "__") { // ours, not PocketBase's
			j.Run()
		}
	}

	statements := rec.statements()
	// The service page's read of a cron job's runs must be among them, or its plan goes
	// unchecked.
	for _, q := range []string{store.SQLRunRows} {
		if !slices.Contains(statements, namedParam.ReplaceAllString(q, "?")) {
			t.Errorf("the service page did not run:\n%s", q)
		}
	}
	checkPlans(t, h, statements)
}

// namedParam is a dbx named parameter, which reaches SQLite as a plain placeholder.
var namedParam = regexp.MustCompile(`\{:\w+\}`)

// checkPlans runs EXPLAIN QUERY PLAN on each statement that touches one of our tables.
func checkPlans(t *testing.T, h *harness, statements []string) {
	t.Helper()
	cols, err := h.app.FindAllCollections()
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, c := range cols {
		if !c.System && !c.IsView() {
			ours = append(ours, c.Name)
		}
	}
	db := h.app.ConcurrentDB().(*dbx.DB).DB()
	checked := map[string]bool{}
	for _, q := range statements {
		verb := strings.ToUpper(strings.Fields(q + " x")[0])
		upsert := verb == "INSERT" && strings.Contains(q, "ON CONFLICT") // reads the row it may update
		if verb != "SELECT" && verb != "UPDATE" && verb != "DELETE" && verb != "WITH" && !upsert {
			continue
		}
		aliases := tableAliases(q, ours)
		if len(aliases) == 0 {
			continue
		}
		growing := false
		for _, table := range aliases {
			checked[table] = true
			growing = growing || (!smallTables[table] && !perServiceTables[table])
		}
		explain, args := unnumbered(q)
		rows, err := db.Query("EXPLAIN QUERY PLAN "+explain, args...)
		if err != nil {
			t.Errorf("EXPLAIN %s: %v", q, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s\n    -> %s", q, strings.Join(plan, "; "))
		if excepted(q) {
			continue
		}
		for _, d := range plan {
			if name, ok := strings.CutPrefix(d, "SCAN "); ok {
				table := aliases[strings.Fields(name)[0]]
				indexed := strings.Contains(d, " INDEX ") && strings.Contains(strings.ToUpper(q), "LIMIT")
				if table != "" && !smallTables[table] && !indexed {
					t.Errorf("full scan of %s (%q) in:\n%s", table, d, q)
				}
			}
			if growing && strings.Contains(d, "TEMP B-TREE FOR ORDER BY") {
				t.Errorf("sorts in a temporary B-tree (%q) in:\n%s", d, q)
			}
		}
	}
	// The recording must have seen the hot and the growing tables, or it checked nothing.
	for _, table := range []string{"services", "service_states", "heartbeats", "logs", "incidents", "notifications", "alerts"} {
		if !checked[table] {
			t.Errorf("no statement on %s was recorded: the test no longer drives the code that reads it", table)
		}
	}
}

func excepted(q string) bool {
	for s := range planExceptions {
		if strings.Contains(q, s) {
			return true
		}
	}
	return false
}

var numbered = regexp.MustCompile(`\?\d+`)

// unnumbered turns ?N placeholders into plain ones and returns a NULL for each
// placeholder outside string literals: the plan is made for unknown values either way.
func unnumbered(q string) (string, []any) {
	q = numbered.ReplaceAllString(q, "?")
	var args []any
	quoted := false
	for _, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			args = append(args, nil)
		}
	}
	return q, args
}

var tableRef = regexp.MustCompile("(?i)\\b(?:FROM|JOIN|UPDATE|INTO)\\s+[`\"\\[]?(\\w+)[`\"\\]]?(?:\\s+(?:AS\\s+)?[`\"\\[]?(\\w+)[`\"\\]]?)?")

// tableAliases maps each name a plan may use (a table or its alias) to one of tables.
func tableAliases(q string, tables []string) map[string]string {
	keywords := []string{"WHERE", "JOIN", "LEFT", "INNER", "CROSS", "ON", "ORDER", "GROUP", "LIMIT", "SET", "USING", "NATURAL", "INDEXED", "NOT", "UNION", "AS", "WINDOW", "HAVING", "RETURNING", "VALUES", "SELECT"}
	out := map[string]string{}
	for _, m := range tableRef.FindAllStringSubmatch(q, -1) {
		if !slices.Contains(tables, m[1]) {
			continue
		}
		out[m[1]] = m[1]
		if m[2] != "" && !slices.Contains(keywords, strings.ToUpper(m[2])) {
			out[m[2]] = m[1]
		}
	}
	return out
}

// seedRows fills the growing tables, so the pages and the crons have rows to read.
func seedRows(t *testing.T, h *harness, service, channel string, now time.Time) {
	t.Helper()
	const n = 300
	id := func(prefix string, i int) string { return fmt.Sprintf("%s%014d", prefix, i) }
	at := func(i int) string { return store.DBDate(now.Add(-time.Duration(n-i) * time.Minute)) }
	var beats, logs, incidents, notes, alerts, summaries [][]any
	for i := range n {
		beats = append(beats, []any{id("b", i), service, "up", at(i)})
		logs = append(logs, []any{id("l", i), service, "up", "up", at(i)})
		incidents = append(incidents, []any{id("i", i), service, "down", "stale", at(i), at(i)})
		notes = append(notes, []any{id("n", i), channel, service, "down", "sent", at(i), at(i)})
		alerts = append(alerts, []any{id("a", i), "disk full", "{}", "{}", "[]", at(i)})
		summaries = append(summaries, []any{id("s", i), at(i)})
	}
	for _, ins := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"heartbeats", []string{"id", "service", "status", "created"}, beats},
		{"logs", []string{"id", "service", "status", "previousStatus", "created"}, logs},
		{"incidents", []string{"id", "service", "status", "cause", "startedAt", "endedAt"}, incidents},
		{"notifications", []string{"id", "channel", "service", "event", "status", "nextAttemptAt", "created"}, notes},
		{"alerts", []string{"id", "title", "labels", "annotations", "channels", "created"}, alerts},
		{"summaries", []string{"id", "created"}, summaries},
	} {
		if err := store.InsertRows(h.app.DB(), ins.table, ins.cols, ins.rows); err != nil {
			t.Fatal(err)
		}
	}
}
