package app

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// shapeReader is the read-scope key the beat-shape tests read the JSON API with.
const shapeReader = "Authorization: Bearer shape-reader"

// shapeSite is a dashboard with a person logged in and a read-scope key, for tests that
// send beats of every shape and then look at every page.
type shapeSite struct {
	h *harness
	b *browser
}

func newShapeSite(t *testing.T) *shapeSite {
	t.Helper()
	h := newHarness(t)
	h.setClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	h.person("users", "ann@example.com")
	h.apiKey("shape-reader", []string{"read"}, nil, false)
	b := newBrowser(h, "10.0.0.1")
	if res := b.login("ann@example.com", dashPassword); res.Code >= 400 {
		t.Fatalf("login: %d %s", res.Code, body(res))
	}
	return &shapeSite{h: h, b: b}
}

// post sends a heartbeat body, byte for byte, and fails unless the reply is want.
func (s *shapeSite) post(raw string, want int, headers ...string) {
	s.h.t.Helper()
	res := s.h.do("POST", "/api/heartbeat", raw, headers...)
	if res.Code != want {
		s.h.t.Fatalf("POST %q: got %d %s, want %d", raw, res.Code, body(res), want)
	}
	if !strings.Contains(body(res), `"success":true`) {
		s.h.t.Fatalf("POST %q: the reply lacks the literal \"success\":true the bash client greps for: %s", raw, body(res))
	}
}

// get fetches a path as the logged-in person (pages) or with the read key (/api/...),
// and fails unless it answers 200 with valid UTF-8 and no NUL byte.
func (s *shapeSite) get(path string, headers ...string) string {
	t := s.h.t
	t.Helper()
	var res *httptest.ResponseRecorder
	if strings.HasPrefix(path, "/api/") {
		res = s.h.do("GET", path, "", append([]string{shapeReader}, headers...)...)
	} else {
		res = s.b.send("GET", path, nil, headers...)
	}
	if res.Code != 200 {
		t.Fatalf("GET %s: got %d %s", path, res.Code, body(res))
	}
	if !utf8.Valid(res.Body.Bytes()) || strings.IndexByte(body(res), 0) >= 0 {
		t.Fatalf("GET %s: the body is not clean UTF-8 text: %q", path, body(res))
	}
	return body(res)
}

// servicePages renders every page, partial and read route that shows service sid or its
// beats, asserting each answers 200 and shows the service; it returns the service page
// and its heartbeats partial for checks of what they show.
func (s *shapeSite) servicePages(sid string) (page, beats string) {
	t := s.h.t
	t.Helper()
	page = s.get("/services/" + sid)
	if !strings.Contains(page, `id="state" class="panel" data-status="up"`) || strings.Contains(page, `id="no-beats"`) {
		t.Errorf("service page of %s: want it up with its beats listed:\n%s", sid, page)
	}
	beats = s.get("/services/"+sid+"/heartbeats", "HX-Request: true")
	if !strings.HasPrefix(beats, `<section id="beats"`) || strings.Contains(beats, `id="no-beats"`) {
		t.Errorf("heartbeats partial of %s: got %s", sid, beats)
	}
	if got := s.get("/services/" + sid + "/heartbeats?page=1"); !strings.Contains(got, `<section id="beats"`) {
		t.Errorf("heartbeats page of %s without htmx: got %s", sid, got)
	}
	if got := s.get("/services/"+sid+"/state", "HX-Request: true"); !strings.HasPrefix(got, `<section id="state"`) {
		t.Errorf("state partial of %s: got %.80s", sid, got)
	}
	if got := s.get("/"); !strings.Contains(got, `id="svc-`+sid+`" data-status="up"`) {
		t.Errorf("overview: %s is not listed as up", sid)
	}
	if got := s.get("/overview/live?q="+sid, "HX-Request: true"); !strings.Contains(got, `id="svc-`+sid+`"`) {
		t.Errorf("overview live partial: %s is not listed", sid)
	}

	var status struct {
		Summary struct{ Results []api.StatusResult }
	}
	if err := json.Unmarshal([]byte(s.get("/api/status")), &status); err != nil {
		t.Fatalf("/api/status: %v", err)
	}
	found := false
	for _, r := range status.Summary.Results {
		found = found || r.ServiceID == sid && r.Status == "up"
	}
	if !found {
		t.Errorf("/api/status: %s is not up", sid)
	}
	var logs []map[string]any
	if err := json.Unmarshal([]byte(s.get("/api/logs?serviceId="+sid)), &logs); err != nil {
		t.Errorf("/api/logs: %v", err)
	}
	var services []struct{ ID string }
	if err := json.Unmarshal([]byte(s.get("/api/services")), &services); err != nil {
		t.Fatalf("/api/services: %v", err)
	}
	found = false
	for _, r := range services {
		found = found || r.ID == sid
	}
	if !found {
		t.Errorf("/api/services: %s is not listed", sid)
	}
	var uptime struct{ Days []any }
	if err := json.Unmarshal([]byte(s.get("/api/uptime?serviceId="+sid)), &uptime); err != nil || len(uptime.Days) == 0 {
		t.Errorf("/api/uptime: %v, %d days", err, len(uptime.Days))
	}
	return page, beats
}

