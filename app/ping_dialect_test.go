package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The ping URLs answer as Healthchecks' own documentation and tests describe its ping
// API. Sources, as read for this file:
//   - docs: templates/docs/http_api.md of healthchecks/healthchecks (commit 8f4936e2),
//     served as healthchecks.io/docs/http_api/: "General Notes", "UUIDs and Slugs" and
//     one section per endpoint (#success-uuid, #start-uuid, #fail-uuid, #log-uuid,
//     #exitcode-uuid and their -slug twins), each with its "Response Codes";
//   - tests: hc/api/tests/test_ping.py and test_ping_by_slug.py (commit 23eadc5e);
//   - routes: hc/api/urls.py (uuid_urls: "", fail, start, log, <int:exitstatus>).
// Not relied on: a stored copy of hc/api/views.py that a fork changed (it answers
// action.capitalize() instead of "OK").
//
// Where we differ on purpose the row says "ours:" and asserts our behaviour.

const (
	dialectUUID    = "07c2f548-9850-4b27-af5d-6c9dc157ec01"
	dialectMissing = "07c2f548-9850-4b27-af5d-6c9dc157ec02" // test_it_handles_missing_check
	dialectRID     = "123e4567-e89b-12d3-a456-426614174000" // the docs' rid example
	dialectKey     = "svc-own-key-long-enough"
	dialectWild    = "wild-heartbeat-key-long"
	dialectSome    = "some-heartbeat-key-long"
)

// storedPing is one heartbeats row a ping left.
type storedPing struct {
	Kind       string `db:"kind"`
	Status     string `db:"status"`
	ExitStatus int    `db:"exitStatus"`
	RID        string `db:"rid"`
	Body       string `db:"body"`
}

// pingRows are the rows stored for serviceId sid, oldest first.
func (h *harness) pingRows(sid string) []storedPing {
	h.t.Helper()
	var rows []storedPing
	err := h.app.DB().NewQuery(`SELECT h.kind, h.status, h.exitStatus, h.rid, h.body FROM heartbeats h
		JOIN services s ON s.id = h.service WHERE s.serviceId = {:sid} ORDER BY h.rowid`).
		Bind(dbx.Params{"sid": sid}).All(&rows)
	if err != nil {
		h.t.Fatal(err)
	}
	return rows
}

