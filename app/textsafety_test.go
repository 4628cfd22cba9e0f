package app

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

// cleanPage fails unless a page body is valid UTF-8 without a NUL byte.
func cleanPage(t *testing.T, path, page string) {
	t.Helper()
	if !utf8.ValidString(page) {
		t.Errorf("GET %s: the page is not valid UTF-8", path)
	}
	if i := strings.IndexByte(page, 0); i >= 0 {
		t.Errorf("GET %s: a NUL byte in the page near %q", path, page[max(0, i-40):min(len(page), i+40)])
	}
}

// TestOddBytesInBeatsAreNormalised posts NUL characters (raw and \u0000-escaped) and
// invalid UTF-8 in messages and metadata keys and values: every beat is accepted, what
// is stored has U+FFFD in their place, and the pages that show it are clean text.
func TestOddBytesInBeatsAreNormalised(t *testing.T) {
	s := newShapeSite(t)
	h := s.h
	svc := h.service("odd", "k", nil)
	const r = "\uFFFD"
	posts := []struct {
		name, body, msg, meta string
	}{
		{"raw bytes in a single beat",
			"{\"serviceId\":\"odd\",\"message\":\"raw\x00nul \xff\xfe bad\",\"metadata\":{\"k\x00ey\":\"v\xffal\",\"\xc3\":1}}",
			"raw" + r + "nul " + r + r + " bad", `{"k` + r + `ey":"v` + r + `al","` + r + `":1}`},
		{"escaped NULs in a single beat",
			`{"serviceId":"odd","message":"esc\u0000aped","metadata":{"\u0000":"x\u0000y","ok":"\u00e9"}}`,
			"esc" + r + "aped", `{"` + r + `":"x` + r + `y","ok":"é"}`},
		{"raw bytes in a batch entry and its defaults",
			"{\"message\":\"batch\x00\xfe\",\"services\":[{\"serviceId\":\"odd\",\"metadata\":{\"x\":\"\xe2\x82\\u0000\"}}]}",
			"batch" + r + r, `{"x":"` + r + r + r + `"}`},
	}
	for i, p := range posts {
		t.Run(p.name, func(t *testing.T) {
			h.t, s.b.t = t, t
			h.setClock(time.Date(2026, 11, 26, 12, 0, i, 0, time.UTC))
			s.post(p.body, 200, "Authorization: Bearer k")
			var row struct {
				Message  string `db:"message"`
				Metadata string `db:"metadata"`
			}
			err := h.app.DB().NewQuery("SELECT message, metadata FROM heartbeats WHERE service = {:id} ORDER BY created DESC LIMIT 1").
				Bind(dbx.Params{"id": svc.Id}).One(&row)
			if err != nil {
				t.Fatal(err)
			}
			if row.Message != p.msg || row.Metadata != p.meta {
				t.Errorf("stored message %q metadata %q, want %q %q", row.Message, row.Metadata, p.msg, p.meta)
			}
			if i == 0 { // the writer holds back later updates of lastMessage for a second
				last, err := h.app.FindRecordById("service_states", svc.Id)
				if err != nil {
					t.Fatal(err)
				}
				if got := last.GetString("lastMessage"); got != p.msg {
					t.Errorf("lastMessage %q, want %q", got, p.msg)
				}
			}

			page := s.get("/services/odd")
			beats := s.get("/services/odd/heartbeats", "HX-Request: true")
			cleanPage(t, "/services/odd", page)
			cleanPage(t, "/services/odd/heartbeats", beats)
			if !strings.Contains(page, p.msg) || !strings.Contains(beats, p.msg) {
				t.Errorf("the pages do not show the normalised message %q", p.msg)
			}
		})
	}
}

