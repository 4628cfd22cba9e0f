package notify

import (
	"encoding/base64"
	"strings"
)

// Ntfy is a topic of an ntfy server (ntfy.sh or a self-hosted one).
const Ntfy Type = "ntfy"

var ntfyKind = Kind{Name: Ntfy, New: func() Settings { return new(ntfySettings) }}

// defaultNtfyServer is the public server; url overrides it.
const defaultNtfyServer = "https://ntfy.sh"

// ntfySettings are an ntfy channel's settings.
type ntfySettings struct {
	Topic    string `json:"topic"`
	URL      string `json:"url,omitempty"`   // the server
	Token    string `json:"token,omitempty"` // an access token; or basic auth:
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// Validate implements Settings.
func (s *ntfySettings) Validate() error {
	return firstError(need("topic", s.Topic), checkURL("url", s.URL))
}

// ntfy takes a JSON publish at the server's root: {topic, title, message, priority,
// tags, click}. Priority 5 is max, 3 the default.
type ntfyMessage struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Priority int      `json:"priority"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
}

// BuildRequest implements RequestBuilder.
func (s *ntfySettings) BuildRequest(m Message) (Request, error) {
	var b strings.Builder
	b.WriteString(m.Summary())
	for _, f := range m.Facts() {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	msg := ntfyMessage{Topic: s.Topic, Title: m.Title(), Message: truncate(strings.TrimSpace(b.String()), 4000), Priority: 3, Click: m.Link()}
	switch m.Severity() {
	case "critical":
		msg.Priority, msg.Tags = 5, []string{"rotating_light"}
	case "warning":
		msg.Priority, msg.Tags = 4, []string{"warning"}
	default:
		if m.Event == "up" {
			msg.Tags = []string{"white_check_mark"}
		}
	}
	req, err := jsonRequest(strings.TrimRight(firstNonEmpty(s.URL, defaultNtfyServer), "/"), msg)
	if err != nil {
		return req, err
	}
	switch {
	case s.Token != "":
		req.Header.Set("Authorization", "Bearer "+s.Token)
	case s.Username != "" || s.Password != "":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.Username+":"+s.Password)))
	}
	return req, nil
}
