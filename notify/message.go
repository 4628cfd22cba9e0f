// Package notify delivers alerts: the channel types and their settings, one payload
// builder per type (pure, table-tested apart from any I/O), the sender that does the
// HTTP or SMTP call, and the worker that delivers stored notifications with retries.
package notify

import (
	"fmt"
	"strings"
	"time"
)

// The events of a Message beyond monitor's: a test from the admin, an external alert.
const (
	EventTest     = "test"
	EventExternal = "external"
)

// Message is what one notification says. It is stored with the notification when the
// alert is queued, so a retry hours later still says what was true then.
type Message struct {
	Event       string `json:"event"` // down, degraded, up, late, reminder, flapping, test, external
	ServiceID   string `json:"serviceId,omitempty"`
	ServiceName string `json:"serviceName,omitempty"`
	Status      string `json:"status,omitempty"` // the service's state when the message was made
	Cause       string `json:"cause,omitempty"`  // stale, reported or overrun, for down and degraded
	// RunStarted is when the run that overran its bound started (cause overrun).
	RunStarted time.Time `json:"runStartedAt,omitzero"`
	// IncidentID identifies the incident the message is about; it is the dedup key of
	// PagerDuty events, so a recovery resolves what the alert triggered.
	IncidentID string `json:"incidentId,omitempty"`
	// Was is the state a recovery ends (down or degraded).
	Was string `json:"was,omitempty"`
	// Since is when the incident (or the late beat) began.
	Since       time.Time `json:"since,omitzero"`
	At          time.Time `json:"at"`
	LastSeen    time.Time `json:"lastSeen,omitzero"`
	LastMessage string    `json:"lastMessage,omitempty"`
	// DurationSeconds is how long the incident lasted (recoveries) or has lasted so far.
	DurationSeconds int64 `json:"durationSeconds,omitempty"`
	// Dependents names services whose alerts are folded into this one (at most a few);
	// DependentCount counts them all.
	Dependents     []string  `json:"dependents,omitempty"`
	DependentCount int       `json:"dependentCount,omitempty"`
	URL            string    `json:"url,omitempty"` // the service's page
	Alert          *External `json:"alert,omitempty"`
}

