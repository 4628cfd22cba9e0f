package notify

import (
	"strings"
	"time"
)

// PagerDuty is a PagerDuty service's Events API v2 integration.
const PagerDuty Type = "pagerduty"

var pagerDutyKind = Kind{Name: PagerDuty, New: func() Settings { return new(pagerDutySettings) }}

// defaultPagerDutyAPI is PagerDuty's events host; apiUrl overrides it.
const defaultPagerDutyAPI = "https://events.pagerduty.com"

// pagerDutySettings are a PagerDuty channel's settings.
type pagerDutySettings struct {
	RoutingKey string `json:"routingKey"` // the integration key
	apiOverride
}

// Validate implements Settings.
func (s *pagerDutySettings) Validate() error {
	return firstError(need("routingKey", s.RoutingKey), s.apiOverride.validate())
}

// PagerDuty Events API v2. Down, degraded and reminders trigger an alert whose dedup key
// is the incident's, so a reminder does not page twice and the recovery resolves exactly
// what the alert opened. Late, flapping and test notices are change events: they show in
// PagerDuty's timeline and never need resolving.
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action,omitempty"`
	DedupKey    string     `json:"dedup_key,omitempty"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
}

type pdPayload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity,omitempty"`
	Timestamp     string            `json:"timestamp,omitempty"`
	Component     string            `json:"component,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DedupKey is the PagerDuty dedup key of a message: one per incident, one per external
// alert (source and title).
func DedupKey(m Message) string {
	if m.Event == EventExternal {
		a := m.alert()
		return "heartbeat-monitor/alert/" + firstNonEmpty(a.Source, "external") + "/" + a.Title
	}
	return "heartbeat-monitor/incident/" + m.IncidentID
}

// BuildRequest implements RequestBuilder.
func (s *pagerDutySettings) BuildRequest(m Message) (Request, error) {
	base := strings.TrimRight(s.api(defaultPagerDutyAPI), "/")
	details := map[string]string{}
	for _, f := range m.Facts() {
		details[f.Label] = f.Value
	}
	if s := m.Summary(); s != "" {
		details["Summary"] = s
	}
	p := &pdPayload{Summary: truncate(m.Title(), 1024), Source: firstNonEmpty(m.ServiceID, m.alert().Source, "heartbeat-monitor"), CustomDetails: details}
	if !m.At.IsZero() {
		p.Timestamp = m.At.UTC().Format(time.RFC3339)
	}
	ev := pdEvent{RoutingKey: s.RoutingKey, Payload: p}
	if l := m.Link(); l != "" {
		ev.Links = []pdLink{{Href: l, Text: "Open"}}
	}
	switch {
	case m.Event == "up" || (m.Event == EventExternal && m.alert().Resolved):
		// A resolve carries only the key.
		return jsonRequest(base+"/v2/enqueue", pdEvent{RoutingKey: s.RoutingKey, EventAction: "resolve", DedupKey: DedupKey(m)})
	case m.Event == "down" || m.Event == "degraded" || m.Event == "reminder" || m.Event == EventExternal:
		ev.EventAction, ev.DedupKey = "trigger", DedupKey(m)
		p.Severity, p.Component, p.Class = pdSeverity(m), m.ServiceName, m.Event
		ev.Client, ev.ClientURL = "Heartbeat Monitor", m.Link()
		return jsonRequest(base+"/v2/enqueue", ev)
	}
	return jsonRequest(base+"/v2/change/enqueue", ev)
}

// pdSeverity maps a message to PagerDuty's critical, error, warning or info.
func pdSeverity(m Message) string {
	if m.Event == EventExternal {
		switch s := strings.ToLower(m.alert().Severity); s {
		case "critical", "error", "warning", "info":
			return s
		}
	}
	return m.Severity()
}
