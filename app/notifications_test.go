package app

import (
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/notify/smtptest"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestChannelTestRoute(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	ok, refusing := newReceiver(t), newReceiver(t, 400)
	good := h.webhook("good", ok.URL)
	bad := h.webhook("bad", refusing.URL)
	super, user := h.authToken("_superusers"), h.authToken("users")
	tests := []struct {
		name, path, auth string
		code             int
		contains         string
	}{
		{"anonymous", "/api/channels/" + good.Id + "/test", "", 401, ""},
		{"a dashboard user", "/api/channels/" + good.Id + "/test", user, 403, ""},
		{"delivered", "/api/channels/" + good.Id + "/test", super, 200, `{"success":true,"channel":"good","type":"webhook","message":"Test notification sent"}`},
		{"refused by the endpoint", "/api/channels/" + bad.Id + "/test", super, 502, `answered 400`},
		{"unknown channel", "/api/channels/nope/test", super, 404, `"message":"Unknown channel"`},
	}
	for _, tt := range tests {
		var headers []string
		if tt.auth != "" {
			headers = append(headers, "Authorization: "+tt.auth)
		}
		rec := h.do("POST", tt.path, "", headers...)
		if rec.Code != tt.code || !strings.Contains(body(rec), tt.contains) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, rec.Code, body(rec), tt.code, tt.contains)
		}
	}
	if got := ok.wait(t); got.Event != "test" {
		t.Errorf("endpoint got %+v, want a test message", got)
	}
	var rows []notificationRow
	if err := h.app.DB().NewQuery("SELECT channel, incident, event, status, attempts, lastError FROM notifications ORDER BY rowid").All(&rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Status != "sent" || rows[1].Status != "failed" || rows[1].Event != "test" {
		t.Errorf("recorded %+v, want the sent and the failed test", rows)
	}
}

