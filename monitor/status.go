// Package monitor is the domain of the heartbeat monitor in plain Go: the status model,
// the heartbeat payload rules and the uptime maths. It never reads the clock (now is
// always a parameter) and never imports PocketBase.
package monitor

import "time"

// Status is the evaluated state of a service.
type Status string

// The states a service can be in; see Evaluate for how each is reached.
const (
	Unknown  Status = "unknown"
	Up       Status = "up"
	Late     Status = "late"
	Degraded Status = "degraded"
	Down     Status = "down"
	Paused   Status = "paused"
)

// Cause says why a service is down or degraded.
type Cause string

// Causes of an incident: the service went quiet, or it said so itself.
const (
	CauseNone     Cause = ""
	CauseStale    Cause = "stale"
	CauseReported Cause = "reported"
)

// Defaults applied when a service leaves interval or threshold unset.
const (
	DefaultInterval  = 120 * time.Second
	DefaultThreshold = 300 * time.Second
)

// Service is what Evaluate needs to know about a service.
type Service struct {
	LastSeen   time.Time // zero when never seen
	LastStatus string    // what the client last reported: up, down or degraded
	Interval   time.Duration
	Threshold  time.Duration
	Paused     bool // paused indefinitely
	// PausedUntil pauses the service until then (maintenance); zero means no such pause.
	PausedUntil time.Time
}

// Evaluate reports the state of a service at now, and why when it is down or degraded.
// The threshold is inclusive: a service exactly at its threshold is not yet down.
func Evaluate(s Service, now time.Time) (Status, Cause) {
	interval, threshold := s.Interval, s.Threshold
	if interval <= 0 {
		interval = DefaultInterval
	}
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	switch {
	case s.Paused || s.PausedUntil.After(now):
		return Paused, CauseNone
	case s.LastSeen.IsZero():
		return Unknown, CauseNone
	case now.Sub(s.LastSeen) > threshold:
		return Down, CauseStale
	case s.LastStatus == string(Down):
		return Down, CauseReported
	case s.LastStatus == string(Degraded):
		return Degraded, CauseReported
	case now.Sub(s.LastSeen) > interval:
		return Late, CauseNone
	}
	return Up, CauseNone
}

// IsIncident reports whether a status is one that incidents and alerts are about.
func (s Status) IsIncident() bool { return s == Down || s == Degraded }