// TestBeatsOfTheOriginalClientsShowOnEveryPage sends the exact bytes of every client of
// the original worker through the real route, then opens every page of each service.
func TestBeatsOfTheOriginalClientsShowOnEveryPage(t *testing.T) {
	s := newShapeSite(t)
	h := s.h
	for _, sid := range []string{"early-bash", "later-bash", "bash-b1", "bash-b2", "py-1", "py-2", "py-3", "py-4", "py-5", "node-1", "compose-1"} {
		h.service(sid, "key-"+sid, nil)
	}
	k1, k2 := h.service("k3s-n1", "", nil), h.service("k3s-n2", "", nil)
	h.apiKey("k3s-key", []string{"heartbeat"}, []string{k1.Id, k2.Id}, false)
	h.apiKey("bash-batch-key", []string{"heartbeat"}, nil, false)
	h.apiKey("py-batch-key", []string{"heartbeat"}, nil, false)

	clients := []struct {
		name    string
		body    string
		headers []string
		want    int
		// what the service pages must show afterwards: service id -> texts
		shows map[string][]string
	}{
		{"early bash client, pretty-printed with metadata",
			"{\n  \"serviceId\": \"early-bash\",\n  \"status\": \"up\",\n  \"metadata\": {\n    \"hostname\": \"nas-01\",\n    \"timestamp\": \"2026-11-26T11:59:58Z\"\n  },\n  \"message\": \"Heartbeat from nas-01\"\n}\n",
			[]string{"Content-Type: application/json", "Authorization: Bearer key-early-bash", "User-Agent: curl/7.88.1"}, 200,
			map[string][]string{"early-bash": {"Heartbeat from nas-01", "nas-01", "2026-11-26T11:59:58Z"}}},
		{"later bash client, single",
			"{ \"serviceId\": \"later-bash\" }\n",
			[]string{"Content-Type: application/json", "Authorization: Bearer key-later-bash", "User-Agent: curl/7.88.1"}, 200,
			map[string][]string{"later-bash": nil}},
		{"later bash client, batch",
			`{"services": ["bash-b1","bash-b2"]}`,
			[]string{"Content-Type: application/json", "Authorization: Bearer bash-batch-key", "User-Agent: curl/7.88.1"}, 200,
			map[string][]string{"bash-b1": nil, "bash-b2": nil}},
		{"python client, single",
			`{"serviceId": "py-1"}`,
			[]string{"Content-Type: application/json", "Authorization: Bearer key-py-1", "User-Agent: python-requests/2.31.0"}, 200,
			map[string][]string{"py-1": nil}},
		{"python client, batch with a shared key",
			`{"services": ["py-2", "py-3"]}`,
			[]string{"Content-Type: application/json", "Authorization: Bearer py-batch-key", "User-Agent: python-requests/2.31.0"}, 200,
			map[string][]string{"py-2": nil, "py-3": nil}},
		{"python client, batch with a key per entry",
			`{"services": [{"serviceId": "py-4", "token": "key-py-4"}, {"serviceId": "py-5", "token": "key-py-5"}]}`,
			[]string{"Content-Type: application/json", "User-Agent: python-requests/2.31.0"}, 200,
			map[string][]string{"py-4": nil, "py-5": nil}},
		{"node client",
			`{"serviceId":"node-1","status":"up","metadata":{"hostname":"app-7","timestamp":"2026-11-26T11:59:59.120Z","platform":"linux","arch":"x64"},"message":"Heartbeat from app-7"}`,
			[]string{"Content-Type: application/json", "Authorization: Bearer key-node-1"}, 200,
			map[string][]string{"node-1": {"Heartbeat from app-7", "linux", "x64"}}},
		{"kubernetes cronjob, batch with metadata per entry",
			`{"services":[{"serviceId":"k3s-n1","metadata":{"cluster":"home","ip":"10.0.0.11","role":"control-plane","status":"ready"}},{"serviceId":"k3s-n2","metadata":{"cluster":"home","ip":"10.0.0.12","role":"worker","status":"not-ready"}}]}`,
			[]string{"Content-Type: application/json", "Authorization: Bearer k3s-key", "User-Agent: curl/8.5.0"}, 200,
			map[string][]string{"k3s-n1": {"10.0.0.11", "control-plane"}, "k3s-n2": {"10.0.0.12", "not-ready"}}},
		{"docker-compose loop behind Cloudflare Access",
			`{"serviceId":"compose-1"}`,
			[]string{"Content-Type: application/json", "Authorization: Bearer key-compose-1",
				"CF-Access-Client-Id: 0123456789abcdef.access", "CF-Access-Client-Secret: cf-secret"}, 200,
			map[string][]string{"compose-1": nil}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			h.t, s.b.t = t, t
			s.post(c.body, c.want, c.headers...)
			for sid, texts := range c.shows {
				page, beats := s.servicePages(sid)
				for _, text := range texts {
					if !strings.Contains(page, text) || !strings.Contains(beats, text) {
						t.Errorf("%s: the service page and its heartbeats partial should show %q", sid, text)
					}
				}
			}
		})
	}
}

