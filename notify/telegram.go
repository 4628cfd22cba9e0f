package notify

import (
	"html"
	"strings"
)

// Telegram is a chat a Telegram bot posts to.
const Telegram Type = "telegram"

var telegramKind = Kind{Name: Telegram, New: func() Settings { return new(telegramSettings) }}

// defaultTelegramAPI is Telegram's Bot API; apiUrl overrides it.
const defaultTelegramAPI = "https://api.telegram.org"

// telegramSettings are a Telegram channel's settings.
type telegramSettings struct {
	BotToken string `json:"botToken"`
	ChatID   string `json:"chatId"`
	ThreadID int64  `json:"threadId,omitempty"` // a forum topic
	apiOverride
}

// Validate implements Settings.
func (s *telegramSettings) Validate() error {
	return firstError(need("botToken", s.BotToken), need("chatId", s.ChatID), s.apiOverride.validate())
}

// BuildRequest implements RequestBuilder.
func (s *telegramSettings) BuildRequest(m Message) (Request, error) {
	return jsonRequest(s.api(defaultTelegramAPI)+"/bot"+s.BotToken+"/sendMessage", telegramPayload(s.ChatID, s.ThreadID, m))
}

// Telegram's sendMessage takes {chat_id, text, parse_mode}. The text is HTML, so every
// piece of it from a service is escaped (Telegram understands &lt; &gt; &amp; and
// numeric entities).
type telegramMessage struct {
	ChatID      string           `json:"chat_id"`
	ThreadID    int64            `json:"message_thread_id,omitempty"`
	Text        string           `json:"text"`
	ParseMode   string           `json:"parse_mode"`
	LinkPreview telegramPreviews `json:"link_preview_options"`
}

type telegramPreviews struct {
	IsDisabled bool `json:"is_disabled"`
}

// telegramMax is Telegram's limit on a message's text.
const telegramMax = 4096

func telegramPayload(chatID string, threadID int64, m Message) telegramMessage {
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(m.Title()) + "</b>")
	if s := m.Summary(); s != "" {
		b.WriteString("\n" + html.EscapeString(s))
	}
	if facts := m.Facts(); len(facts) > 0 {
		b.WriteString("\n")
		for _, f := range facts {
			b.WriteString("\n<b>" + html.EscapeString(f.Label) + ":</b> " + html.EscapeString(truncate(f.Value, 1000)))
		}
	}
	if l := m.Link(); l != "" {
		b.WriteString("\n\n<a href=\"" + html.EscapeString(l) + "\">Open</a>")
	}
	text := b.String()
	if len(text) > telegramMax {
		// Cutting HTML could leave a tag open; the plain text is safe to cut.
		text = html.EscapeString(truncate(m.Text(), telegramMax/2))
	}
	return telegramMessage{ChatID: chatID, ThreadID: threadID, Text: text, ParseMode: "HTML", LinkPreview: telegramPreviews{IsDisabled: true}}
}
