package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

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

func buildWebhook(c Config, m Message) (Request, error) {
	req, err := jsonRequest(c.URL, webhookBody{Version: WebhookVersion, Title: m.Title(), Text: m.Text(), Severity: m.Severity(), Message: m})
	if err != nil {
		return req, err
	}
	for _, k := range sortedKeys(c.Headers) {
		req.Header.Set(k, c.Headers[k])
	}
	req.Header.Set("X-Heartbeat-Event", m.Event)
	if c.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(c.Secret, req.Body))
	}
	return req, nil
}

// Sign is the value of SignatureHeader for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