// TestEveryAcceptedBeatShapeRendersEveryPage sends each shape the ingest accepts and,
// after each, opens every page: what was accepted must never break a page.
func TestEveryAcceptedBeatShapeRendersEveryPage(t *testing.T) {
	s := newShapeSite(t)
	h := s.h
	h.apiKey("shape-key", []string{"heartbeat"}, nil, false)
	shapes := []struct {
		name  string
		body  string // %s is a fresh service id
		shows []string
	}{
		{"single, serviceId only", `{"serviceId":"%s"}`, nil},
		{"single with status", `{"serviceId":"%s","status":"UP"}`, nil},
		{"single with message", `{"serviceId":"%s","message":"backup done"}`, []string{"backup done"}},
		{"single with metadata", `{"serviceId":"%s","metadata":{"disk":"91%"}}`, []string{"disk", "91%"}},
		{"single with everything", `{"serviceId":"%s","status":"up","message":"all good","metadata":{"n":[1,2,{"deep":true}]}}`, []string{"all good", "deep"}},
		{"metadata null", `{"serviceId":"%s","metadata":null}`, nil},
		{"metadata empty object", `{"serviceId":"%s","metadata":{}}`, nil},
		{"message null and status null", `{"serviceId":"%s","status":null,"message":null}`, nil},
		{"empty message", `{"serviceId":"%s","message":""}`, nil},
		{"batch of strings", `{"services":["%s"]}`, nil},
		{"batch of objects without metadata", `{"services":[{"serviceId":"%s"}]}`, nil},
		{"batch of objects with metadata", `{"services":[{"serviceId":"%s","metadata":{"role":"worker"}}]}`, []string{"worker"}},
		{"batch of objects with metadata null", `{"services":[{"serviceId":"%s","metadata":null,"message":null}]}`, nil},
		{"batch with top-level defaults", `{"status":"up","message":"from the batch","metadata":{"zone":"eu-1"},"services":["%s"]}`, []string{"from the batch", "eu-1"}},
		{"batch with top-level defaults and an entry's own", `{"message":"default","metadata":{"zone":"eu-2"},"services":[{"serviceId":"%s","message":"own","metadata":{}}]}`, []string{"own"}},
	}
	for i, c := range shapes {
		t.Run(c.name, func(t *testing.T) {
			h.t, s.b.t = t, t
			sid := "shape-" + itoa(i)
			h.service(sid, "", nil)
			s.post(strings.Replace(c.body, "%s", sid, 1), 200, "Authorization: Bearer shape-key")
			page, beats := s.servicePages(sid)
			for _, text := range c.shows {
				if !strings.Contains(page, text) || !strings.Contains(beats, text) {
					t.Errorf("the service page and its heartbeats partial should show %q", text)
				}
			}
			for j := range i { // every service beaten before still renders
				s.get("/services/" + "shape-" + itoa(j))
			}
		})
	}
}

// TestStoredBeatRowsOfEveryShapeRender reads rows as older versions, PocketBase's record
// API or a hand edit may have left them: metadata NULL, the JSON text null, empty, an
// empty object, a non-object or text that is not JSON at all.
func TestStoredBeatRowsOfEveryShapeRender(t *testing.T) {
	s := newShapeSite(t)
	h := s.h
	now := h.s.now()
	svc := h.service("old-rows", "k", nil)
	setSeen(t, h, "old-rows", now, "up")
	metas := []any{nil, "null", "", "{}", "[1,2]", `"text"`, "not json {", `{"kept":"yes"}`}
	rows := make([][]any, len(metas))
	for i, m := range metas {
		rows[i] = []any{"oldrow" + itoa(100000000+i), svc.Id, "up", "old beat " + itoa(i), m, "10.1.1.1", "curl",
			store.DBDate(now.Add(-time.Duration(i) * time.Second))}
	}
	if err := store.InsertRows(h.app.DB(), "heartbeats", []string{"id", "service", "status", "message", "metadata", "sourceIp", "userAgent", "created"}, rows); err != nil {
		t.Fatal(err)
	}
	// and one saved through PocketBase itself, with no metadata
	col, err := h.app.FindCollectionByNameOrId("heartbeats")
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("service", svc.Id)
	rec.Set("status", "up")
	rec.Set("message", "saved by pocketbase")
	if err := h.app.Save(rec); err != nil {
		t.Fatal(err)
	}

	page, beats := s.servicePages("old-rows")
	for _, text := range []string{"old beat 0<", "old beat 7<", "kept", "saved by pocketbase"} {
		if !strings.Contains(page, text) || !strings.Contains(beats, text) {
			t.Errorf("the service page and its heartbeats partial should show %q", text)
		}
	}
}
