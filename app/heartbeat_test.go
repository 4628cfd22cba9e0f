package app

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

var tsRe = `"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`

func TestHeartbeatContract(t *testing.T) {
	big := `{"serviceId":"web-1","message":"` + strings.Repeat("x", 64<<10) + `"}`
	cases := []struct {
		name    string
		body    string
		headers []string
		status  int
		want    string // regexp the whole body must match
		stored  int    // heartbeats stored
	}{
		{"single beat", `{"serviceId":"web-1","status":"up","message":"ok","metadata":{"host":"h1"}}`,
			[]string{"Authorization: Bearer k-web-1"}, 200, `^\{"success":true,"message":"Heartbeat received",` + tsRe + `\}$`, 1},
		{"no content type, lower-case scheme", `{"serviceId":"web-1"}`,
			[]string{"Authorization: bearer k-web-1", "Content-Type:"}, 200, `"success":true`, 1},
		{"original bash client bytes with CF-Access headers",
			"{\n  \"serviceId\": \"web-1\",\n  \"status\": \"up\",\n  \"metadata\": {\n    \"hostname\": \"h\",\n    \"timestamp\": \"2026-11-26T10:00:00Z\"\n  },\n  \"message\": \"Heartbeat from h\"\n}",
			[]string{"Authorization: Bearer k-web-1", "CF-Access-Client-Id: id.access", "CF-Access-Client-Secret: s"}, 200, `^\{"success":true,"message":"Heartbeat received",` + tsRe + `\}$`, 1},
		{"no key", `{"serviceId":"web-1"}`, nil, 401, `^\{"error":"Invalid API key"\}$`, 0},
		{"wrong key", `{"serviceId":"web-1"}`, []string{"Authorization: Bearer nope"}, 401, `^\{"error":"Invalid API key"\}$`, 0},
		{"another service's key", `{"serviceId":"web-1"}`, []string{"Authorization: Bearer k-db-1"}, 401, `^\{"error":"Invalid API key"\}$`, 0},
		{"unknown service", `{"serviceId":"ghost"}`, []string{"Authorization: Bearer k-web-1"}, 404, `^\{"error":"Unknown serviceId"\}$`, 0},
		{"malformed JSON", `{"serviceId":`, []string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"Invalid JSON body"\}$`, 0},
		{"wrong type", `{"serviceId":"web-1","message":5}`, []string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"message must be a string"\}$`, 0},
		{"unknown status", `{"serviceId":"web-1","status":"fine"}`, []string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"status must be one of up, down, degraded"\}$`, 0},
		{"missing serviceId", `{"status":"up"}`, []string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"serviceId is required"\}$`, 0},
		{"empty batch", `{"services":[]}`, []string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"services must not be empty"\}$`, 0},
		{"body over 64 KiB", big, []string{"Authorization: Bearer k-web-1"}, 413, `^\{"error":"Request body too large \(max 64 KiB\)"\}$`, 0},
		{"metadata over 8 KiB", `{"serviceId":"web-1","metadata":{"x":"` + strings.Repeat("x", 9000) + `"}}`,
			[]string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"metadata exceeds 8 KiB \(8192 bytes\)"\}$`, 0},
		{"message over 1000 chars", `{"serviceId":"web-1","message":"` + strings.Repeat("x", 1001) + `"}`,
			[]string{"Authorization: Bearer k-web-1"}, 400, `^\{"error":"message exceeds 1000 characters"\}$`, 0},
		{"batch with the header key", `{"services":["web-1","web-1"]}`, []string{"Authorization: Bearer k-web-1"}, 200,
			`^\{"success":true,"message":"Batch heartbeat received for 2 service\(s\)",` + tsRe + `,"results":\[\{"serviceId":"web-1","success":true,` + tsRe + `\},\{"serviceId":"web-1","success":true,` + tsRe + `\}\]\}$`, 2},
		{"batch with per-entry tokens and no header", `{"services":[{"serviceId":"web-1","token":"k-web-1"},{"serviceId":"db-1","token":"k-db-1"}]}`, nil, 200,
			`"message":"Batch heartbeat received for 2 service\(s\)"`, 2},
		{"batch mixing tokens and the header", `{"services":[{"serviceId":"web-1"},{"serviceId":"db-1","token":"k-db-1"}]}`, []string{"Authorization: Bearer k-web-1"}, 200,
			`"message":"Batch heartbeat received for 2 service\(s\)"`, 2},
		{"partial batch", `{"services":["web-1","ghost",{"serviceId":"db-1"},"bad id"]}`, []string{"Authorization: Bearer k-web-1"}, 207,
			`^\{"success":true,"message":"Partial success: 1 succeeded, 3 failed",` + tsRe + `,"results":\[\{"serviceId":"web-1","success":true,` + tsRe + `\},` +
				`\{"serviceId":"ghost","success":false,"error":"Unknown serviceId"\},\{"serviceId":"db-1","success":false,"error":"Invalid API key"\},` +
				`\{"serviceId":"","success":false,"error":"Invalid service format"\}\]\}$`, 1},
		{"batch where all fail", `{"services":["ghost",{"serviceId":"db-1","token":"x"}]}`, []string{"Authorization: Bearer k-web-1"}, 400,
			`^\{"success":false,"message":"All heartbeats failed","results":\[\{"serviceId":"ghost","success":false,"error":"Unknown serviceId"\},\{"serviceId":"db-1","success":false,"error":"Invalid API key"\}\]\}$`, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.service("web-1", "k-web-1", nil)
			h.service("db-1", "k-db-1", nil)
			res := h.do("POST", "/api/heartbeat", c.body, c.headers...)
			got := body(res)
			if res.Code != c.status {
				t.Fatalf("status %d, want %d (body %s)", res.Code, c.status, got)
			}
			if !regexp.MustCompile(c.want).MatchString(got) {
				t.Errorf("body %s does not match %s", got, c.want)
			}
			if ct := res.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if n := h.count("heartbeats", "", nil); n != c.stored {
				t.Errorf("%d heartbeats stored, want %d", n, c.stored)
			}
		})
	}
}