// TestPingDialect: every request the docs and tests describe, its status and body, and
// what it stored (nil: nothing).
func TestPingDialect(t *testing.T) {
	h := newHarness(t)
	h.setClock(time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC))
	h.service("foo", dialectKey, map[string]any{"pingId": dialectUUID})
	other := h.service("other", "other-key-long-enough", nil)
	h.apiKey(dialectWild, []string{"heartbeat"}, nil, false)
	h.apiKey(dialectSome, []string{"heartbeat"}, []string{other.Id}, false)
	h.apiKey("read-only-key-long-enough", []string{"read"}, nil, false)

	uuid := "/ping/" + dialectUUID
	slug := "/ping/" + dialectKey + "/foo"
	long := strings.Repeat("a", 10001)
	tests := []struct {
		name, method, path, body string
		status                   int
		reply                    string
		sid                      string      // the service whose rows are checked ("" = foo)
		stored                   *storedPing // the row the request adds; nil: none
	}{
		// docs #success-uuid; test_it_works, test_post_works, test_head_works.
		{"success GET", "GET", uuid, "", 200, "OK", "", &storedPing{Status: "up"}},
		{"success POST stores the body", "POST", uuid, "hello world", 200, "OK", "", &storedPing{Status: "up", Body: "hello world"}},
		{"success HEAD", "HEAD", uuid, "", 200, "", "", &storedPing{Status: "up"}},
		// hc/api/urls.py routes "ping/<uuid>/" to the success ping too (test_it_handles_missing_check pings that form).
		{"success with a trailing slash", "GET", uuid + "/", "", 200, "OK", "", &storedPing{Status: "up"}},
		// docs #start-uuid; test_start_endpoint_works, test_start_sets_last_start_rid, test_it_saves_run_id.
		{"start", "GET", uuid + "/start", "", 200, "OK", "", &storedPing{Kind: "start"}},
		{"start with rid", "GET", uuid + "/start?rid=" + dialectRID, "", 200, "OK", "", &storedPing{Kind: "start", RID: dialectRID}},
		{"start HEAD", "HEAD", uuid + "/start", "", 200, "", "", &storedPing{Kind: "start"}},
		// docs #fail-uuid; test_fail_endpoint_works.
		{"fail", "GET", uuid + "/fail", "", 200, "OK", "", &storedPing{Kind: "fail", Status: "down"}},
		{"fail POST", "POST", uuid + "/fail", "disk full", 200, "OK", "", &storedPing{Kind: "fail", Status: "down", Body: "disk full"}},
		// docs #log-uuid (the example POSTs "Hello World"); test_log_endpoint_works: stored, no state change.
		{"log", "POST", uuid + "/log", "Hello World", 200, "OK", "", &storedPing{Kind: "log", Body: "Hello World"}},
		{"log GET", "GET", uuid + "/log", "", 200, "OK", "", &storedPing{Kind: "log"}},
		// docs #exitcode-uuid ("a 0-255 integer; 0 is success"); test_zero_exit_status_works,
		// test_nonzero_exit_status_works, test_it_rejects_exit_status_over_255.
		// ours: the kind is "exit" for every exit status (Healthchecks stores none for 0, "fail" otherwise).
		{"exit 0", "GET", uuid + "/0", "", 200, "OK", "", &storedPing{Kind: "exit", Status: "up"}},
		{"exit 123", "GET", uuid + "/123", "", 200, "OK", "", &storedPing{Kind: "exit", Status: "down", ExitStatus: 123}},
		{"exit 255", "POST", uuid + "/255", "boom", 200, "OK", "", &storedPing{Kind: "exit", Status: "down", ExitStatus: 255, Body: "boom"}},
		{"exit 256", "GET", uuid + "/256", "", 400, "invalid url format", "", nil},
		{"exit 256 by slug", "GET", slug + "/256", "", 400, "invalid url format", "", nil},
		{"exit status of ten digits", "GET", uuid + "/1234567890", "", 400, "invalid url format", "", nil}, // urls.py: <int:exitstatus> takes any digits
		{"exit status of ten digits by slug", "POST", slug + "/1234567890", "x", 400, "invalid url format", "", nil},
		// docs #success-uuid "404 not found"; test_it_handles_missing_check, test_it_handles_bad_uuid,
		// test_it_rejects_alternative_uuid_formats.
		{"unknown uuid", "GET", "/ping/" + dialectMissing, "", 404, "not found", "", nil},
		{"unknown uuid with a slash", "GET", "/ping/" + dialectMissing + "/", "", 404, "not found", "", nil},
		{"unknown uuid start", "GET", "/ping/" + dialectMissing + "/start", "", 404, "not found", "", nil},
		{"not a uuid", "GET", "/ping/not-uuid/", "", 404, "not found", "", nil},
		{"uuid without separators", "GET", "/ping/07c2f54898504b27af5d6c9dc157ec01/", "", 404, "not found", "", nil},
		{"unknown action", "GET", uuid + "/stop", "", 404, "not found", "", nil},
		{"nothing after /ping/", "GET", "/ping/x", "", 404, "not found", "", nil},
		// docs #success-slug etc.; test_ping_by_slug.py test_it_works .. test_nonzero_exit_status_works.
		// ours: the ping key is the service's own key or an api_keys heartbeat key covering it.
		{"slug success", "GET", slug, "", 200, "OK", "", &storedPing{Status: "up"}},
		{"slug POST", "POST", slug, "hello world", 200, "OK", "", &storedPing{Status: "up", Body: "hello world"}},
		{"slug HEAD", "HEAD", slug, "", 200, "", "", &storedPing{Status: "up"}},
		{"slug start", "GET", slug + "/start", "", 200, "OK", "", &storedPing{Kind: "start"}},
		{"slug fail", "GET", slug + "/fail", "", 200, "OK", "", &storedPing{Kind: "fail", Status: "down"}},
		{"slug log", "POST", slug + "/log", "Hello World", 200, "OK", "", &storedPing{Kind: "log", Body: "Hello World"}},
		{"slug exit 0", "GET", slug + "/0", "", 200, "OK", "", &storedPing{Kind: "exit", Status: "up"}},
		{"slug exit 123", "GET", slug + "/123", "", 200, "OK", "", &storedPing{Kind: "exit", Status: "down", ExitStatus: 123}},
		{"slug by heartbeat key", "GET", "/ping/" + dialectWild + "/foo", "", 200, "OK", "", &storedPing{Status: "up"}},
		{"slug by a key for the service", "GET", "/ping/" + dialectSome + "/other", "", 200, "OK", "other", &storedPing{Status: "up"}},
		// test_it_handles_wrong_ping_key; docs #success-slug "404 not found".
		{"wrong key", "GET", "/ping/rrrrrrrrrrrrrrrrrrrrrr/foo", "", 404, "not found", "", nil},
		{"another service's key", "GET", "/ping/other-key-long-enough/foo", "", 404, "not found", "", nil},
		{"a key for other services", "GET", "/ping/" + dialectSome + "/foo", "", 404, "not found", "", nil},
		{"a read key", "GET", "/ping/read-only-key-long-enough/foo", "", 404, "not found", "", nil},
		{"slug with a trailing slash", "GET", slug + "/", "", 404, "not found", "", nil}, // slug_urls has no "" route
		// test_auto_provisioning_is_off_by_default, test_it_auto_provisions_missing_check; docs create=0|1, "201 Created".
		// ours: only a key covering every service creates (Healthchecks: the project's ping key).
		{"missing slug", "GET", "/ping/" + dialectWild + "/new-a", "", 404, "not found", "new-a", nil},
		{"create=1", "GET", "/ping/" + dialectWild + "/new-a?create=1", "", 201, "Created", "new-a", &storedPing{Status: "up"}},
		{"create=1 when it exists", "GET", "/ping/" + dialectWild + "/new-a?create=1", "", 200, "OK", "new-a", &storedPing{Status: "up"}},
		{"create=1 start", "GET", "/ping/" + dialectWild + "/new-b/start?create=1", "", 201, "Created", "new-b", &storedPing{Kind: "start"}},
		{"create=0", "GET", "/ping/" + dialectWild + "/new-c?create=0", "", 404, "not found", "new-c", nil},
		{"create=1 by a service's own key", "GET", slug + "-new?create=1", "", 404, "not found", "foo-new", nil},
		{"create=1 by a key for some services", "GET", "/ping/" + dialectSome + "/new-d?create=1", "", 404, "not found", "new-d", nil},
		{"create=1 by a wrong key", "GET", "/ping/rrrrrrrrrrrrrrrrrrrrrr/new-e?create=1", "", 404, "not found", "new-e", nil},
		// docs rid= ("a client-picked UUID in the canonical textual representation"); test_it_handles_invalid_rid.
		{"rid on success", "GET", uuid + "?rid=" + dialectRID, "", 200, "OK", "", &storedPing{Status: "up", RID: dialectRID}},
		{"rid on log", "POST", uuid + "/log?rid=" + dialectRID, "x", 200, "OK", "", &storedPing{Kind: "log", RID: dialectRID, Body: "x"}},
		{"rid 12345", "GET", uuid + "/start?rid=12345", "", 400, "invalid uuid format", "", nil},
		{"rid one digit too long", "GET", uuid + "/start?rid=684e2e73-017e-465f-8149-d70b7c5aaa490", "", 400, "invalid uuid format", "", nil},
		// docs General Notes / Ping-Body-Limit ("store the first n bytes, ignore the rest");
		// test_it_chops_long_body, test_it_accepts_bad_unicode.
		// ours: invalid UTF-8 is stored with U+FFFD in its place (Healthchecks keeps the raw bytes).
		{"body cut at the limit", "POST", uuid, long, 200, "OK", "", &storedPing{Status: "up", Body: long[:10000]}},
		{"invalid UTF-8", "POST", uuid, "Hello \xe9 World", 200, "OK", "", &storedPing{Status: "up", Body: "Hello \uFFFD World"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid := tt.sid
			if sid == "" {
				sid = "foo"
			}
			before := h.pingRows(sid)
			res := h.do(tt.method, tt.path, tt.body)
			if res.Code != tt.status || res.Body.String() != tt.reply {
				t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, res.Code, res.Body.String(), tt.status, tt.reply)
			}
			after := h.pingRows(sid)
			switch {
			case tt.stored == nil && len(after) != len(before):
				t.Errorf("stored %+v, want nothing", after[len(before):])
			case tt.stored != nil && len(after) != len(before)+1:
				t.Errorf("%d rows stored, want one", len(after)-len(before))
			case tt.stored != nil && after[len(after)-1] != *tt.stored:
				t.Errorf("stored %+v, want %+v", after[len(after)-1], *tt.stored)
			}
		})
	}
	if n := h.count("services", "serviceId IN ('new-c', 'foo-new', 'new-d', 'new-e')", nil); n != 0 {
		t.Errorf("%d services created by requests that may not create", n)
	}
}

