package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestHandSetKeysNeedSixteenCharacters: a superuser who types a key in the admin UI (or
// sends one to the records API) gets a field error under that key when it is shorter
// than 16 characters, for service keys and api_keys alike. Leaving a key empty still
// generates one, and a short key set by import keeps working when an admin edits
// another field of its record.
func TestHandSetKeysNeedSixteenCharacters(t *testing.T) {
	h := newHarness(t)
	auth := "Authorization: " + h.authToken("_superusers")
	imported := h.service("imported", "your-key-1", nil) // as `import` saves a seed key
	importedKey := h.apiKey("seed-key-9", []string{"heartbeat"}, nil, false)

	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string // the field the 400 names
	}{
		{"service key of one character", "POST", "/api/collections/services/records", `{"serviceId":"svc-a","apiKey":"a"}`, 400, "apiKey"},
		{"service key of 15 characters", "POST", "/api/collections/services/records", `{"serviceId":"svc-b","apiKey":"0123456789abcde"}`, 400, "apiKey"},
		{"service key of 16 characters", "POST", "/api/collections/services/records", `{"serviceId":"svc-c","apiKey":"0123456789abcdef"}`, 200, ""},
		{"service key left empty", "POST", "/api/collections/services/records", `{"serviceId":"svc-d","apiKey":""}`, 200, ""},
		{"short key padded with spaces", "POST", "/api/collections/services/records", `{"serviceId":"svc-e","apiKey":"  short-key       "}`, 400, "apiKey"},
		{"service key changed to a short one", "PATCH", "/api/collections/services/records/" + imported.Id, `{"apiKey":"short"}`, 400, "apiKey"},
		{"imported short key posted back unchanged", "PATCH", "/api/collections/services/records/" + imported.Id, `{"name":"Imported","apiKey":"your-key-1"}`, 200, ""},
		{"api key of one character", "POST", "/api/collections/api_keys/records", `{"name":"k","key":"a","scopes":["heartbeat"]}`, 400, "key"},
		{"api key of 16 characters", "POST", "/api/collections/api_keys/records", `{"name":"k16","key":"0123456789abcdef","scopes":["read"]}`, 200, ""},
		{"api key changed to a short one", "PATCH", "/api/collections/api_keys/records/" + importedKey.Id, `{"key":"tiny"}`, 400, "key"},
		{"imported api key posted back unchanged", "PATCH", "/api/collections/api_keys/records/" + importedKey.Id, `{"name":"renamed","key":"seed-key-9"}`, 200, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(tt.method, tt.path, tt.body, auth, "Content-Type: application/json")
			if rec.Code != tt.status {
				t.Fatalf("got %d, want %d\n%s", rec.Code, tt.status, body(rec))
			}
			if tt.field == "" {
				return
			}
			var reply struct {
				Message string `json:"message"`
				Data    map[string]struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"data"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
				t.Fatal(err)
			}
			fe, ok := reply.Data[tt.field]
			if !ok || fe.Code != "validation_key_too_short" || !strings.Contains(fe.Message, "16 characters") {
				t.Errorf("field errors: got %s, want %s with code validation_key_too_short", body(rec), tt.field)
			}
			if !strings.HasPrefix(reply.Message, "Field "+tt.field+":") {
				t.Errorf("message: got %q, want it to name %s", reply.Message, tt.field)
			}
		})
	}

	// A refused key was never saved: the old keys still work, the refused ones do not.
	if got := h.beat("imported", "your-key-1"); got != http.StatusOK {
		t.Errorf("beat with the imported key after a refused change: got %d, want 200", got)
	}
	if got := h.beat("imported", "short"); got != http.StatusUnauthorized {
		t.Errorf("beat with the refused key: got %d, want 401", got)
	}
	if n := h.count("services", "serviceId IN ('svc-a','svc-b','svc-e')", nil); n != 0 {
		t.Errorf("services saved with a short key: got %d, want 0", n)
	}
	svc, err := h.app.FindFirstRecordByData("services", "serviceId", "svc-d")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(svc.GetString("apiKey")); got != 40 {
		t.Errorf("key generated for an empty one: got %d characters, want 40", got)
	}
}
