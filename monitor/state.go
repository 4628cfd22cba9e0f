package monitor

import "time"

// State is where a service stands at one instant. It is the one answer every reader
// takes (the pages, /api/status, the staleness log, the uptime maths and the alerts), so
// none of them works it out again.
type State struct {
	Status Status
	Cause  Cause
	// Since is when Status began: the instant a threshold passed, or the beat that said
	// so, not the moment somebody looked.
	Since time.Time
	// Next is the first instant at which Status changes by itself, with no new beat and
	// no new setting; zero when it never does (paused, never seen, down).
	Next time.Time
	// Model is the service as evaluated: a timed pause and the restart grace applied.
	Model Service
}

// Prior is the state the last evaluation stored for a service.
type Prior struct {
	Status Status // "" or Unknown when never evaluated
	Since  time.Time
}

// StateAt reports the state of s at now.
//
// startedAt is when the monitor started: a service quiet since before then gets a fresh
// grace of its threshold from that instant (the monitor's own downtime is not the
// service's), unless the monitor had already found it down; a zero startedAt gives none.
// prev is what the last evaluation stored: a state that goes on keeps its Since, and a
// new one never begins before the one it ends.
func StateAt(s Service, prev Prior, startedAt, now time.Time) State {
	if s.PausedUntil.After(now) {
		s.Paused = true
	}
	s.Interval, s.Threshold = intervalOf(s), thresholdOf(s)
	s = graced(s, prev.Status, startedAt, now)
	st, cause := Evaluate(s, now)
	out := State{Status: st, Cause: cause, Model: s, Next: nextChange(s, st, now)}
	switch {
	case st == prev.Status && !prev.Since.IsZero() && !prev.Since.After(now):
		out.Since = prev.Since
	default:
		out.Since = changedAt(s, st, cause, now)
		if out.Since.Before(prev.Since) && !prev.Since.After(now) {
			out.Since = prev.Since // e.g. stale all through a pause: down since the pause ended
		}
	}
	return out
}

// graced gives a service that was quiet since before the monitor started a fresh grace
// of its threshold from the start, unless the monitor had already found it down. A
// clock before the start (an evaluation of the past) gets none.
// A service on a schedule whose expected run came before the start is expected at the
// start instead.
//
// Beats are stamped to the millisecond (the store's precision), so the start is compared
// at that precision too: a beat in the very millisecond of the start is not from before
// it.
func graced(s Service, prev Status, startedAt, now time.Time) Service {
	startedAt = startedAt.Truncate(time.Millisecond)
	if !startedAt.IsZero() && !startedAt.After(now) && !s.LastSeen.IsZero() && s.LastSeen.Before(startedAt) && prev != Down {
		if s.Expected.IsZero() {
			s.LastSeen = startedAt
		} else if s.Expected.Before(startedAt) {
			s.Expected = startedAt
		}
	}
	return s
}

// nextChange is the first instant after now at which Evaluate gives another status for
// s, with no new facts. Thresholds are inclusive (exactly at the threshold a service is
// not yet down), so a boundary's change comes one nanosecond past it.
// A run within its bound changes nothing until its bound passes; a service that is down
// stays down until a new fact.
func nextChange(s Service, st Status, now time.Time) time.Time {
	bounded := runningBounded(s, now)
	switch {
	case s.Paused && s.PausedUntil.After(now):
		return s.PausedUntil
	case s.Paused, st == Down:
		return time.Time{}
	case bounded:
		return s.RunDeadline.Add(time.Nanosecond)
	case st == Unknown:
		return time.Time{}
	}
	lateAt, downAt := deadlines(s)
	if st == Up && lateAt.Before(downAt) {
		return lateAt.Add(time.Nanosecond)
	}
	return downAt.Add(time.Nanosecond) // up, late or degraded: down when stale
}

// changedAt is when a newly found state really began, so incidents and uptime are exact
// to the beat rather than to the moment of the check: a stale service went down when its
// threshold passed, a late one when its interval did; a reported state, or a recovery,
// began with the beat that said so.
func changedAt(s Service, st Status, cause Cause, now time.Time) time.Time {
	var at time.Time
	switch {
	case cause == CauseOverrun:
		at = s.RunDeadline
	case s.LastSeen.IsZero(), st == Paused:
		return now
	case cause == CauseStale:
		_, at = deadlines(s)
	case st == Late:
		at, _ = deadlines(s)
	default:
		at = s.LastSeen
	}
	if at.After(now) {
		return now
	}
	return at
}

func intervalOf(s Service) time.Duration {
	if s.Interval <= 0 {
		return DefaultInterval
	}
	return s.Interval
}

func thresholdOf(s Service) time.Duration {
	if s.Threshold <= 0 {
		return DefaultThreshold
	}
	return s.Threshold
}