// TestPingDialectHeaders: every reply, success or error, is plain text readable from any
// origin, never cached, and says the body limit (docs: every endpoint's example reply;
// test_it_works, test_it_never_caches in both test files). A HEAD reply has the headers
// and no body (test_head_works).
func TestPingDialectHeaders(t *testing.T) {
	h := newHarness(t)
	h.service("foo", dialectKey, map[string]any{"pingId": dialectUUID})
	h.apiKey(dialectWild, []string{"heartbeat"}, nil, false)
	for _, c := range []struct {
		method, path string
		status       int
		length       string
	}{
		{"GET", "/ping/" + dialectUUID, 200, "2"},
		{"HEAD", "/ping/" + dialectUUID, 200, "2"},
		{"POST", "/ping/" + dialectKey + "/foo/start", 200, "2"},
		{"GET", "/ping/" + dialectWild + "/made?create=1", 201, "7"},
		{"GET", "/ping/" + dialectMissing, 404, "9"},
		{"HEAD", "/ping/" + dialectMissing, 404, "9"},
		{"GET", "/ping/" + dialectUUID + "/256", 400, "18"},
	} {
		res := h.do(c.method, c.path, "")
		hd := res.Header()
		if res.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, res.Code, c.status)
		}
		for name, want := range map[string]string{
			"Content-Type":                "text/plain; charset=utf-8",
			"Access-Control-Allow-Origin": "*",
			"Ping-Body-Limit":             "10000",
			"Content-Length":              c.length,
		} {
			if got := hd.Get(name); got != want {
				t.Errorf("%s %s: %s %q, want %q", c.method, c.path, name, got, want)
			}
		}
		if cc := hd.Get("Cache-Control"); !strings.Contains(cc, "no-cache") || !strings.Contains(cc, "no-store") {
			t.Errorf("%s %s: Cache-Control %q, want never cached", c.method, c.path, cc)
		}
		if c.method == "HEAD" && res.Body.Len() != 0 {
			t.Errorf("HEAD %s: body %q, want none", c.path, res.Body.String())
		}
	}
}

