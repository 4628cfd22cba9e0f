package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// alertsDetectionTarget is the bound: an alert is on its way within 10 s of a
// service's threshold passing.
const alertsDetectionTarget = 10 * time.Second

// alertsHook is a local webhook receiver that timestamps what arrives.
type alertsHook struct {
	*httptest.Server
	got chan alertsDelivery
}

type alertsDelivery struct {
	at        time.Time
	event     string
	incident  string
	title     string
	signature string
	body      []byte
}

func newAlertsHook(t *testing.T) *alertsHook {
	h := &alertsHook{got: make(chan alertsDelivery, 16)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var v struct {
			Event      string `json:"event"`
			IncidentID string `json:"incidentId"`
			Title      string `json:"title"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.got <- alertsDelivery{at: time.Now(), event: v.Event, incident: v.IncidentID, title: v.Title, signature: r.Header.Get("X-Heartbeat-Signature"), body: body}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *alertsHook) next(t *testing.T, within time.Duration) alertsDelivery {
	t.Helper()
	select {
	case d := <-h.got:
		return d
	case <-time.After(within):
		t.Fatalf("no notification within %v", within)
	}
	return alertsDelivery{}
}

// alertsBeat sends one beat and returns the time the server stamped it with.
func alertsBeat(t *testing.T, s *server, serviceID, key string) time.Time {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/heartbeat", bytes.NewReader([]byte(`{"serviceId":"`+serviceID+`"}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Success   bool   `json:"success"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || !reply.Success {
		t.Fatalf("beat: HTTP %d %+v %v", resp.StatusCode, reply, err)
	}
	at, err := time.Parse(time.RFC3339Nano, reply.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestAlertsEndToEnd runs the real binary: a service stops beating, a local webhook
// receives the down alert within the detection target of the threshold passing; the
// service beats again and the recovery of the same incident arrives. Three rounds, to
// report the latency the monitor achieves.
func TestAlertsEndToEnd(t *testing.T) {
	const threshold = 2 * time.Second
	hook := newAlertsHook(t)
	var svc serviceRecord
	err := shared.api(http.MethodPost, "/api/collections/services/records", map[string]any{
		"serviceId": "alerts-e2e", "apiKey": "alerts-e2e-key-0123456789", "interval": 1, "stalenessThreshold": int(threshold.Seconds()),
	}, &svc)
	if err != nil {
		t.Fatal(err)
	}
	var channel struct {
		ID string `json:"id"`
	}
	err = shared.api(http.MethodPost, "/api/collections/channels/records", map[string]any{
		"name": "alerts-e2e-webhook", "type": "webhook", "events": []string{"down", "up"}, "services": []string{svc.ID},
		"secrets": map[string]any{"url": hook.URL, "secret": "alerts-e2e-secret"},
	}, &channel)
	if err != nil {
		t.Fatal(err)
	}

	var latencies []time.Duration
	for round := 1; round <= 3; round++ {
		last := alertsBeat(t, shared, "alerts-e2e", "alerts-e2e-key-0123456789")
		due := last.Add(threshold) // the service is down from here on
		down := hook.next(t, threshold+alertsDetectionTarget+5*time.Second)
		if down.event != "down" || down.incident == "" {
			t.Fatalf("round %d: got %q (%s), want a down alert", round, down.event, down.title)
		}
		if down.at.Before(due) {
			t.Errorf("round %d: the alert came %v before the threshold passed", round, due.Sub(down.at))
		}
		latency := down.at.Sub(due)
		latencies = append(latencies, latency)
		t.Logf("round %d: down alert received %v after the threshold passed (%s)", round, latency.Round(time.Millisecond), down.title)
		if latency > alertsDetectionTarget {
			t.Errorf("round %d: detection latency %v, want at most %v", round, latency, alertsDetectionTarget)
		}
		mac := hmac.New(sha256.New, []byte("alerts-e2e-secret"))
		mac.Write(down.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(down.signature), []byte(want)) {
			t.Errorf("round %d: signature %q, want %q", round, down.signature, want)
		}

		back := alertsBeat(t, shared, "alerts-e2e", "alerts-e2e-key-0123456789")
		up := hook.next(t, alertsDetectionTarget+5*time.Second)
		if up.event != "up" || up.incident != down.incident {
			t.Fatalf("round %d: got %q for incident %s, want the recovery of %s", round, up.event, up.incident, down.incident)
		}
		t.Logf("round %d: recovery received %v after the beat", round, up.at.Sub(back).Round(time.Millisecond))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("detection latency over %d rounds: min %v, median %v, max %v", len(latencies),
		latencies[0].Round(time.Millisecond), latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	// Quiet from here on, while other tests share the server.
	if err := shared.api(http.MethodDelete, "/api/collections/channels/records/"+channel.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := shared.api(http.MethodPatch, "/api/collections/services/records/"+svc.ID, map[string]any{"paused": true}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAlertsRestart stops the monitor while an alert is waiting for a retry and while
// another service is healthy, keeps it down longer than that service's threshold, and
// starts it again: the waiting alert is delivered, nothing is alerted twice, and the
// healthy service, which beats again soon after the start, is not alerted at all.
func TestAlertsRestart(t *testing.T) {
	dir := t.TempDir() + "/data"
	srv, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	got := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			Event     string `json:"event"`
			ServiceID string `json:"serviceId"`
		}
		_ = json.NewDecoder(r.Body).Decode(&v) // the event is all this test reads
		code := int(status.Load())
		w.WriteHeader(code)
		got <- fmt.Sprintf("%s %s %d", v.ServiceID, v.Event, code)
	}))
	defer hook.Close()
	for _, s := range []map[string]any{
		{"serviceId": "alerts-flaky", "apiKey": "alerts-flaky-key", "interval": 1, "stalenessThreshold": 2},
		{"serviceId": "alerts-steady", "apiKey": "alerts-steady-key", "interval": 1, "stalenessThreshold": 4},
	} {
		if err := srv.api(http.MethodPost, "/api/collections/services/records", s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.api(http.MethodPost, "/api/collections/channels/records", map[string]any{
		"name": "hook", "type": "webhook", "events": []string{"down", "up"}, "secrets": map[string]any{"url": hook.URL},
	}, nil); err != nil {
		t.Fatal(err)
	}
	alertsBeat(t, srv, "alerts-flaky", "alerts-flaky-key")
	stopBeating := alertsKeepBeating(srv, "alerts-steady", "alerts-steady-key")
	alertsExpect(t, got, "alerts-flaky down 503", 10*time.Second) // the first attempt fails: pending, retried in 10 s
	stopBeating()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	status.Store(http.StatusOK)
	time.Sleep(5 * time.Second) // the monitor is away past alerts-steady's threshold
	srv, err = startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.stop(); err != nil {
			t.Error(err)
		}
	}()
	// alerts-steady's client takes a while to notice the monitor is back: the first
	// evaluations (every 2 s from the start) see it quiet for longer than its threshold.
	time.Sleep(2500 * time.Millisecond)
	defer alertsKeepBeating(srv, "alerts-steady", "alerts-steady-key")()
	alertsExpect(t, got, "alerts-flaky down 200", 20*time.Second)
	select {
	case extra := <-got:
		t.Errorf("after the restart: got %q, want nothing more", extra)
	case <-time.After(4 * time.Second):
	}
}

// alertsKeepBeating beats a service every half second until the returned func is called.
func alertsKeepBeating(s *server, serviceID, key string) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			req, err := http.NewRequest(http.MethodPost, s.URL+"/api/heartbeat", bytes.NewReader([]byte(`{"serviceId":"`+serviceID+`"}`)))
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+key)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
			select {
			case <-quit:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return func() { close(quit); <-done }
}

func alertsExpect(t *testing.T, got chan string, want string, within time.Duration) {
	t.Helper()
	select {
	case g := <-got:
		if g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	case <-time.After(within):
		t.Fatalf("no %q within %v", want, within)
	}
}