// TestChannelWithStrayKeyStillDelivers: a channel saved when any type's keys were let
// through (a webhook carrying "botToken") keeps delivering after the upgrade; saving it
// again names the key to remove.
func TestChannelWithStrayKeyStillDelivers(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	rc := newReceiver(t)
	ch := h.webhook("legacy", rc.URL)
	_, err := h.app.NonconcurrentDB().NewQuery("UPDATE channels SET config = {:config} WHERE id = {:id}").
		Bind(dbx.Params{"config": `{"botToken":"1:x","apiUrl":"https://proxy.example.com"}`, "id": ch.Id}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	rec := h.do("POST", "/api/channels/"+ch.Id+"/test", "", "Authorization: "+h.authToken("_superusers"))
	if rec.Code != 200 {
		t.Fatalf("test send: %d %s, want 200", rec.Code, body(rec))
	}
	if got := rc.wait(t); got.Event != "test" {
		t.Errorf("endpoint got %+v, want a test message", got)
	}
	r, err := h.app.FindRecordById("channels", ch.Id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.Save(r); err == nil || !strings.Contains(err.Error(), `unknown setting "apiUrl"`) {
		t.Errorf("saving it again: %v, want the stray key named", err)
	}
}

// TestEmailThroughPocketBaseSMTP: an email channel sends through the SMTP settings of
// the admin UI to a real SMTP server started here.
func TestEmailThroughPocketBaseSMTP(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := newHarness(t)
	h.app.OnMailerSend().UnbindAll() // the test app swaps in a mock mailer; this test wants the real SMTP client
	settings := h.app.Settings()
	settings.SMTP.Enabled, settings.SMTP.Host, settings.SMTP.Port = true, srv.Host, srv.Port
	settings.Meta.SenderName, settings.Meta.SenderAddress = "Heartbeat Monitor", "monitor@example.com"
	settings.Meta.AppURL = "https://hm.example.com/"
	if err := h.app.Save(settings); err != nil {
		t.Fatal(err)
	}
	h.channel("mail", "email", map[string]any{"to": []string{"ops@example.com"}}, nil, []string{"down", "up"})
	h.service("db", "k", map[string]any{"stalenessThreshold": 60, "name": "Primary DB"})
	setSeen(t, h, "db", t0, "up")
	h.evaluate(t0.Add(61 * time.Second))

	var got smtptest.Mail
	select {
	case got = <-srv.Mail:
	case <-time.After(10 * time.Second):
		t.Fatalf("no mail; notifications: %+v", h.notifications())
	}
	if got.From != "monitor@example.com" || strings.Join(got.To, ",") != "ops@example.com" {
		t.Errorf("envelope from %s to %v", got.From, got.To)
	}
	d, err := got.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if d.Subject != "🔴 Primary DB is down" || !strings.Contains(d.Header.Get("From"), "Heartbeat Monitor") {
		t.Errorf("subject %q from %q", d.Subject, d.Header.Get("From"))
	}
	for _, s := range []string{"No heartbeat from Primary DB since 2026-11-26 12:00:00 UTC (1m 1s ago).", "Last message: m", "https://hm.example.com/services/db"} {
		if !strings.Contains(d.Parts["text/plain"], s) {
			t.Errorf("text part lacks %q:\n%s", s, d.Parts["text/plain"])
		}
	}
	if !strings.Contains(d.Parts["text/html"], `<a href="https://hm.example.com/services/db">`) {
		t.Errorf("HTML part:\n%s", d.Parts["text/html"])
	}
	waitFor(t, func() bool { n := h.notifications(); return len(n) == 1 && n[0].Status == "sent" })
}

func TestAlertRecordValidation(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	save := func(collection string, fields map[string]any) error {
		col, err := h.app.FindCollectionByNameOrId(collection)
		if err != nil {
			t.Fatal(err)
		}
		r := core.NewRecord(col)
		r.Load(fields)
		return h.app.Save(r)
	}
	a := h.service("a", "k1", nil)
	b := h.service("b", "k2", map[string]any{"dependsOn": []string{a.Id}})
	tests := []struct {
		name       string
		collection string
		fields     map[string]any
		err        string // substring; empty: accepted
	}{
		{"slack channel", "channels", map[string]any{"name": "s", "type": "slack", "secrets": map[string]any{"url": "https://hooks.slack.com/services/x"}}, ""},
		{"slack channel without its URL", "channels", map[string]any{"name": "s2", "type": "slack"}, `needs "url"`},
		{"telegram without a chat", "channels", map[string]any{"name": "tg", "type": "telegram", "secrets": map[string]any{"botToken": "1:x"}}, "chatId"},
		{"slack channel with a telegram key", "channels", map[string]any{"name": "s3", "type": "slack", "secrets": map[string]any{"url": "https://hooks.slack.com/services/z", "botToken": "1:x"}},
			`slack channel: unknown setting "botToken" (slack channels take url, externalAlerts)`},
		{"slack channel with apiUrl", "channels", map[string]any{"name": "s4", "type": "slack", "config": map[string]any{"apiUrl": "https://proxy.example.com"}, "secrets": map[string]any{"url": "https://hooks.slack.com/services/z"}},
			`unknown setting "apiUrl"`},
		{"telegram with apiUrl", "channels", map[string]any{"name": "tg2", "type": "telegram", "config": map[string]any{"chatId": "-100", "apiUrl": "https://proxy.example.com"}, "secrets": map[string]any{"botToken": "1:x"}}, ""},
		{"a type the registry lacks", "channels", map[string]any{"name": "sms", "type": "sms", "config": map[string]any{}}, "type"},
		{"a second channel of the same name", "channels", map[string]any{"name": "S", "type": "slack", "secrets": map[string]any{"url": "https://hooks.slack.com/services/y"}}, "name"},
		{"weekly window", "maintenance", map[string]any{"name": "w", "kind": "weekly", "weekdays": []string{"sun"}, "startTime": "02:00", "durationMinutes": 60, "timezone": "Europe/Berlin"}, ""},
		{"weekly window in an unknown zone", "maintenance", map[string]any{"name": "w", "kind": "weekly", "weekdays": []string{"sun"}, "startTime": "02:00", "durationMinutes": 60, "timezone": "Mars/Olympus"}, "time zone"},
		{"weekly window without days", "maintenance", map[string]any{"name": "w", "kind": "weekly", "startTime": "02:00", "durationMinutes": 60}, "at least one day"},
		{"one-off window ending before it starts", "maintenance", map[string]any{"name": "o", "kind": "once", "startsAt": t0, "endsAt": t0.Add(-time.Hour)}, "end after its start"},
		{"one-off window", "maintenance", map[string]any{"name": "o", "kind": "once", "startsAt": t0, "endsAt": t0.Add(time.Hour)}, ""},
	}
	for _, tt := range tests {
		err := save(tt.collection, tt.fields)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v, want an error with %s", tt.name, err, tt.err)
		}
	}
	a.Set("dependsOn", []string{b.Id})
	if err := h.app.Save(a); err == nil || !strings.Contains(err.Error(), "cannot depend on itself") {
		t.Errorf("a dependency cycle: %v, want it refused", err)
	}
	b.Set("dependsOn", []string{b.Id})
	if err := h.app.Save(b); err == nil {
		t.Error("a service depending on itself was accepted")
	}
	var events string
	if err := h.app.DB().NewQuery("SELECT events FROM channels WHERE name = 's'").Row(&events); err != nil || events != `["down","up","degraded","reminder"]` {
		t.Errorf("default events %s (%v)", events, err)
	}
}
