package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// harness is a fresh app with the monitor registered and served through the real router.
type harness struct {
	t   *testing.T
	app *tests.TestApp
	s   *server
	mux http.Handler
}

func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	app, err := newTestApp(t) // a clone of the migrated template
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	cfg := DefaultConfig()
	cfg.ManualEngine = true // tests step the engine with their own clocks; alert tests turn its loop on
	for _, o := range opts {
		o(&cfg)
	}
	s := register(app, &cfg)
	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, app: app, s: s}
	se := &core.ServeEvent{App: app, Router: router}
	err = app.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		h.mux = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.catchUp()
			mux.ServeHTTP(w, r)
			h.catchUp()
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// OnServe started PocketBase's cron ticker. The tests run the jobs they mean to
	// (from Cron().Jobs()) at their own clock; a tick at a real minute's start would run the
	// staleness pass at a test's fixed time in the middle of what it checks.
	app.Cron().Stop()
	return h
}

// service creates a service through the record API, as an admin would.
func (h *harness) service(serviceID, key string, fields map[string]any) *core.Record {
	h.t.Helper()
	col, err := h.app.FindCollectionByNameOrId("services")
	if err != nil {
		h.t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("serviceId", serviceID)
	r.Set("apiKey", key)
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := h.app.Save(r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// apiKey creates an api_keys record.
func (h *harness) apiKey(key string, scopes []string, services []string, disabled bool) *core.Record {
	h.t.Helper()
	col, err := h.app.FindCollectionByNameOrId("api_keys")
	if err != nil {
		h.t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("name", "key "+key)
	r.Set("key", key)
	r.Set("scopes", scopes)
	r.Set("services", services)
	r.Set("disabled", disabled)
	if err := h.app.Save(r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// authToken returns a PocketBase auth token for a new record of an auth collection.
func (h *harness) authToken(collection string) string {
	h.t.Helper()
	col, err := h.app.FindCollectionByNameOrId(collection)
	if err != nil {
		h.t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.SetEmail(collection + "@example.com")
	r.SetPassword("a-long-password-123")
	if err := h.app.Save(r); err != nil {
		h.t.Fatal(err)
	}
	tok, err := r.NewAuthToken()
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// do sends a request through the router; headers are "Name: value" strings.
func (h *harness) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, req)
	return rec
}

// reloadEngine rebuilds the engine from what is stored, as a start does (the start time
// stays): for tests that write services' facts straight into the database.
func (h *harness) reloadEngine() {
	h.t.Helper()
	if err := h.s.alerts.LoadEngine(); err != nil {
		h.t.Fatal(err)
	}
}

// catchUp steps the engine at the server's clock, as its loop does within milliseconds
// of a deadline or a beat in a running server. The harness's router does it before and
// after every request: a request then sees what it would see there, and the tests stay
// deterministic.
func (h *harness) catchUp() {
	if e := h.s.alerts.Engine(); e != nil {
		e.StepAll(h.s.now().UTC())
	}
}

// beat posts a single beat with the given key and returns the status code.
func (h *harness) beat(serviceID, key string) int {
	h.t.Helper()
	return h.do("POST", "/api/heartbeat", `{"serviceId":"`+serviceID+`"}`, "Authorization: Bearer "+key).Code
}

// count returns the number of rows in table matching where (bound with params).
func (h *harness) count(table, where string, params dbx.Params) int {
	h.t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	if err := h.app.DB().NewQuery(q).Bind(params).Row(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// setClock fixes the server's clock.
func (h *harness) setClock(t time.Time) { h.s.setNow(func() time.Time { return t }) }

func body(r *httptest.ResponseRecorder) string { return r.Body.String() }
