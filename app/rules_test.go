package app

import (
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
)

// TestCollectionsSuperuserOnly: none of our collections is readable or writable through
// PocketBase's REST API except by superusers, and public sign-up is closed. Every
// collection that is not PocketBase's own is checked, so a collection added by a new
// migration without rules fails here.
func TestCollectionsSuperuserOnly(t *testing.T) {
	h := newHarness(t)
	h.service("web-1", "secret-service-key", nil)
	user, super := h.authToken("users"), h.authToken("_superusers")
	cols, err := h.app.FindAllCollections()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, col := range cols {
		if col.System {
			continue
		}
		names = append(names, col.Name)
		if col.Name == "users" {
			// PocketBase's users collection: people may read and change their own
			// record (their password), but nobody signs up.
			if col.CreateRule != nil {
				t.Errorf("users: createRule %q, want nil (sign-up closed)", *col.CreateRule)
			}
			continue
		}
		for _, r := range []struct {
			name string
			rule *string
		}{{"listRule", col.ListRule}, {"viewRule", col.ViewRule}, {"createRule", col.CreateRule},
			{"updateRule", col.UpdateRule}, {"deleteRule", col.DeleteRule}} {
			if r.rule != nil {
				t.Errorf("%s: %s %q, want nil (superusers only)", col.Name, r.name, *r.rule)
			}
		}
		if col.IsAuth() {
			t.Errorf("%s: an auth collection besides users; check its auth rules here", col.Name)
		}
		checkRecordAPI(t, h, col, user, super)
	}
	for _, want := range []string{"services", "api_keys", "heartbeats", "logs", "summaries", "incidents",
		"pauses", "channels", "alerts", "notifications", "maintenance"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("collection %s not found among %v", want, names)
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

// checkRecordAPI asks the record API as an anonymous visitor, a user and a superuser.
func checkRecordAPI(t *testing.T, h *harness, col *core.Collection, user, super string) {
	t.Helper()
	base := "/api/collections/" + col.Name + "/records"
	for _, who := range []struct{ name, header string }{{"anonymous", ""}, {"user", "Authorization: " + user}} {
		if res := h.do("GET", base, "", who.header); res.Code != 403 && res.Code != 401 {
			t.Errorf("%s lists %s: %d %s", who.name, col.Name, res.Code, body(res))
		}
		if res := h.do("GET", base+"/anyid000000000", "", who.header); res.Code < 400 {
			t.Errorf("%s views a record of %s: %d", who.name, col.Name, res.Code)
		}
		if res := h.do("POST", base, `{}`, who.header, "Content-Type: application/json"); res.Code != 403 && res.Code != 401 {
			t.Errorf("%s creates in %s: %d", who.name, col.Name, res.Code)
		}
	}
	if res := h.do("GET", base, "", "Authorization: "+super); res.Code != 200 {
		t.Errorf("superuser lists %s: %d", col.Name, res.Code)
	}
}
