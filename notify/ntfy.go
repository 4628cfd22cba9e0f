package notify

import (
	"encoding/base64"
	"strings"
)

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

func buildNtfy(c Config, m Message) (Request, error) {
	var b strings.Builder
	b.WriteString(m.Summary())
	for _, f := range m.Facts() {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	msg := ntfyMessage{Topic: c.Topic, Title: m.Title(), Message: truncate(strings.TrimSpace(b.String()), 4000), Priority: 3, Click: m.Link()}
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
	req, err := jsonRequest(strings.TrimRight(firstNonEmpty(c.URL, defaultNtfyServer), "/"), msg)
	if err != nil {
		return req, err
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.Username != "" || c.Password != "":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
	}
	return req, nil
}