func TestHeartbeatStoresWhatWasSent(t *testing.T) {
	h := newHarness(t)
	svc := h.service("web-1", "k1", nil)
	res := h.do("POST", "/api/heartbeat", `{"serviceId":"web-1","status":"Degraded","message":"disk <b>90%</b>","metadata":{ "host" : "h1", "n": [1, 2] }}`,
		"Authorization: Bearer k1", "User-Agent: curl/8.0")
	if res.Code != 200 {
		t.Fatalf("status %d: %s", res.Code, body(res))
	}
	var reply struct{ Timestamp string }
	if err := json.Unmarshal(res.Body.Bytes(), &reply); err != nil {
		t.Fatal(err)
	}
	var row struct {
		Status    string `db:"status"`
		Message   string `db:"message"`
		Metadata  string `db:"metadata"`
		SourceIP  string `db:"sourceIp"`
		UserAgent string `db:"userAgent"`
		Created   string `db:"created"`
	}
	err := h.app.DB().NewQuery("SELECT status, message, metadata, sourceIp, userAgent, created FROM heartbeats WHERE service = {:id}").
		Bind(dbx.Params{"id": svc.Id}).One(&row)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != "degraded" || row.Message != "disk <b>90%</b>" || row.Metadata != `{"host":"h1","n":[1,2]}` || row.UserAgent != "curl/8.0" || row.SourceIP == "" {
		t.Errorf("stored %+v", row)
	}
	if want := strings.NewReplacer("T", " ").Replace(reply.Timestamp); row.Created != want {
		t.Errorf("created %q, want the acknowledged timestamp %q", row.Created, want)
	}
	rec, err := h.app.FindRecordById("service_states", svc.Id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetString("lastStatus") != "degraded" || rec.GetString("lastMessage") != "disk <b>90%</b>" || rec.GetDateTime("lastSeen").String() != row.Created {
		t.Errorf("service not updated: lastSeen %s lastStatus %s lastMessage %s", rec.GetDateTime("lastSeen"), rec.GetString("lastStatus"), rec.GetString("lastMessage"))
	}
}

func TestHeartbeatAPIKeys(t *testing.T) {
	cases := []struct {
		name     string
		scopes   []string
		covers   []string // serviceIds
		disabled bool
		web, db  int // status for a beat to web-1 and db-1
	}{
		{"wildcard heartbeat key covers every service", []string{"heartbeat"}, nil, false, 200, 200},
		{"group key covers only its services", []string{"heartbeat"}, []string{"web-1"}, false, 200, 401},
		{"read-only key cannot send beats", []string{"read"}, nil, false, 401, 401},
		{"disabled key fails", []string{"heartbeat"}, nil, true, 401, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			ids := map[string]string{"web-1": h.service("web-1", "k-web", nil).Id, "db-1": h.service("db-1", "k-db", nil).Id}
			var covers []string
			for _, sid := range c.covers {
				covers = append(covers, ids[sid])
			}
			h.apiKey("group-key", c.scopes, covers, c.disabled)
			if got := h.beat("web-1", "group-key"); got != c.web {
				t.Errorf("web-1: %d, want %d", got, c.web)
			}
			if got := h.beat("db-1", "group-key"); got != c.db {
				t.Errorf("db-1: %d, want %d", got, c.db)
			}
		})
	}
}

func TestHeartbeatRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RateLimit = 2 })
	h.service("web-1", "k1", nil)
	h.service("db-1", "k2", nil)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	for i := 0; i < 2; i++ {
		if got := h.beat("web-1", "k1"); got != 200 {
			t.Fatalf("beat %d: %d, want 200", i, got)
		}
	}
	res := h.do("POST", "/api/heartbeat", `{"serviceId":"web-1"}`, "Authorization: Bearer k1")
	if res.Code != 429 || body(res) != `{"error":"Rate limit exceeded"}` || res.Header().Get("Retry-After") != "30" {
		t.Fatalf("over the limit: %d %s Retry-After=%q, want 429 with Retry-After 30", res.Code, body(res), res.Header().Get("Retry-After"))
	}
	if got := h.beat("db-1", "k2"); got != 200 {
		t.Errorf("another service is limited too: %d", got)
	}
	batch := h.do("POST", "/api/heartbeat", `{"services":["web-1"]}`, "Authorization: Bearer k1")
	if batch.Code != 429 || !strings.Contains(body(batch), `"error":"Rate limit exceeded"`) {
		t.Errorf("batch over the limit: %d %s", batch.Code, body(batch))
	}
	h.setClock(now.Add(30 * time.Second))
	if got := h.beat("web-1", "k1"); got != 200 {
		t.Errorf("after Retry-After: %d, want 200", got)
	}
	if n := h.count("heartbeats", "", nil); n != 4 {
		t.Errorf("%d heartbeats stored, want 4", n)
	}
}

func TestHeartbeatRateLimitOff(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RateLimit = 0 })
	h.service("web-1", "k1", nil)
	for i := 0; i < 300; i++ {
		if got := h.beat("web-1", "k1"); got != 200 {
			t.Fatalf("beat %d: %d", i, got)
		}
	}
}

// TestHeartbeatQueueFull holds the write connection so the writer cannot commit, fills
// the queue, and expects 503 with Retry-After, then the held beat to be stored.
func TestHeartbeatQueueFull(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.QueueSize = 1 })
	h.service("web-1", "k1", nil)
	tx, err := h.app.NonconcurrentDB().(*dbx.DB).Begin()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	first := make(chan int, 1)
	wg.Add(1)
	go func() { defer wg.Done(); first <- h.beat("web-1", "k1") }()
	// Wait until the writer holds the first beat (dequeued, blocked on the connection),
	// then fill the queue's single slot.
	deadline := time.Now().Add(5 * time.Second)
	for h.s.writer.Queued() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	res := h.do("POST", "/api/heartbeat", `{"serviceId":"web-1"}`, "Authorization: Bearer k1")
	if res.Code != 503 || res.Header().Get("Retry-After") == "" || body(res) != `{"error":"Server busy, retry later"}` {
		t.Errorf("queue full: %d %s Retry-After=%q", res.Code, body(res), res.Header().Get("Retry-After"))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := <-first; got != 200 {
		t.Errorf("queued beat: %d, want 200", got)
	}
	if n := h.count("heartbeats", "", nil); n != 1 {
		t.Errorf("%d heartbeats stored, want 1", n)
	}
}

