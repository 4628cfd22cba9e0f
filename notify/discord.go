package notify

import "time"

// Discord is a Discord channel webhook.
const Discord Type = "discord"

var discordKind = Kind{Name: Discord, New: func() Settings { return new(discordSettings) }}

// discordSettings are a Discord channel's settings.
type discordSettings struct {
	URL      string `json:"url"`                // the channel webhook's URL
	Username string `json:"username,omitempty"` // overrides the webhook's name
}

// Validate implements Settings.
func (s *discordSettings) Validate() error {
	return firstError(need("url", s.URL), checkURL("url", s.URL))
}

// BuildRequest implements RequestBuilder.
func (s *discordSettings) BuildRequest(m Message) (Request, error) {
	return jsonRequest(s.URL, discordPayload(s.Username, m))
}

// Discord webhooks take {content?, username?, embeds[]}; mentions are turned off, so a
// service's message cannot ping @everyone.
type discordField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

type discordEmbed struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	URL         string         `json:"url,omitempty"`
	Color       int            `json:"color"`
	Fields      []discordField `json:"fields,omitempty"`
	Timestamp   string         `json:"timestamp,omitempty"`
	Footer      *discordFooter `json:"footer,omitempty"`
}

type discordFooter struct {
	Text string `json:"text"`
}

type discordMessage struct {
	Username        string               `json:"username,omitempty"`
	Embeds          []discordEmbed       `json:"embeds"`
	AllowedMentions discordAllowMentions `json:"allowed_mentions"`
}

type discordAllowMentions struct {
	Parse []string `json:"parse"`
}

func discordPayload(username string, m Message) discordMessage {
	e := discordEmbed{
		Title: truncate(m.Title(), 256), Description: truncate(m.Summary(), 4096), URL: m.Link(), Color: m.color(),
		Footer: &discordFooter{Text: "Heartbeat Monitor"},
	}
	if !m.At.IsZero() {
		e.Timestamp = m.At.UTC().Format(time.RFC3339)
	}
	for _, f := range m.Facts() {
		if len(e.Fields) == 25 { // Discord's limit
			break
		}
		e.Fields = append(e.Fields, discordField{Name: truncate(f.Label, 256), Value: truncate(f.Value, 1024), Inline: len(f.Value) < 40})
	}
	return discordMessage{Username: username, Embeds: []discordEmbed{e}, AllowedMentions: discordAllowMentions{Parse: []string{}}}
}
