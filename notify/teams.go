package notify

// Teams is a Microsoft Teams Workflows webhook.
const Teams Type = "teams"

var teamsKind = Kind{Name: Teams, New: func() Settings { return new(teamsSettings) }}

// teamsSettings are a Teams channel's settings.
type teamsSettings struct {
	URL string `json:"url"` // the workflow's "when a webhook request is received" URL
}

// Validate implements Settings.
func (s *teamsSettings) Validate() error {
	return firstError(need("url", s.URL), checkURL("url", s.URL))
}

// BuildRequest implements RequestBuilder.
func (s *teamsSettings) BuildRequest(m Message) (Request, error) {
	return jsonRequest(s.URL, teamsPayload(m))
}

// Microsoft Teams workflow webhooks ("Post to a channel when a webhook request is
// received") take a message whose attachment is an Adaptive Card.
type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"`
	Version string        `json:"version"`
	Body    []teamsBlock  `json:"body"`
	Actions []teamsAction `json:"actions,omitempty"`
}

type teamsBlock struct {
	Type   string      `json:"type"`
	Text   string      `json:"text,omitempty"`
	Weight string      `json:"weight,omitempty"`
	Size   string      `json:"size,omitempty"`
	Color  string      `json:"color,omitempty"`
	Wrap   bool        `json:"wrap,omitempty"`
	Facts  []teamsFact `json:"facts,omitempty"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type teamsAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

func teamsPayload(m Message) teamsMessage {
	color := map[string]string{"critical": "Attention", "warning": "Warning"}[m.Severity()]
	if color == "" {
		color = "Good"
	}
	body := []teamsBlock{{Type: "TextBlock", Text: m.Title(), Weight: "Bolder", Size: "Medium", Color: color, Wrap: true}}
	if s := m.Summary(); s != "" {
		body = append(body, teamsBlock{Type: "TextBlock", Text: s, Wrap: true})
	}
	var facts []teamsFact
	for _, f := range m.Facts() {
		facts = append(facts, teamsFact{Title: f.Label, Value: f.Value})
	}
	if len(facts) > 0 {
		body = append(body, teamsBlock{Type: "FactSet", Facts: facts})
	}
	card := teamsCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body}
	if l := m.Link(); l != "" {
		card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: "Open", URL: l}}
	}
	return teamsMessage{Type: "message", Attachments: []teamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