// TestPingDialectPaused: a ping to a paused service is stored and answered 200, and the
// service stays paused. Ours: paused is Healthchecks' "manual resume"
// (test_it_handles_manual_resume_flag: 200, still paused, the ping kept but ignored);
// Healthchecks' plain pause ends with the next ping (test_it_changes_status_of_paused_check),
// which ours does not do. A start leaves it paused too
// (test_start_does_not_change_status_of_paused_check).
func TestPingDialectPaused(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	h.service("foo", dialectKey, map[string]any{"pingId": dialectUUID, "paused": true})
	for _, p := range []string{"/start", "", "/fail", "/3", "/log"} {
		res := h.do("GET", "/ping/"+dialectUUID+p, "")
		if res.Code != 200 || res.Body.String() != "OK" {
			t.Errorf("GET %s: %d %q, want 200 OK", p, res.Code, res.Body.String())
		}
		if st := h.pingStatus("foo"); st.Status != "paused" {
			t.Errorf("after %q: %s, want still paused", p, st.Status)
		}
	}
	if rows := h.pingRows("foo"); len(rows) != 5 {
		t.Errorf("%d pings stored, want 5", len(rows))
	}
}

// TestPingDialectRateLimited: ours: a ping over the key's rate limit is refused with 429
// and Retry-After, in the ping dialect's plain text, and not stored (Healthchecks'
// documentation has no rate limit on pings).
func TestPingDialectRateLimited(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RateLimit = 2 })
	h.setClock(time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC))
	h.service("foo", dialectKey, map[string]any{"pingId": dialectUUID})
	for i := 0; i < 2; i++ {
		if res := h.do("GET", "/ping/"+dialectUUID, ""); res.Code != 200 {
			t.Fatalf("ping %d: %d", i, res.Code)
		}
	}
	res := h.do("POST", "/ping/"+dialectKey+"/foo/fail", "x")
	if res.Code != http.StatusTooManyRequests || res.Body.String() != "rate limited" || res.Header().Get("Retry-After") == "" ||
		res.Header().Get("Content-Type") != "text/plain; charset=utf-8" || res.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("over the limit: %d %q %v", res.Code, res.Body.String(), res.Header())
	}
	if rows := h.pingRows("foo"); len(rows) != 2 {
		t.Errorf("%d pings stored, want the 2 within the limit", len(rows))
	}
}

