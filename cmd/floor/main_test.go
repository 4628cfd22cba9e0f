package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestHeartbeat(t *testing.T) {
	db, err := openDB(filepath.Join(t.TempDir(), "floor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := newHandler(db, serviceKeys(3))
	if err != nil {
		t.Fatal(err)
	}

	post := func(auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/heartbeat", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	good := `{"serviceId":"svc-00002","status":"up","message":"bench","metadata":{"host":"x"}}`

	rec := post("Bearer bench-key-svc-00002", good)
	if rec.Code != http.StatusOK {
		t.Fatalf("good beat: %d %s", rec.Code, rec.Body)
	}
	var rep reply
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || !rep.Success || rep.Timestamp == "" {
		t.Fatalf("good beat reply %q: %v", rec.Body, err)
	}

	for name, tc := range map[string]struct {
		auth, body string
		code       int
	}{
		"no auth":         {"", good, http.StatusUnauthorized},
		"wrong key":       {"Bearer bench-key-svc-00001", good, http.StatusUnauthorized},
		"unknown service": {"Bearer bench-key-svc-00009", strings.Replace(good, "00002", "00009", 1), http.StatusUnauthorized},
		"bad json":        {"Bearer bench-key-svc-00002", `{"serviceId":`, http.StatusBadRequest},
		"no status":       {"Bearer bench-key-svc-00002", `{"serviceId":"svc-00002"}`, http.StatusBadRequest},
		"too large":       {"Bearer bench-key-svc-00002", `{"message":"` + strings.Repeat("x", maxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		if rec := post(tc.auth, tc.body); rec.Code != tc.code {
			t.Errorf("%s: got %d, want %d (%s)", name, rec.Code, tc.code, rec.Body)
		}
	}

	req := httptest.NewRequest(http.MethodGet, "/count", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := strings.TrimSpace(rec.Body.String()); got != "1" {
		t.Errorf("/count = %q, want 1", got)
	}
}
