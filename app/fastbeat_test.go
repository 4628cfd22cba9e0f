package app

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// served is the monitor run by PocketBase's own apis.Serve on a local port (the real
// OnServe chain, CORS and www redirect included), and PocketBase's router alone (the
// handler the chain's last function built, before the fast path wrapped it) on another.
type served struct {
	s    *server
	fast string // base URL of the running server
	slow string // base URL of PocketBase's router alone
	boom atomic.Bool
}

var servedAt = time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC)

func newServed(t *testing.T) *served {
	t.Helper()
	app, err := newTestApp(t)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ManualEngine = true
	sv := &served{s: register(app, &cfg)}
	sv.s.api.Now = func() time.Time {
		if sv.boom.Load() {
			panic("boom")
		}
		return servedAt
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	router := make(chan http.Handler, 1)
	app.OnServe().BindFunc(func(se *core.ServeEvent) error { // runs inside the monitor's hook
		se.Listener, se.InstallerFunc = ln, nil
		if err := se.Next(); err != nil {
			return err
		}
		router <- se.Server.Handler
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- apis.Serve(app, apis.ServeConfig{HttpAddr: ln.Addr().String()}) }()
	var slow http.Handler
	select {
	case slow = <-router:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	slowSrv := httptest.NewServer(slow)
	t.Cleanup(func() {
		slowSrv.Close()
		app.Cleanup() // OnTerminate: PocketBase shuts its server down
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	sv.fast, sv.slow = "http://"+ln.Addr().String(), slowSrv.URL
	return sv
}

type sentRequest struct {
	method, path, body string
	headers            []string // "Name: value"
}

type reply struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, base string, r sentRequest) reply {
	t.Helper()
	req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for _, hv := range r.headers {
		k, v, _ := strings.Cut(hv, ":")
		if strings.EqualFold(k, "Host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Set(k, strings.TrimSpace(v))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	res.Header.Del("Date")
	return reply{status: res.StatusCode, header: res.Header, body: string(b)}
}

// sameReply fails unless the running server's reply equals PocketBase's router's.
func sameReply(t *testing.T, got, want reply) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("status %d, want %d (the router's)", got.status, want.status)
	}
	if got.body != want.body {
		t.Errorf("body %q, want %q (the router's)", got.body, want.body)
	}
	keys := map[string]bool{}
	for k := range got.header {
		keys[k] = true
	}
	for k := range want.header {
		keys[k] = true
	}
	for k := range keys {
		if !slices.Equal(got.header[k], want.header[k]) {
			t.Errorf("header %s = %q, want %q (the router's)", k, got.header[k], want.header[k])
		}
	}
}

// The fast path answers every request it takes exactly as PocketBase's route does (status,
// every header but Date, body), and leaves the others to the router.
func TestFastBeatRepliesLikeTheRouter(t *testing.T) {
	sv := newServed(t)
	for _, id := range []string{"svc-a", "svc-b"} {
		col, err := sv.s.app.FindCollectionByNameOrId("services")
		if err != nil {
			t.Fatal(err)
		}
		r := core.NewRecord(col)
		r.Set("serviceId", id)
		r.Set("apiKey", "key-"+id)
		if err := sv.s.app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	bash := `{
  "serviceId": "svc-a",
  "status": "up",
  "metadata": {
    "hostname": "host-1",
    "timestamp": "2025-03-01T12:00:00Z"
  },
  "message": "Heartbeat from host-1"
}`
	auth := "Authorization: Bearer key-svc-a"
	curl := []string{"Content-Type: application/json", auth, "User-Agent: curl/8.5.0", "Accept: */*"}
	big := `{"serviceId":"svc-a","message":"` + strings.Repeat("x", 64<<10) + `"}`
	tests := []struct {
		name   string
		req    sentRequest
		status int
		fast   bool
	}{
		{"original bash client", sentRequest{"POST", "/api/heartbeat", bash, curl}, 200, true},
		{"query string", sentRequest{"POST", "/api/heartbeat?x=1", `{"serviceId":"svc-b"}`, []string{"Authorization: Bearer key-svc-b"}}, 200, true},
		{"bad JSON", sentRequest{"POST", "/api/heartbeat", `{"serviceId":`, []string{auth}}, 400, true},
		{"wrong key", sentRequest{"POST", "/api/heartbeat", `{"serviceId":"svc-a"}`, []string{"Authorization: Bearer nope"}}, 401, true},
		{"unknown service", sentRequest{"POST", "/api/heartbeat", `{"serviceId":"svc-z"}`, []string{auth}}, 404, true},
		{"oversized body", sentRequest{"POST", "/api/heartbeat", big, []string{auth}}, 413, true},
		{"GET", sentRequest{"GET", "/api/heartbeat", "", []string{auth}}, 405, false},
		{"browser with Origin", sentRequest{"POST", "/api/heartbeat", `{"serviceId":"svc-b"}`, []string{"Authorization: Bearer key-svc-b", "Origin: https://example.com"}}, 200, false},
		{"preflight", sentRequest{"OPTIONS", "/api/heartbeat", "", []string{"Origin: https://example.com", "Access-Control-Request-Method: POST"}}, 204, false},
		{"www host", sentRequest{"POST", "/api/heartbeat", `{"serviceId":"svc-b"}`, []string{"Authorization: Bearer key-svc-b", "Host: www.127.0.0.1"}}, 307, false},
		{"trailing slash", sentRequest{"POST", "/api/heartbeat/", `{"serviceId":"svc-b"}`, []string{"Authorization: Bearer key-svc-b"}}, 404, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sv.s.fast.taken.Load()
			got := send(t, sv.fast, tt.req)
			taken := sv.s.fast.taken.Load() - before
			want := send(t, sv.slow, tt.req)
			if sv.s.fast.taken.Load() != before+taken {
				t.Fatal("the router alone took the fast path")
			}
			if got.status != tt.status {
				t.Errorf("status %d, want %d", got.status, tt.status)
			}
			if tt.fast != (taken == 1) {
				t.Errorf("fast path taken %d times, want taken=%v", taken, tt.fast)
			}
			sameReply(t, got, want)
		})
	}
}

// A panic in the beat's handler answers 500 with PocketBase's generic error body, as the
// router's panic recovery does, and the server goes on serving.
func TestFastBeatRecoversPanics(t *testing.T) {
	sv := newServed(t)
	col, err := sv.s.app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("serviceId", "svc-a")
	r.Set("apiKey", "key-svc-a")
	if err := sv.s.app.Save(r); err != nil {
		t.Fatal(err)
	}
	req := sentRequest{"POST", "/api/heartbeat", `{"serviceId":"svc-a"}`, []string{"Authorization: Bearer key-svc-a"}}

	sv.boom.Store(true)
	before := sv.s.fast.taken.Load()
	got := send(t, sv.fast, req)
	if sv.s.fast.taken.Load() != before+1 {
		t.Error("the fast path was not taken")
	}
	want := send(t, sv.slow, req)
	sv.boom.Store(false)
	if got.status != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", got.status)
	}
	if wantBody := `{"data":{},"message":"Something went wrong while processing your request.","status":500}`; got.body != wantBody {
		t.Errorf("body %q, want %q", got.body, wantBody)
	}
	sameReply(t, got, want)

	if after := send(t, sv.fast, req); after.status != http.StatusOK {
		t.Errorf("after the panic: status %d %q, want 200", after.status, after.body)
	}
}
