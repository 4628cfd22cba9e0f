package notify

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		typ             Type
		config, secrets string
		err             string // substring; empty: valid
	}{
		{Webhook, `{"headers":{"X-A":"1"}}`, `{"url":"https://example.com/h","secret":"k"}`, ""},
		{Webhook, `{}`, ``, `needs "url"`},
		{Webhook, `{"url":"ftp://example.com"}`, ``, "not an http(s) URL"},
		{Webhook, `{"url":"https://e.com","headers":{"Bad Name":"x"}}`, ``, "not a valid header"},
		{Slack, ``, `{"url":"https://hooks.slack.com/services/x"}`, ""},
		{Discord, `{"url":"https://discord.com/api/webhooks/1/x","username":"hm"}`, ``, ""},
		{Teams, `{"url":"not a url"}`, ``, "not an http(s) URL"},
		{Telegram, `{"chatId":"-100"}`, `{"botToken":"1:x"}`, ""},
		{Telegram, `{"chatId":"-100"}`, ``, `needs "botToken"`},
		{Ntfy, `{"topic":"t","url":"https://ntfy.example.com"}`, `{"token":"tk"}`, ""},
		{Ntfy, `{}`, ``, `needs "topic"`},
		{Pushover, ``, `{"token":"a","user":"u"}`, ""},
		{PagerDuty, ``, `{"routingKey":"r"}`, ""},
		{PagerDuty, `{"routingKey":""}`, ``, `needs "routingKey"`},
		{Email, `{"to":["ops@example.com"]}`, ``, ""},
		{Email, `{"to":["nope"]}`, ``, "not an email address"},
		{Email, `{}`, ``, `needs "to"`},
		{Slack, `{"url":"https://x.com","typo":1}`, ``, "unknown field"},
		{Slack, `[1]`, ``, "cannot unmarshal"},
		{"sms", `{}`, ``, "unknown channel type"},
	}
	for _, tt := range tests {
		_, err := ParseConfig(tt.typ, []byte(tt.config), []byte(tt.secrets))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s %s %s: got %v, want no error", tt.typ, tt.config, tt.secrets, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s %s %s: got %v, want an error with %q", tt.typ, tt.config, tt.secrets, err, tt.err)
		}
	}
}

func TestSecretsWinOverConfig(t *testing.T) {
	c, err := ParseConfig(Slack, []byte(`{"url":"https://old.example.com"}`), []byte(`{"url":"https://new.example.com"}`))
	if err != nil || c.URL != "https://new.example.com" {
		t.Errorf("got %q %v, want the secret URL", c.URL, err)
	}
}
