package app

import (
	"reflect"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
)

// TestStartupLoadMatchesStoredState: the start-up reads the services and their states in
// two scans and joins them in the engine's loader; what a restarted server then shows
// for each service (state, since, last beat, reported status, message, settings, open
// incident) is what the server showed before the restart: beaten up, reported down with
// an incident open, never beaten, paused.
func TestStartupLoadMatchesStoredState(t *testing.T) {
	h := newHarness(t)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	h.setClock(t0)
	h.service("up-svc", "key-up-0123456789abc", map[string]any{"name": "Up", "group": "g1"})
	h.service("down-svc", "key-down-0123456789ab", map[string]any{"group": "g2", "stalenessThreshold": 60})
	h.service("never-svc", "key-never-0123456789a", nil)
	h.service("paused-svc", "key-paused-012345678", map[string]any{"paused": true})
	if c := h.beat("up-svc", "key-up-0123456789abc"); c != 200 {
		t.Fatalf("beat: %d", c)
	}
	if c := h.do("POST", "/api/heartbeat", `{"serviceId":"down-svc","status":"down","message":"disk full"}`,
		"Authorization: Bearer key-down-0123456789ab").Code; c != 200 {
		t.Fatalf("down beat: %d", c)
	}
	h.setClock(t0.Add(10 * time.Second))
	h.catchUp()
	if n := h.count("incidents", "endedAt = ''", nil); n != 1 {
		t.Fatalf("%d open incidents before the restart, want 1", n)
	}
	views := func() map[string]engine.View {
		out := map[string]engine.View{}
		h.s.alerts.Engine().Each(func(v engine.View) bool { out[v.ServiceID] = v; return true })
		return out
	}
	want := views() // what the running server shows, from its own beats and transitions
	var keys []ingest.ServiceKey
	if err := h.s.alerts.Preload(0, func(k ingest.ServiceKey) { keys = append(keys, k) }); err != nil {
		t.Fatal(err)
	}
	h.reloadEngine() // takes what Preload read, as the start-up does
	h.catchUp()      // and evaluates every service once, as its loop does at once
	got := views()
	if len(got) != 4 || len(keys) != 4 {
		t.Fatalf("start-up load: %d services and %d keys, want 4 of each", len(got), len(keys))
	}
	for sid, w := range want {
		if g := got[sid]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s after the start-up load:\n %+v\nwant\n %+v", sid, g, w)
		}
	}
	if d := got["down-svc"]; d.State != "down" || d.LastMessage != "disk full" || d.Open == nil {
		t.Errorf("down-svc after the start-up load: %+v, want down with its message and open incident", d)
	}
	if u := got["up-svc"]; u.State != "up" || u.Model.LastSeen.IsZero() {
		t.Errorf("up-svc after the start-up load: %+v, want up with its last beat", u)
	}
}
