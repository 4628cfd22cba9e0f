package hooks

import (
	"strings"
	"testing"
)

// TestCollectionsSuperuserOnly: none of our collections is readable or writable through
// PocketBase's REST API except by superusers, and public sign-up is closed.
func TestCollectionsSuperuserOnly(t *testing.T) {
	h := newHarness(t)
	h.service("web-1", "secret-service-key", nil)
	user, super := h.authToken("users"), h.authToken("_superusers")
	for _, col := range []string{"services", "api_keys", "heartbeats", "logs", "summaries", "incidents"} {
		for _, who := range []struct{ name, header string }{{"anonymous", ""}, {"user", "Authorization: " + user}} {
			if res := h.do("GET", "/api/collections/"+col+"/records", "", who.header); res.Code != 403 && res.Code != 401 {
				t.Errorf("%s lists %s: %d %s", who.name, col, res.Code, body(res))
			}
			if res := h.do("POST", "/api/collections/"+col+"/records", `{}`, who.header, "Content-Type: application/json"); res.Code != 403 && res.Code != 401 {
				t.Errorf("%s creates in %s: %d", who.name, col, res.Code)
			}
		}
		if res := h.do("GET", "/api/collections/"+col+"/records", "", "Authorization: "+super); res.Code != 200 {
			t.Errorf("superuser lists %s: %d", col, res.Code)
		}
	}
	if res := h.do("POST", "/api/collections/users/records", `{"email":"x@example.com","password":"12345678abc","passwordConfirm":"12345678abc"}`, "Content-Type: application/json"); res.Code < 400 {
		t.Errorf("public sign-up: %d, want refused", res.Code)
	}
	// The service key is hidden everywhere but from superusers.
	if res := h.do("GET", "/api/collections/services/records", "", "Authorization: "+super); !strings.Contains(body(res), "secret-service-key") {
		t.Errorf("superuser does not see the key: %s", body(res))
	}
}