// TestPagesStayCleanWithOddBytesInOldRows writes NUL bytes and invalid UTF-8 straight
// into the database, as rows stored before beats were normalised (or an edit outside
// the server) may hold them: no page writes either into its HTML.
func TestPagesStayCleanWithOddBytesInOldRows(t *testing.T) {
	s := newShapeSite(t)
	h := s.h
	now := h.s.now()
	svc := h.service("old-odd", "k", map[string]any{"group": "g"})
	_, err := h.app.DB().NewQuery("UPDATE services SET name = {:name}, description = {:desc}, [[group]] = {:grp} WHERE id = {:id}").
		Bind(dbx.Params{"name": "Na\x00me\xff", "desc": "de\xfesc\x00", "grp": "gr\x00p\xc3", "id": svc.Id}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	setState(t, h.app.DB(), "old-odd", dbx.Params{"lastMessage": "la\x00st\xff", "lastSeen": store.DBDate(now), "lastStatus": "up"})
	h.reloadEngine()
	rows := [][]any{
		{"oddrow000000001", svc.Id, "up", "m\x00sg\xff", "{\"k\":\"v\x00\xff\"}", "10.0.0.\x00", "curl", store.DBDate(now)},
		{"oddrow000000002", svc.Id, "up", "esc", `{"k\u0000":"\u0000"}`, "10.0.0.1", "curl", store.DBDate(now.Add(-time.Second))},
		{"oddrow000000003", svc.Id, "up", "not json", "{\x00\xfe", "10.0.0.1", "curl", store.DBDate(now.Add(-2 * time.Second))},
	}
	if err := store.InsertRows(h.app.DB(), "heartbeats", []string{"id", "service", "status", "message", "metadata", "sourceIp", "userAgent", "created"}, rows); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := h.app.DB().NewQuery("SELECT message FROM heartbeats WHERE id = 'oddrow000000001'").Row(&stored); err != nil || stored != "m\x00sg\xff" {
		t.Fatalf("the odd bytes did not reach the database as written: %q %v", stored, err)
	}

	for _, path := range []string{"/", "/?q=na", "/overview/live?q=%FF%00&status=up", "/services/old-odd", "/services/old-odd/state", "/services/old-odd/heartbeats?page=1"} {
		res := s.b.send("GET", path, nil)
		if res.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, res.Code, body(res))
		}
		cleanPage(t, path, body(res))
	}
	page := s.get("/services/old-odd")
	for _, want := range []string{"Na\uFFFDme\uFFFD", "de\uFFFDsc\uFFFD", "la\uFFFDst\uFFFD", "m\uFFFDsg\uFFFD"} {
		if !strings.Contains(page, want) {
			t.Errorf("the service page should show %q in place of the odd bytes", want)
		}
	}
	for _, path := range []string{"/api/status", "/api/services", "/api/uptime?serviceId=old-odd"} {
		s.get(path) // JSON escapes a NUL and replaces invalid bytes; s.get checks it
	}
}

// TestOddBytesInUserAgentAreNormalised: the User-Agent is stored beside the beat, so it
// is normalised like the rest and cut at a character, never inside one.
func TestOddBytesInUserAgentAreNormalised(t *testing.T) {
	h := newHarness(t)
	svc := h.service("ua", "k", nil)
	ua := "agent\xff/" + strings.Repeat("é", 600)
	if res := h.do("POST", "/api/heartbeat", `{"serviceId":"ua"}`, "Authorization: Bearer k", "User-Agent: "+ua); res.Code != 200 {
		t.Fatalf("POST: %d %s", res.Code, body(res))
	}
	var got string
	if err := h.app.DB().NewQuery("SELECT userAgent FROM heartbeats WHERE service = {:id}").Bind(dbx.Params{"id": svc.Id}).Row(&got); err != nil {
		t.Fatal(err)
	}
	if want := "agent\uFFFD/" + strings.Repeat("é", 493); got != want {
		t.Errorf("stored userAgent %q (%d chars), want %q (500 chars)", got, utf8.RuneCountInString(got), want)
	}
}

// TestLoginFormEchoesCleanText: a failed login shows the form again with what was typed;
// odd bytes in the email or the return path must not reach the page as they were sent.
func TestLoginFormEchoesCleanText(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(h, "10.0.0.9")
	tok := csrfOf(t, b.send("GET", "/login?next=/services/x%FF%00y", nil))
	res := b.send("POST", "/login?next=/services/x%FF%00y", url.Values{"email": {"ann\xff\x00@example.com"}, "password": {"wrong"}, "csrf": {tok}, "next": {"/services/x\xff\x00y"}},
		"Origin: "+dashOrigin)
	if res.Code != 401 {
		t.Fatalf("a wrong password: %d, want 401 with the form", res.Code)
	}
	cleanPage(t, "POST /login", body(res))
	if !strings.Contains(body(res), "ann\uFFFD\uFFFD@example.com") {
		t.Error("the form should show the email typed, with U+FFFD in place of the odd bytes")
	}
}
