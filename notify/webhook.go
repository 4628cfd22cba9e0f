package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Webhook is the generic webhook: the message as JSON in a documented schema (see
// README), optionally signed.
const Webhook Type = "webhook"

var webhookKind = Kind{Name: Webhook, New: func() Settings { return new(webhookSettings) }}

// webhookSettings are a webhook channel's settings.
type webhookSettings struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"` // extra request headers
	Secret  string            `json:"secret,omitempty"`  // HMAC-SHA256 key of SignatureHeader
}

// Validate implements Settings.
func (s *webhookSettings) Validate() error {
	errs := []error{need("url", s.URL), checkURL("url", s.URL)}
	for _, k := range sortedKeys(s.Headers) {
		if k == "" || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(s.Headers[k], "\r\n") {
			errs = append(errs, fmt.Errorf("header %q is not a valid header", k))
		}
	}
	return firstError(errs...)
}

// SignatureHeader carries the HMAC-SHA256 of a webhook body, keyed with the channel's
// secret, as "sha256=<hex>". Receivers recompute it over the raw body and compare in
// constant time; the body has the time it was made ("at"), so a replay is visible.
const SignatureHeader = "X-Heartbeat-Signature"

// WebhookVersion is the version of the generic webhook's body schema (see README).
const WebhookVersion = 1

// webhookBody is the generic webhook's JSON: the message's fields plus its rendering,
// so a receiver can forward title and text as they are or use the fields.
type webhookBody struct {
	Version  int    `json:"version"`
	Title    string `json:"title"`
	Text     string `json:"text"`
	Severity string `json:"severity"`
	Message
}

// BuildRequest implements RequestBuilder.
func (s *webhookSettings) BuildRequest(m Message) (Request, error) {
	req, err := jsonRequest(s.URL, webhookBody{Version: WebhookVersion, Title: m.Title(), Text: m.Text(), Severity: m.Severity(), Message: m})
	if err != nil {
		return req, err
	}
	for _, k := range sortedKeys(s.Headers) {
		req.Header.Set(k, s.Headers[k])
	}
	req.Header.Set("X-Heartbeat-Event", m.Event)
	if s.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(s.Secret, req.Body))
	}
	return req, nil
}

// Sign is the value of SignatureHeader for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