// External is the content of an external alert (POST /api/alert).
type External struct {
	Title    string            `json:"title"`
	Message  string            `json:"message"`
	Severity string            `json:"severity"`
	Source   string            `json:"source,omitempty"`
	Status   string            `json:"status,omitempty"`
	URL      string            `json:"url,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Resolved bool              `json:"resolved,omitempty"`
}

// Fact is one labelled line of a message.
type Fact struct{ Label, Value string }

// Name is the service's display name.
func (m Message) Name() string {
	if m.ServiceName != "" {
		return m.ServiceName
	}
	return m.ServiceID
}

// Severity is how bad the message is: critical, warning or info (what PagerDuty,
// ntfy and Pushover priorities and the chat colours follow).
func (m Message) Severity() string {
	switch m.Event {
	case "down", "reminder":
		if m.Status == "degraded" {
			return "warning"
		}
		return "critical"
	case "degraded", "late", "flapping":
		return "warning"
	case EventExternal:
		if m.Alert != nil && m.Alert.Resolved {
			return "info"
		}
		switch sev := strings.ToLower(m.alert().Severity); sev {
		case "critical", "error", "fatal", "high", "page", "emergency", "alert":
			return "critical"
		case "info", "ok", "low", "none", "informational":
			return "info"
		}
		return "warning"
	}
	return "info"
}

func (m Message) alert() External {
	if m.Alert == nil {
		return External{}
	}
	return *m.Alert
}

// Title is the one line that says what happened.
func (m Message) Title() string {
	name := m.Name()
	switch m.Event {
	case "down":
		return "🔴 " + name + " is down" + m.folded()
	case "degraded":
		return "🟠 " + name + " is degraded" + m.folded()
	case "up":
		switch m.Status {
		case "paused":
			return "⏸️ " + name + " is paused (was " + m.was() + ")"
		case "down", "degraded":
			return "🟠 " + name + " is no longer " + m.was() + ", now " + m.Status
		}
		return "✅ " + name + " recovered"
	case "late":
		return "🕒 " + name + " is late"
	case "reminder":
		return "🔁 " + name + " is still " + firstNonEmpty(m.Status, "down") + m.folded()
	case "flapping":
		return "🔀 " + name + " is flapping"
	case EventTest:
		return "🧪 Test notification from Heartbeat Monitor"
	case EventExternal:
		a := m.alert()
		if a.Resolved {
			return "✅ [RESOLVED] " + a.Title
		}
		return "🚨 [" + strings.ToUpper(firstNonEmpty(a.Severity, "warning")) + "] " + a.Title
	}
	return name + ": " + m.Event
}

func (m Message) was() string { return firstNonEmpty(m.Was, "down") }

// folded is the "and N dependent services" of a parent's alert.
func (m Message) folded() string {
	switch {
	case m.DependentCount == 1:
		return " (and 1 dependent service)"
	case m.DependentCount > 1:
		return fmt.Sprintf(" (and %d dependent services)", m.DependentCount)
	}
	return ""
}

// Summary is a sentence that explains the title.
func (m Message) Summary() string {
	name := m.Name()
	switch m.Event {
	case "down", "reminder":
		if m.Cause == "reported" {
			return fmt.Sprintf("%s reported itself %s %s.", name, firstNonEmpty(m.Status, "down"), m.since())
		}
		if m.Cause == "overrun" && !m.RunStarted.IsZero() {
			return fmt.Sprintf("%s is still running after %s: its run started %s and has not finished.", name,
				Duration(m.At.Sub(m.RunStarted)), stamp(m.RunStarted))
		}
		if m.LastSeen.IsZero() {
			return fmt.Sprintf("%s has been %s %s.", name, firstNonEmpty(m.Status, "down"), m.since())
		}
		return fmt.Sprintf("No heartbeat from %s since %s (%s ago).", name, stamp(m.LastSeen), Duration(m.At.Sub(m.LastSeen)))
	case "degraded":
		return fmt.Sprintf("%s reported itself degraded %s.", name, m.since())
	case "up":
		return fmt.Sprintf("%s was %s for %s.", name, m.was(), Duration(time.Duration(m.DurationSeconds)*time.Second))
	case "late":
		return fmt.Sprintf("A heartbeat from %s is overdue: the last one came %s ago.", name, Duration(m.At.Sub(m.LastSeen)))
	case "flapping":
		return fmt.Sprintf("%s keeps changing state; its alerts are held until it settles (an outage that lasts past its threshold still alerts).", name)
	case EventTest:
		return "If you can read this, the channel works."
	case EventExternal:
		return m.alert().Message
	}
	return ""
}

func (m Message) since() string {
	if m.Since.IsZero() {
		return "now"
	}
	return "since " + stamp(m.Since)
}

// Facts are the details of the message as labelled lines, in the order shown.
func (m Message) Facts() []Fact {
	var f []Fact
	add := func(label, value string) {
		if value != "" {
			f = append(f, Fact{label, value})
		}
	}
	if m.Event == EventExternal {
		a := m.alert()
		add("Severity", a.Severity)
		add("Status", a.Status)
		add("Source", a.Source)
		for _, k := range sortedKeys(a.Labels) {
			add(k, a.Labels[k])
		}
		return f
	}
	if m.ServiceID != "" && m.ServiceID != m.ServiceName {
		add("Service", m.ServiceID)
	}
	add("Status", m.Status)
	if !m.Since.IsZero() {
		add("Since", stamp(m.Since))
	}
	if m.Event == "up" && m.DurationSeconds > 0 {
		add("Down for", Duration(time.Duration(m.DurationSeconds)*time.Second))
	}
	if !m.RunStarted.IsZero() {
		add("Run started", stamp(m.RunStarted))
	}
	if !m.LastSeen.IsZero() {
		add("Last beat", stamp(m.LastSeen))
	}
	add("Last message", m.LastMessage)
	if m.DependentCount > 0 {
		list := strings.Join(m.Dependents, ", ")
		if m.DependentCount > len(m.Dependents) {
			list += fmt.Sprintf(" and %d more", m.DependentCount-len(m.Dependents))
		}
		add("Dependent services down", list)
	}
	return f
}

// Link is where the message points: the service page, or the external alert's source.
func (m Message) Link() string {
	if m.Event == EventExternal {
		return m.alert().URL
	}
	return m.URL
}

// Text is the whole message as plain text.
func (m Message) Text() string {
	var b strings.Builder
	b.WriteString(m.Title())
	if s := m.Summary(); s != "" {
		b.WriteString("\n\n" + s)
	}
	if facts := m.Facts(); len(facts) > 0 {
		b.WriteString("\n")
		for _, f := range facts {
			b.WriteString("\n" + f.Label + ": " + f.Value)
		}
	}
	if l := m.Link(); l != "" {
		b.WriteString("\n\n" + l)
	}
	return b.String()
}

// stamp formats a time for people: UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// Duration formats d for people: "45s", "12m 5s", "3h 20m", "2d 4h".
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		d = 0
	}
	days, h, mi, s := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case days > 0:
		return join2(days, "d", h, "h")
	case h > 0:
		return join2(h, "h", mi, "m")
	case mi > 0:
		return join2(mi, "m", s, "s")
	}
	return fmt.Sprintf("%ds", s)
}

func join2(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s %d%s", a, au, b, bu)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
