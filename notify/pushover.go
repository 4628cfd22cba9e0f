package notify

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Pushover is a Pushover user or group.
const Pushover Type = "pushover"

var pushoverKind = Kind{Name: Pushover, New: func() Settings { return new(pushoverSettings) }}

// defaultPushoverAPI is Pushover's message API; apiUrl overrides it.
const defaultPushoverAPI = "https://api.pushover.net/1/messages.json"

// pushoverSettings are a Pushover channel's settings.
type pushoverSettings struct {
	Token  string `json:"token"` // the application's token
	User   string `json:"user"`  // a user or group key
	Device string `json:"device,omitempty"`
	apiOverride
}

// Validate implements Settings.
func (s *pushoverSettings) Validate() error {
	return firstError(need("token", s.Token), need("user", s.User), s.apiOverride.validate())
}

// BuildRequest implements RequestBuilder. Pushover takes a form POST: token, user, title, message, url, priority (-2..2; 1 is
// high: it bypasses quiet hours), timestamp. Message is limited to 1024 characters.
func (s *pushoverSettings) BuildRequest(m Message) (Request, error) {
	var b strings.Builder
	b.WriteString(m.Summary())
	for _, f := range m.Facts() {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	form := url.Values{}
	form.Set("token", s.Token)
	form.Set("user", s.User)
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
	if s.Device != "" {
		form.Set("device", s.Device)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return Request{Method: http.MethodPost, URL: s.api(defaultPushoverAPI), Header: h, Body: []byte(form.Encode())}, nil
}
