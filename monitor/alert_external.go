package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of an external alert, so one request cannot store or send without bound.
const (
	MaxAlertBodyBytes  = 256 << 10
	MaxAlertTitleChars = 300
	MaxAlertTextChars  = 4000
	maxAlertLabels     = 50
)

// The answers of POST /api/alert to bodies it refuses, worded as the original worker's.
const (
	ErrUnsupportedAlert = "Unsupported alert format. Use Alertmanager, Grafana, or generic format."
	ErrInvalidAlertJSON = "Invalid JSON body"
)

// ExternalAlert is an alert another tool sent to POST /api/alert, in one shape whatever
// its format: a Prometheus Alertmanager webhook, a Grafana webhook (legacy or unified
// alerting), or the generic {title, message, severity, channels?}.
type ExternalAlert struct {
	Format      string // alertmanager, grafana or generic
	Title       string
	Message     string
	Severity    string // lower case: critical, error, warning, info, ok, ...
	Source      string
	Status      string // firing, resolved, alerting, ok, ... (empty for generic)
	URL         string
	Labels      map[string]string
	Annotations map[string]string
	Channels    []string // channel names asked for; empty: route by severity
	Firing      int
	Resolved    int
}

// IsResolved reports whether the alert says its problem is over.
func (a ExternalAlert) IsResolved() bool {
	s := strings.ToLower(a.Status)
	return s == "resolved" || s == "ok" || s == "normal"
}

// SeverityEvent is the event an external alert of severity is routed as: channels get
// external alerts of the events they subscribe to.
func SeverityEvent(severity string) Event {
	switch strings.ToLower(strings.TrimSpace(severity)) {
	case "critical", "error", "fatal", "high", "page", "emergency", "alert":
		return EventDown
	case "info", "ok", "low", "none", "informational", "resolved":
		return EventUp
	}
	return EventDegraded
}

// AlertError is a body POST /api/alert refuses with a 400 and Msg.
type AlertError struct{ Msg string }

func (e *AlertError) Error() string { return e.Msg }

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL"`
}

type rawAlert struct {
	// Alertmanager, and Grafana's unified alerting which shares its shape.
	Alerts            *[]amAlert        `json:"alerts"`
	Status            string            `json:"status"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	OrgID             json.RawMessage   `json:"orgId"`
	// Grafana legacy alerting.
	EvalMatches json.RawMessage   `json:"evalMatches"`
	RuleName    string            `json:"ruleName"`
	RuleURL     string            `json:"ruleUrl"`
	State       string            `json:"state"`
	Tags        map[string]string `json:"tags"`
	// Generic; Grafana sends title and message too.
	Title       json.RawMessage   `json:"title"`
	Message     json.RawMessage   `json:"message"`
	Severity    json.RawMessage   `json:"severity"`
	Source      json.RawMessage   `json:"source"`
	Channels    json.RawMessage   `json:"channels"`
	Channel     json.RawMessage   `json:"channel"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// ParseExternalAlert recognises and normalises an external alert. Its errors are
// *AlertError with a message fit for the client.
func ParseExternalAlert(body []byte) (ExternalAlert, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		if json.Valid(body) {
			return ExternalAlert{}, &AlertError{ErrUnsupportedAlert}
		}
		return ExternalAlert{}, &AlertError{ErrInvalidAlertJSON}
	}
	var raw rawAlert
	if err := json.Unmarshal(body, &raw); err != nil {
		if !json.Valid(body) {
			return ExternalAlert{}, &AlertError{ErrInvalidAlertJSON}
		}
		return ExternalAlert{}, &AlertError{fmt.Sprintf("Invalid alert: %s", typeProblem(err))}
	}
	var a ExternalAlert
	var err error
	switch {
	case raw.Alerts != nil:
		a, err = parseAlertmanager(raw)
	case raw.EvalMatches != nil || (raw.State != "" && raw.RuleName != ""):
		a, err = parseGrafanaLegacy(raw)
	case raw.Title != nil && raw.Message != nil:
		a, err = parseGeneric(raw)
	default:
		return ExternalAlert{}, &AlertError{ErrUnsupportedAlert}
	}
	if err != nil {
		return ExternalAlert{}, err
	}
	a.Title = clipText(strings.TrimSpace(a.Title), MaxAlertTitleChars)
	a.Message = clipText(strings.TrimSpace(a.Message), MaxAlertTextChars)
	a.Severity = strings.ToLower(strings.TrimSpace(a.Severity))
	if a.Severity == "" {
		a.Severity = "warning"
	}
	a.Labels, a.Annotations = boundMap(a.Labels), boundMap(a.Annotations)
	return a, nil
}

