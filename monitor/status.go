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
	// CauseOverrun: a run that started is still going past its bound (maxRuntime, or
	// the start's own timeout).
	CauseOverrun Cause = "overrun"
)

// Defaults applied when a service leaves interval, threshold or grace unset.
const (
	DefaultInterval  = 120 * time.Second
	DefaultThreshold = 300 * time.Second
	// DefaultGrace is how long after an expected run a service on a schedule is down,
	// as Healthchecks' default grace.
	DefaultGrace = time.Hour
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
	// Expected is, for a service on a schedule, the run its schedule expected first
	// after its last ping: late once it passes, down once Grace has passed after it.
	// Zero means the interval rule (Interval, Threshold) applies.
	Expected time.Time
	Grace    time.Duration // 0 means DefaultGrace
	// RunStarted and RunDeadline are the open run whose bound ends first: while it runs
	// within its bound the service is neither late nor stale, and once the bound has
	// passed it is down (CauseOverrun). Zero when no open run has a bound.
	RunStarted, RunDeadline time.Time
}

// deadlines are when s is late and when it is down without a new ping.
func deadlines(s Service) (lateAt, downAt time.Time) {
	if !s.Expected.IsZero() {
		grace := s.Grace
		if grace <= 0 {
			grace = DefaultGrace
		}
		return s.Expected, s.Expected.Add(grace)
	}
	return s.LastSeen.Add(intervalOf(s)), s.LastSeen.Add(thresholdOf(s))
}

// runningBounded reports whether s has an open run within its bound at now.
func runningBounded(s Service, now time.Time) bool {
	return !s.RunDeadline.IsZero() && !now.After(s.RunDeadline)
}

// Evaluate reports the state of a service at now, and why when it is down or degraded.
// The threshold is inclusive: a service exactly at its threshold is not yet down.
//
// A run within its bound holds off lateness, and staleness that had not begun when it
// started (the job is known to be working; a service already down stays down until it
// reports); past its bound the service is down, even if it never pinged before.
func Evaluate(s Service, now time.Time) (Status, Cause) {
	lateAt, downAt := deadlines(s)
	running := runningBounded(s, now)
	switch {
	case s.Paused || s.PausedUntil.After(now):
		return Paused, CauseNone
	case !s.RunDeadline.IsZero() && now.After(s.RunDeadline):
		return Down, CauseOverrun
	case s.LastSeen.IsZero():
		return Unknown, CauseNone
	case now.After(downAt) && (!running || s.RunStarted.After(downAt)):
		return Down, CauseStale
	case s.LastStatus == string(Down):
		return Down, CauseReported
	case s.LastStatus == string(Degraded):
		return Degraded, CauseReported
	case !running && now.After(lateAt):
		return Late, CauseNone
	}
	return Up, CauseNone
}

// IsIncident reports whether a status is one that incidents and alerts are about.
func (s Status) IsIncident() bool { return s == Down || s == Degraded }
