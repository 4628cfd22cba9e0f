package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
)

// Type is a kind of channel.
type Type string

// The channel types. Their names are the values of the channels collection's type.
const (
	Webhook   Type = "webhook"
	Slack     Type = "slack"
	Discord   Type = "discord"
	Teams     Type = "teams"
	Telegram  Type = "telegram"
	Ntfy      Type = "ntfy"
	Pushover  Type = "pushover"
	PagerDuty Type = "pagerduty"
	Email     Type = "email"
)

// Types lists every channel type.
var Types = []Type{Webhook, Slack, Discord, Teams, Telegram, Ntfy, Pushover, PagerDuty, Email}

// Default endpoints of the services with a fixed API; apiUrl overrides them (a proxy,
// a self-hosted server, a test).
const (
	defaultTelegramAPI  = "https://api.telegram.org"
	defaultNtfyServer   = "https://ntfy.sh"
	defaultPushoverAPI  = "https://api.pushover.net/1/messages.json"
	defaultPagerDutyAPI = "https://events.pagerduty.com"
)

// Config is a channel's settings: the union of every type's keys. A channel record
// keeps the keys in two JSON fields, config (shown) and secrets (hidden, merged over
// config), so tokens stay out of what the admin UI lists.
type Config struct {
	URL        string            `json:"url,omitempty"`     // webhook, slack, discord, teams; ntfy server
	Headers    map[string]string `json:"headers,omitempty"` // webhook: extra request headers
	Secret     string            `json:"secret,omitempty"`  // webhook: HMAC-SHA256 key of the signature header
	Username   string            `json:"username,omitempty"`
	Password   string            `json:"password,omitempty"` // ntfy basic auth
	Token      string            `json:"token,omitempty"`    // ntfy access token; Pushover application token
	BotToken   string            `json:"botToken,omitempty"`
	ChatID     string            `json:"chatId,omitempty"`
	ThreadID   int64             `json:"threadId,omitempty"` // telegram forum topic
	Topic      string            `json:"topic,omitempty"`
	User       string            `json:"user,omitempty"` // Pushover user or group key
	Device     string            `json:"device,omitempty"`
	RoutingKey string            `json:"routingKey,omitempty"`
	APIURL     string            `json:"apiUrl,omitempty"`
	To         []string          `json:"to,omitempty"` // email recipients
	// ExternalAlerts, when false, keeps a channel out of alerts routed by severity.
	ExternalAlerts *bool `json:"externalAlerts,omitempty"`
}

// Channel is a channel ready to send to.
type Channel struct {
	ID     string
	Name   string
	Type   Type
	Config Config
}

// TakesExternal reports whether external alerts routed by severity may go to c.
func (c Channel) TakesExternal() bool {
	return c.Config.ExternalAlerts == nil || *c.Config.ExternalAlerts
}

// ParseConfig reads a channel's config and secrets JSON (secrets win) and checks that
// the keys its type needs are there and well formed.
func ParseConfig(t Type, config, secrets []byte) (Config, error) {
	var c Config
	for _, raw := range [][]byte{config, secrets} {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("notify: %s settings: %w", t, err)
		}
	}
	return c, c.validate(t)
}

func (c Config) validate(t Type) error {
	need := func(key, value string) error {
		if strings.TrimSpace(value) == "" {
			return fmt.Errorf("notify: a %s channel needs %q", t, key)
		}
		return nil
	}
	var errs []error
	switch t {
	case Webhook, Slack, Discord, Teams:
		errs = append(errs, need("url", c.URL), checkURL("url", c.URL))
		for k := range c.Headers {
			if strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(c.Headers[k], "\r\n") {
				errs = append(errs, fmt.Errorf("notify: header %q is not a valid header", k))
			}
		}
	case Telegram:
		errs = append(errs, need("botToken", c.BotToken), need("chatId", c.ChatID))
	case Ntfy:
		errs = append(errs, need("topic", c.Topic), checkURL("url", c.URL))
	case Pushover:
		errs = append(errs, need("token", c.Token), need("user", c.User))
	case PagerDuty:
		errs = append(errs, need("routingKey", c.RoutingKey))
	case Email:
		if len(c.To) == 0 {
			errs = append(errs, fmt.Errorf("notify: an email channel needs \"to\" (a list of addresses)"))
		}
		for _, a := range c.To {
			if _, err := mail.ParseAddress(a); err != nil {
				errs = append(errs, fmt.Errorf("notify: %q is not an email address", a))
			}
		}
	default:
		return fmt.Errorf("notify: unknown channel type %q", t)
	}
	errs = append(errs, checkURL("apiUrl", c.APIURL))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkURL accepts an empty value or an absolute http(s) URL.
func checkURL(key, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("notify: %s %q is not an http(s) URL", key, v)
	}
	return nil
}

// KnownType reports whether t is a channel type.
func KnownType(t string) bool { return slices.Contains(Types, Type(t)) }
