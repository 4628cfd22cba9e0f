package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/mailer"
)

// Mailer sends an email; PocketBase's app.NewMailClient() is one.
type Mailer interface {
	Send(m *mailer.Message) error
}

// Sender delivers one message through one channel: it builds the payload and does the
// HTTP or SMTP call. It keeps no state between sends.
type Sender struct {
	Client *http.Client
	// Mailer returns the mail client of the moment (SMTP settings can change at any
	// time in the admin UI); From the sender address.
	Mailer func() Mailer
	From   func() mail.Address
}

// Error is a failed delivery, with what the retry policy needs to know about it.
type Error struct {
	Status     int           // the HTTP status, 0 when no answer came
	RetryAfter time.Duration // what a 429 or 503 asked for
	Permanent  bool          // retrying cannot help: a 4xx other than 429, a bad setting
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent wraps err as a failure retrying cannot mend.
func Permanent(err error) error { return &Error{Permanent: true, Err: err} }

// RequestBuilder is the Settings of a type delivered over HTTP.
type RequestBuilder interface {
	Settings
	// BuildRequest makes, without any I/O, the request that delivers m.
	BuildRequest(m Message) (Request, error)
}

// MailBuilder is the Settings of a type delivered by email.
type MailBuilder interface {
	Settings
	// BuildMail makes, without any I/O, the email from from that delivers m.
	BuildMail(m Message, from mail.Address) (*mailer.Message, error)
}

// Send delivers m through ch.
func (s *Sender) Send(ctx context.Context, ch Channel, m Message) error {
	switch b := ch.Settings.(type) {
	case MailBuilder:
		return s.sendEmail(ctx, b, m)
	case RequestBuilder:
		req, err := b.BuildRequest(m)
		if err != nil {
			return Permanent(err)
		}
		return s.do(ctx, req)
	}
	return Permanent(fmt.Errorf("notify: %s channel %q has no payload builder", ch.Type, ch.Name))
}

func (s *Sender) do(ctx context.Context, r Request) error {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Permanent(fmt.Errorf("notify: request: %w", err))
	}
	req.Header = r.Header.Clone()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "HeartbeatMonitor/1")
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return &Error{Err: fmt.Errorf("notify: post: %w", redact(err, r.URL))}
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 512)) // best effort: only for the error text
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: res.StatusCode, Err: fmt.Errorf("notify: %s answered %d: %s", host(r.URL), res.StatusCode, strings.TrimSpace(string(snippet)))}
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		e.RetryAfter = retryAfter(res.Header.Get("Retry-After"))
	case res.StatusCode >= 400 && res.StatusCode < 500:
		e.Permanent = true
	}
	return e
}

func (s *Sender) sendEmail(ctx context.Context, b MailBuilder, m Message) error {
	if s.Mailer == nil {
		return Permanent(errors.New("notify: email is not set up"))
	}
	var from mail.Address
	if s.From != nil {
		from = s.From()
	}
	msg, err := b.BuildMail(m, from)
	if err != nil {
		return Permanent(err)
	}
	// The mail client takes no context; run it aside so a hung server cannot hold a
	// delivery past ctx.
	done := make(chan error, 1)
	go func() { done <- s.Mailer().Send(msg) }()
	select {
	case err := <-done:
		if err != nil {
			return &Error{Err: fmt.Errorf("notify: send email: %w", err)}
		}
		return nil
	case <-ctx.Done():
		return &Error{Err: fmt.Errorf("notify: send email: %w", ctx.Err())}
	}
}

// retryAfter reads a Retry-After in seconds (the HTTP-date form is rare from APIs).
func retryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// host is the part of a URL safe to show: webhook URLs carry their secret in the path.
func host(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	return "the endpoint"
}

// redact removes the URL (and so any token in it) from an error message.
func redact(err error, url string) error {
	msg := strings.ReplaceAll(err.Error(), url, host(url))
	return errors.New(msg)
}
