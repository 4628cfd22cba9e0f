package notify

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Pushover takes a form POST: token, user, title, message, url, priority (-2..2; 1 is
// high: it bypasses quiet hours), timestamp. Message is limited to 1024 characters.
func buildPushover(c Config, m Message) Request {
	var b strings.Builder
	b.WriteString(m.Summary())
	for _, f := range m.Facts() {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	form := url.Values{}
	form.Set("token", c.Token)
	form.Set("user", c.User)
	form.Set("title", truncate(m.Title(), 250))
	form.Set("message", truncate(strings.TrimSpace(b.String()), 1024))
	priority := "0"
	if m.Severity() == "critical" {
		priority = "1"
	}
	form.Set("priority", priority)
	if l := m.Link(); l != "" {
		form.Set("url", l)
		form.Set("url_title", "Open")
	}
	if !m.At.IsZero() {
		form.Set("timestamp", strconv.FormatInt(m.At.Unix(), 10))
	}
	if c.Device != "" {
		form.Set("device", c.Device)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return Request{Method: http.MethodPost, URL: firstNonEmpty(c.APIURL, defaultPushoverAPI), Header: h, Body: []byte(form.Encode())}
}