// TestPingDialectFastPathLikeRouter: through a running server, a ping without an Origin
// header is served by the fast path and one with it (a browser's fetch) by PocketBase's
// router; each reply is byte for byte the router's alone, and both kinds carry the
// dialect's headers. A browser's CORS preflight is answered by PocketBase's CORS
// middleware and stores nothing.
func TestPingDialectFastPathLikeRouter(t *testing.T) {
	sv := newServed(t)
	col, err := sv.s.app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("serviceId", "foo")
	r.Set("apiKey", dialectKey)
	r.Set("pingId", dialectUUID)
	if err := sv.s.app.Save(r); err != nil {
		t.Fatal(err)
	}
	uuid := "/ping/" + dialectUUID
	origin := "Origin: https://example.com"
	for _, req := range []sentRequest{
		{"GET", uuid, "", nil},
		{"HEAD", uuid, "", nil},
		{"POST", uuid + "/start?rid=" + dialectRID, "", []string{"User-Agent: curl/8.5.0"}},
		{"POST", uuid + "/0?rid=" + dialectRID, "done\n", []string{"Content-Type: text/plain"}},
		{"GET", uuid + "/fail", "", nil},
		{"POST", uuid + "/log", "Hello World", nil},
		{"GET", "/ping/" + dialectKey + "/foo/7", "", nil},
		{"GET", uuid + "/256", "", nil},
		{"GET", "/ping/" + dialectMissing, "", nil},
		{"GET", uuid + "/start?rid=12345", "", nil},
		{"GET", "/ping/wrong-key/foo", "", nil},
	} {
		name := req.method + " " + req.path
		for _, withOrigin := range []bool{false, true} {
			if withOrigin {
				req.headers = append(append([]string(nil), req.headers...), origin)
			}
			before := sv.s.fast.taken.Load()
			got := send(t, sv.fast, req)
			taken := sv.s.fast.taken.Load() - before
			want := send(t, sv.slow, req)
			if taken != 1 && !withOrigin || taken != 0 && withOrigin {
				t.Errorf("%s (Origin %v): fast path taken %d times", name, withOrigin, taken)
			}
			t.Run(name, func(t *testing.T) { sameReply(t, got, want) })
			if got.header.Get("Access-Control-Allow-Origin") != "*" || got.header.Get("Ping-Body-Limit") != "10000" ||
				got.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%s (Origin %v): headers %v", name, withOrigin, got.header)
			}
		}
	}
	var stored int
	count := func() int {
		t.Helper()
		var n int
		if err := sv.s.app.DB().NewQuery("SELECT COUNT(*) FROM heartbeats").Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stored = count()
	pre := send(t, sv.fast, sentRequest{"OPTIONS", uuid + "/fail", "", []string{origin,
		"Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type"}})
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	if n := count(); n != stored {
		t.Errorf("the preflight stored %d pings", n-stored)
	}
}

// TestPingDialectRuns: how a finish matches a start, case by case from test_ping.py.
// Ours keeps several open runs, each ended only by its own finish, where Healthchecks
// keeps one start that any finish clears.
func TestPingDialectRuns(t *testing.T) {
	const other = "1d9d7a7f-5b65-4c1f-9e2b-3c4d5e6f7a81"
	uuid := "/ping/" + dialectUUID
	for _, c := range []struct {
		name, start, finish string
		running, measured   bool
	}{
		// test_it_sets_last_duration: no rid at either end.
		{"no rid", "/start", "", false, true},
		// test_it_clears_last_ping_and_sets_last_duration_if_rid_matches.
		{"rid matches", "/start?rid=" + dialectRID, "?rid=" + dialectRID, false, true},
		{"rid matches exit 0", "/start?rid=" + dialectRID, "/0?rid=" + dialectRID, false, true},
		// test_it_does_not_update_last_ping_on_rid_mismatch: still started, no duration.
		{"rid mismatch", "/start?rid=" + dialectRID, "?rid=" + other, true, false},
		// test_it_clears_last_ping_if_rid_is_absent: Healthchecks clears the start, no duration.
		// ours too: a finish without a rid ends the newest open run, unmeasured.
		{"rid only on the start", "/start?rid=" + dialectRID, "", false, false},
		// test_it_clears_last_ping_on_failure: Healthchecks clears the start on a failure whatever its rid.
		// ours: a failure with another rid ends no run either.
		{"failure with another rid", "/start?rid=" + dialectRID, "/fail?rid=" + other, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
			h.service("foo", dialectKey, map[string]any{"pingId": dialectUUID})
			at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
			h.setClock(at)
			h.do("GET", uuid+c.start, "")
			h.setClock(at.Add(10 * time.Second))
			if res := h.do("GET", uuid+c.finish, ""); res.Code != 200 {
				t.Fatalf("finish: %d %s", res.Code, res.Body.String())
			}
			st := h.pingStatus("foo")
			if st.Running != c.running || (st.LastDuration != nil) != c.measured ||
				c.measured && *st.LastDuration != 10000 {
				t.Errorf("running %v, lastDuration %v; want running %v, measured %v (10 s)", st.Running, st.LastDuration, c.running, c.measured)
			}
		})
	}
}
