package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// healthNotifications reads the canary's field of GET /api/health.
func healthNotifications(t *testing.T, h *harness) (failing bool, since string) {
	t.Helper()
	rec := h.do("GET", "/api/health", "")
	var reply struct {
		Code int `json:"code"`
		Data struct {
			Notifications *struct {
				Failing      bool   `json:"failing"`
				FailingSince string `json:"failingSince"`
			} `json:"notifications"`
		} `json:"data"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &reply) != nil || reply.Code != 200 || reply.Data.Notifications == nil {
		t.Fatalf("GET /api/health: %d %s, want PocketBase's reply with data.notifications", rec.Code, rec.Body.String())
	}
	return reply.Data.Notifications.Failing, reply.Data.Notifications.FailingSince
}

// TestCanaryOnHealthDashboardAndOtherChannels: the only channel of down alerts answers
// 500 every time. Once every delivery has failed for the canary's window, GET
// /api/health says notifications are failing, the dashboard's header warns (naming the
// channel), and the channel that had no part in the failing alert gets the canary's
// notice (the failing one does not). An alert delivered on that other channel clears
// all of it.
func TestCanaryOnHealthDashboardAndOtherChannels(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CanaryAfter = time.Millisecond })
	broken, spare := newReceiver(t, 500), newReceiver(t)
	db := h.service("db", "k", map[string]any{"interval": 10, "stalenessThreshold": 30})
	web := h.service("web", "k2", map[string]any{"interval": 10, "stalenessThreshold": 30})
	h.channel("pager", "webhook", nil, map[string]any{"url": broken.URL}, []string{"down"}, db.Id)
	h.channel("spare", "webhook", nil, map[string]any{"url": spare.URL}, []string{"down"}, web.Id)
	h.person("users", "ops@example.com")
	b := newBrowser(h, "10.0.0.7")
	if rec := b.login("ops@example.com", dashPassword); rec.Code/100 == 4 {
		t.Fatalf("login: %d", rec.Code)
	}
	header := func() string {
		t.Helper()
		rec := b.send("GET", "/", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /: %d", rec.Code)
		}
		return rec.Body.String()
	}
	if failing, _ := healthNotifications(t, h); failing {
		t.Fatal("health says notifications are failing before any was due")
	}
	if page := header(); strings.Contains(page, `id="canary"`) {
		t.Fatal("the header warns before any notification was due")
	}

	setSeen(t, h, "db", t0, "up")
	setSeen(t, h, "web", t0.Add(20*time.Second), "up")
	h.evaluate(t0.Add(31 * time.Second)) // db is down: queued for pager alone, which fails
	notice := spare.wait(t)
	if notice.Event != "external" || !strings.Contains(notice.Title, "Notifications are failing") || !strings.Contains(notice.Body, "pager") {
		t.Fatalf("spare got %+v, want the canary's notice naming pager", notice)
	}
	if failing, since := healthNotifications(t, h); !failing || since == "" {
		t.Errorf("health: failing %v since %q, want failing with a time", failing, since)
	}
	if page := header(); !strings.Contains(page, `id="canary"`) || !strings.Contains(page, "Notifications are failing.") || !strings.Contains(page, "pager") {
		t.Errorf("the header does not warn, naming pager: %s", page)
	}
	for _, e := range broken.events() {
		if e != "down" {
			t.Errorf("pager got %q, want only its down alert (the canary's notice goes elsewhere)", e)
		}
	}

	h.evaluate(t0.Add(51 * time.Second)) // web is down: its alert goes to spare, and is delivered
	if got := spare.wait(t); got.Event != "down" || !strings.Contains(got.Title, "web") {
		t.Fatalf("spare got %+v, want web's down alert", got)
	}
	waitFor(t, func() bool { failing, _ := healthNotifications(t, h); return !failing })
	if page := header(); strings.Contains(page, `id="canary"`) {
		t.Error("the header still warns after a delivery")
	}
}