func parseAlertmanager(raw rawAlert) (ExternalAlert, error) {
	alerts := *raw.Alerts
	a := ExternalAlert{Format: "alertmanager", Source: "alertmanager", URL: raw.ExternalURL}
	if raw.OrgID != nil {
		a.Format, a.Source = "grafana", "grafana"
	}
	var first *amAlert
	var lines []string
	for i := range alerts {
		al := &alerts[i]
		if strings.EqualFold(al.Status, "resolved") {
			a.Resolved++
		} else {
			a.Firing++
			if first == nil {
				first = al
			}
		}
		name := firstNonEmpty(al.Annotations["summary"], al.Labels["alertname"])
		if d := firstNonEmpty(al.Annotations["description"], al.Annotations["message"]); d != "" && len(alerts) > 1 {
			lines = append(lines, fmt.Sprintf("[%s] %s: %s", strings.ToUpper(firstNonEmpty(al.Status, "firing")), name, d))
		} else if len(alerts) > 1 {
			lines = append(lines, fmt.Sprintf("[%s] %s", strings.ToUpper(firstNonEmpty(al.Status, "firing")), name))
		}
	}
	if first == nil && len(alerts) > 0 {
		first = &alerts[0]
	}
	if first == nil {
		first = &amAlert{}
	}
	labels := mergeLabels(raw.CommonLabels, first.Labels)
	annotations := mergeLabels(raw.CommonAnnotations, first.Annotations)
	a.Labels, a.Annotations = labels, annotations
	a.Status = firstNonEmpty(raw.Status, first.Status, "firing")
	if a.Firing == 0 && a.Resolved > 0 {
		a.Status = "resolved"
	}
	title, err := optString(raw.Title, "title")
	if err != nil {
		return a, err
	}
	message, err := optString(raw.Message, "message")
	if err != nil {
		return a, err
	}
	a.Title = firstNonEmpty(title, annotations["summary"], labels["alertname"], "Alert")
	a.Message = firstNonEmpty(strings.Join(lines, "\n"), annotations["description"], annotations["message"], message, "No description")
	a.Severity = firstNonEmpty(labels["severity"], "warning")
	a.URL = firstNonEmpty(first.GeneratorURL, a.URL)
	a.Channels = splitNames(firstNonEmpty(labels["channels"], annotations["channels"]))
	return a, nil
}

func parseGrafanaLegacy(raw rawAlert) (ExternalAlert, error) {
	title, err := optString(raw.Title, "title")
	if err != nil {
		return ExternalAlert{}, err
	}
	message, err := optString(raw.Message, "message")
	if err != nil {
		return ExternalAlert{}, err
	}
	a := ExternalAlert{
		Format: "grafana", Source: "grafana", Status: firstNonEmpty(raw.State, "unknown"), URL: raw.RuleURL,
		Title: firstNonEmpty(title, raw.RuleName, "Grafana Alert"), Message: firstNonEmpty(message, "No message"),
		Labels: mergeLabels(raw.Tags, map[string]string{"ruleName": raw.RuleName}),
	}
	switch strings.ToLower(raw.State) {
	case "alerting":
		a.Severity = "critical"
	case "ok":
		a.Severity = "info"
	default:
		a.Severity = "warning"
	}
	if s := raw.Tags["severity"]; s != "" && a.Severity == "critical" {
		a.Severity = s
	}
	a.Channels = splitNames(raw.Tags["channels"])
	return a, nil
}

func parseGeneric(raw rawAlert) (ExternalAlert, error) {
	var a ExternalAlert
	var err error
	fields := []struct {
		raw  json.RawMessage
		name string
		into *string
	}{{raw.Title, "title", &a.Title}, {raw.Message, "message", &a.Message}, {raw.Severity, "severity", &a.Severity}, {raw.Source, "source", &a.Source}}
	for _, f := range fields {
		if *f.into, err = optString(f.raw, f.name); err != nil {
			return a, err
		}
	}
	if strings.TrimSpace(a.Title) == "" || strings.TrimSpace(a.Message) == "" {
		return a, &AlertError{ErrUnsupportedAlert}
	}
	a.Format, a.Source = "generic", firstNonEmpty(a.Source, "external")
	a.Labels, a.Annotations = raw.Labels, raw.Annotations
	chans := raw.Channels
	if chans == nil {
		chans = raw.Channel
	}
	if a.Channels, err = stringList(chans); err != nil {
		return a, err
	}
	return a, nil
}

// optString reads an optional JSON string; null or absent is "".
func optString(raw json.RawMessage, name string) (string, error) {
	if raw == nil || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &AlertError{fmt.Sprintf("Invalid alert: %s must be a string", name)}
	}
	return s, nil
}

// stringList reads channels given as a list of names or one name.
func stringList(raw json.RawMessage) ([]string, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return splitNames(one), nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, &AlertError{"Invalid alert: channels must be a list of channel names"}
	}
	var out []string
	for _, s := range many {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func splitNames(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func typeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return "a field has the wrong type"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// mergeLabels returns base overlaid with over; neither is changed.
func mergeLabels(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// boundMap keeps at most maxAlertLabels entries (by key order) with clipped values.
func boundMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, min(len(keys), maxAlertLabels))
	for _, k := range keys[:min(len(keys), maxAlertLabels)] {
		out[clipText(k, 100)] = clipText(m[k], 500)
	}
	return out
}

// clipText cuts s to at most n characters, marking the cut.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