// TestAdminEditsApplyWithoutRestart edits services and keys the way the admin UI does
// (a record save) and expects the very next request to see the change.
func TestAdminEditsApplyWithoutRestart(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true })
	svc := h.service("web-1", "old-key", nil)
	if got := h.beat("web-1", "old-key"); got != 200 {
		t.Fatalf("first beat: %d", got)
	}

	// Rotate by clearing the key: a new one is generated, the old one stops working.
	svc, _ = h.app.FindRecordById("services", svc.Id)
	svc.Set("apiKey", "")
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	newKey := svc.GetString("apiKey")
	if len(newKey) != 40 {
		t.Fatalf("rotated key %q, want 40 generated characters", newKey)
	}
	if got := h.beat("web-1", "old-key"); got != 401 {
		t.Errorf("old key after rotation: %d, want 401", got)
	}
	if got := h.beat("web-1", newKey); got != 200 {
		t.Errorf("new key: %d, want 200", got)
	}

	// Pause, and change the threshold: /api/status reflects both at once.
	svc.Set("paused", true)
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, h, "web-1"); st.Status != "paused" {
		t.Errorf("after pausing: %s, want paused", st.Status)
	}
	svc.Set("paused", false)
	svc.Set("stalenessThreshold", 5)
	svc.Set("interval", 1)
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	h.setClock(time.Now().Add(6 * time.Second))
	if st := statusOf(t, h, "web-1"); st.Status != "down" || st.StalenessThreshold != 5000 {
		t.Errorf("after lowering the threshold: %s (threshold %d ms), want down at 5000", st.Status, st.StalenessThreshold)
	}

	// Renaming the serviceId moves it; deleting it forgets it.
	svc.Set("serviceId", "web-2")
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	if got := h.beat("web-1", newKey); got != 404 {
		t.Errorf("old serviceId after rename: %d, want 404", got)
	}
	if got := h.beat("web-2", newKey); got != 200 {
		t.Errorf("new serviceId: %d, want 200", got)
	}
	if err := h.app.Delete(svc); err != nil {
		t.Fatal(err)
	}
	if got := h.beat("web-2", newKey); got != 404 {
		t.Errorf("deleted service: %d, want 404", got)
	}

	// An api key disabled in the admin UI fails on the next request.
	h.service("db-1", "k-db", nil)
	key := h.apiKey("shared", []string{"heartbeat"}, nil, false)
	if got := h.beat("db-1", "shared"); got != 200 {
		t.Fatalf("api key: %d", got)
	}
	key.Set("disabled", true)
	if err := h.app.Save(key); err != nil {
		t.Fatal(err)
	}
	if got := h.beat("db-1", "shared"); got != 401 {
		t.Errorf("disabled api key: %d, want 401", got)
	}
}

// TestAdminSaveKeepsServerFields: the admin UI posts back the settings it loaded; a
// newer beat's lastSeen, kept in service_states, is not touched by that save.
func TestAdminSaveKeepsServerFields(t *testing.T) {
	h := newHarness(t)
	svc := h.service("web-1", "k1", nil)
	stale, _ := h.app.FindRecordById("services", svc.Id) // loaded before the beat
	if got := h.beat("web-1", "k1"); got != 200 {
		t.Fatal(got)
	}
	stale.Set("name", "Web One")
	if err := h.app.Save(stale); err != nil {
		t.Fatal(err)
	}
	fresh, _ := h.app.FindRecordById("services", svc.Id)
	state, err := h.app.FindRecordById("service_states", svc.Id)
	if err != nil {
		t.Fatal(err)
	}
	if state.GetDateTime("lastSeen").IsZero() || state.GetString("lastStatus") != "up" || fresh.GetString("name") != "Web One" {
		t.Errorf("after an admin save: lastSeen %q lastStatus %q name %q", state.GetDateTime("lastSeen"), state.GetString("lastStatus"), fresh.GetString("name"))
	}
}

func TestServiceDefaults(t *testing.T) {
	h := newHarness(t)
	svc := h.service("web-1", "", nil)
	if len(svc.GetString("apiKey")) != 40 || svc.GetInt("interval") != 120 || svc.GetInt("stalenessThreshold") != 300 {
		t.Errorf("defaults: key %d chars, interval %d, threshold %d", len(svc.GetString("apiKey")), svc.GetInt("interval"), svc.GetInt("stalenessThreshold"))
	}
	other := h.service("web-2", "", nil)
	if other.GetString("apiKey") == svc.GetString("apiKey") {
		t.Error("two services got the same generated key")
	}
}

