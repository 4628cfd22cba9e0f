package notify

import (
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/notify/smtptest"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// TestSendEmailOverSMTP sends through PocketBase's SMTP client to a real SMTP server
// started here, and reads back what arrived.
func TestSendEmailOverSMTP(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := &Sender{
		Mailer: func() Mailer { return &mailer.SMTPClient{Host: srv.Host, Port: srv.Port} },
		From:   func() mail.Address { return mailAddress("Heartbeat Monitor", "hm@example.com") },
	}
	ch := Channel{Type: Email, Settings: &emailSettings{To: []string{"ops@example.com", "oncall@example.com"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, ch, down); err != nil {
		t.Fatal(err)
	}
	var got smtptest.Mail
	select {
	case got = <-srv.Mail:
	case <-ctx.Done():
		t.Fatal("no mail arrived")
	}
	if got.From != "hm@example.com" || strings.Join(got.To, ",") != "ops@example.com,oncall@example.com" {
		t.Errorf("envelope: got from %q to %v", got.From, got.To)
	}
	d, err := got.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if d.Subject != down.Title() {
		t.Errorf("subject: got %q, want %q", d.Subject, down.Title())
	}
	if text := d.Parts["text/plain"]; !strings.Contains(text, "No heartbeat from Primary DB since 2025-11-26 11:54:00 UTC") || !strings.Contains(text, "https://hm.example.com/services/db-1") {
		t.Errorf("plain text part:\n%s", text)
	}
	if html := d.Parts["text/html"]; !strings.Contains(html, "disk &lt;90% &amp;") || !strings.Contains(html, "<table") {
		t.Errorf("HTML part:\n%s", html)
	}
}

func TestSendEmailSMTPDown(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // nothing listens on the port any more
	s := &Sender{Mailer: func() Mailer { return &mailer.SMTPClient{Host: srv.Host, Port: srv.Port} }}
	err = s.Send(context.Background(), Channel{Type: Email, Settings: &emailSettings{To: []string{"ops@example.com"}}}, down)
	if o := DefaultPolicy.Next(1, err, at); err == nil || o.Status != StatusPending {
		t.Errorf("got %v (%s), want a retryable error", err, o.Status)
	}
}
