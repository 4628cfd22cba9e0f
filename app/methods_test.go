package app

import (
	"net/http"
	"testing"
)

// TestHeartbeatOtherMethods: a client that GETs (or PUTs, PATCHes, DELETEs) the beat
// route by mistake learns that only POST is accepted, instead of a 404 that reads like a
// wrong URL.
func TestHeartbeatOtherMethods(t *testing.T) {
	h := newHarness(t)
	h.service("web-1", "web-1-key-0123456789", nil)
	for _, method := range []string{"GET", "HEAD", "PUT", "PATCH", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			rec := h.do(method, "/api/heartbeat", `{"serviceId":"web-1"}`, "Authorization: Bearer web-1-key-0123456789")
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("%s /api/heartbeat: got %d, want 405\n%s", method, rec.Code, body(rec))
			}
			if got := rec.Header().Get("Allow"); got != "POST" {
				t.Errorf("Allow: got %q, want POST", got)
			}
			if method == "HEAD" {
				return
			}
			if got, want := body(rec), `{"error":"Method not allowed"}`; got != want {
				t.Errorf("body: got %s, want %s", got, want)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", got)
			}
		})
	}
	if n := h.count("heartbeats", "", nil); n != 0 {
		t.Errorf("heartbeats stored by other methods: got %d, want 0", n)
	}
	// POST still works beside them.
	if got := h.beat("web-1", "web-1-key-0123456789"); got != http.StatusOK {
		t.Errorf("POST: got %d, want 200", got)
	}
}