// TestRegistrySeesOtherProcesses: services and keys written by another process (an
// `import` against the same data directory) are picked up without a restart.
func TestRegistrySeesOtherProcesses(t *testing.T) {
	h := newHarness(t)
	h.service("web-1", "k1", nil)
	last, err := h.s.registryVersion()
	if err != nil {
		t.Fatal(err)
	}
	// Written behind the server's back: no record hook runs.
	err = store.InsertRows(h.app.DB(), "services", []string{"id", "serviceId", "apiKey", "interval", "stalenessThreshold", "created", "updated"},
		[][]any{{"importedsvc0001", "imported-1", "k-imported", 120, 300, "2030-01-01 00:00:00.000Z", "2030-01-01 00:00:00.000Z"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.beat("imported-1", "k-imported"); got != 404 {
		t.Fatalf("before the refresh: %d, want 404", got)
	}
	h.s.refreshRegistry(&last)
	if got := h.beat("imported-1", "k-imported"); got != 200 {
		t.Errorf("after the refresh: %d, want 200", got)
	}
	// The engine knows it too: its beat made it up, for the API and the pages alike.
	if v, ok := h.s.alerts.Engine().Get("imported-1"); !ok || v.State != monitor.Up {
		t.Errorf("the engine after the refresh: %+v (held %v), want the imported service up", v.State, ok)
	}
	// A change of settings elsewhere (a second import): only the rows saved since the
	// last poll are read, and the engine takes the new settings.
	if _, err := h.app.DB().NewQuery("UPDATE services SET interval = 600, updated = '2030-01-02 00:00:00.000Z' WHERE id = 'importedsvc0001'").Execute(); err != nil {
		t.Fatal(err)
	}
	h.s.refreshRegistry(&last)
	if v, _ := h.s.alerts.Engine().Get("imported-1"); v.Model.Interval != 10*time.Minute {
		t.Errorf("the engine after a change elsewhere: interval %s, want 10m", v.Model.Interval)
	}
	if _, err := h.app.DB().NewQuery("DELETE FROM services WHERE id = 'importedsvc0001'").Execute(); err != nil {
		t.Fatal(err)
	}
	h.s.refreshRegistry(&last)
	if got := h.beat("imported-1", "k-imported"); got != 404 {
		t.Errorf("after a delete elsewhere: %d, want 404", got)
	}
	if _, ok := h.s.alerts.Engine().Get("imported-1"); ok {
		t.Error("the engine still holds the service deleted elsewhere")
	}
	if got := h.beat("web-1", "k1"); got != 200 {
		t.Errorf("the other service after the refreshes: %d", got)
	}
}

// TestBeatsReachTheEngine: a committed beat reaches the engine at once. A service that
// stays up is only rescheduled (due one interval after the beat); a recovery is due at
// once and closes its incident at the beat.
func TestBeatsReachTheEngine(t *testing.T) {
	h := newHarness(t)
	svc := h.service("db-1", "k1-long-enough-key", map[string]any{"interval": 10, "stalenessThreshold": 30})
	h.setClock(t0)
	if got := h.beat("db-1", "k1-long-enough-key"); got != 200 {
		t.Fatalf("beat: %d", got)
	}
	h.evaluate(t0)
	v, _ := h.s.alerts.Engine().Get("db-1")
	if v.State != monitor.Up || !v.Due.Equal(t0.Add(10*time.Second+time.Nanosecond)) {
		t.Fatalf("after an up beat: %s due %s, want up, due when the interval passes", v.State, v.Due)
	}
	h.evaluate(t0.Add(31 * time.Second))
	if v, _ = h.s.alerts.Engine().Get("db-1"); v.State != monitor.Down {
		t.Fatalf("past the threshold: %s, want down", v.State)
	}
	back := t0.Add(40 * time.Second)
	h.setClock(back)
	if got := h.beat("db-1", "k1-long-enough-key"); got != 200 {
		t.Fatalf("beat: %d", got)
	}
	if v, _ = h.s.alerts.Engine().Get("db-1"); v.State != monitor.Up || !v.Since.Equal(back) {
		t.Errorf("after the recovery: %s since %s, want up since the beat", v.State, v.Since)
	}
	if inc := h.incident(svc.Id); inc.EndedAt != store.DBDate(back) {
		t.Errorf("incident %+v, want closed at the recovering beat", inc)
	}
}
