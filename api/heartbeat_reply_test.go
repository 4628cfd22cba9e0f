package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// TestBeatReceivedReply: the single beat's 200 reply is the seed's compact JSON, with its
// headers, and costs the hot path at most three allocations (the reply and two header
// values; through the JSON encoder it cost eight).
func TestBeatReceivedReply(t *testing.T) {
	at := time.Date(2026, 11, 30, 18, 4, 5, 678_000_000, time.UTC)
	newEvent := func() (*core.RequestEvent, *httptest.ResponseRecorder) {
		rec := httptest.NewRecorder()
		e := &core.RequestEvent{}
		e.Response = rec
		e.Request = httptest.NewRequest(http.MethodPost, "/api/heartbeat", nil)
		return e, rec
	}
	e, rec := newEvent()
	if err := beatReceived(e, at); err != nil {
		t.Fatal(err)
	}
	want := `{"success":true,"message":"Heartbeat received","timestamp":"2026-11-30T18:04:05.678Z"}`
	if got := rec.Body.String(); got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
	if rec.Code != http.StatusOK {
		t.Errorf("status %d, want 200", rec.Code)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}

	e, _ = newEvent()
	allocs := testing.AllocsPerRun(100, func() {
		e.Response.(*httptest.ResponseRecorder).Body.Reset()
		if err := beatReceived(e, at); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("%.0f allocations a reply, want at most 3", allocs)
	}
}
