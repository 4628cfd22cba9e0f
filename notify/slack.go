package notify

import "strings"

// Slack is a Slack incoming webhook.
const Slack Type = "slack"

var slackKind = Kind{Name: Slack, New: func() Settings { return new(slackSettings) }}

// slackSettings are a Slack channel's settings.
type slackSettings struct {
	URL string `json:"url"` // the incoming webhook's URL
}

// Validate implements Settings.
func (s *slackSettings) Validate() error {
	return firstError(need("url", s.URL), checkURL("url", s.URL))
}

// BuildRequest implements RequestBuilder.
func (s *slackSettings) BuildRequest(m Message) (Request, error) {
	return jsonRequest(s.URL, slackPayload(m))
}

// Slack incoming webhooks take {text, blocks}: text is the notification's fallback,
// blocks the rendered message (mrkdwn, in which &, < and > must be escaped).
type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type   string      `json:"type"`
	Text   *slackText  `json:"text,omitempty"`
	Fields []slackText `json:"fields,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackPayload(m Message) slackMessage {
	title := "*" + slackEscaper.Replace(m.Title()) + "*"
	if l := m.Link(); l != "" {
		title = "*<" + slackEscaper.Replace(l) + "|" + slackEscaper.Replace(m.Title()) + ">*"
	}
	if s := m.Summary(); s != "" {
		title += "\n" + slackEscaper.Replace(s)
	}
	blocks := []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(title, 3000)}}}
	var fields []slackText
	for _, f := range m.Facts() {
		if len(fields) == 10 { // Slack's limit per section
			break
		}
		fields = append(fields, slackText{Type: "mrkdwn", Text: truncate("*"+slackEscaper.Replace(f.Label)+"*\n"+slackEscaper.Replace(f.Value), 2000)})
	}
	if len(fields) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Fields: fields})
	}
	return slackMessage{Text: m.Title(), Blocks: blocks}
}
