package monitor

import (
	"encoding/json"
	"slices"
	"time"
)

// PingKind is what a ping in Healthchecks' dialect says: the suffix of its URL.
type PingKind uint8

// The kinds of ping. A success or an exit status ends a run; a start begins one; a log
// changes nothing but the record.
const (
	PingSuccess PingKind = iota // /ping/<id>
	PingStart                   // /start
	PingFail                    // /fail
	PingLog                     // /log
	PingExit                    // /<exit status>
)

// Kind is the heartbeats.kind a ping of k is stored with: "" for a success.
func (k PingKind) Kind() string {
	switch k {
	case PingStart:
		return "start"
	case PingFail:
		return "fail"
	case PingLog:
		return "log"
	case PingExit:
		return "exit"
	}
	return ""
}

// Ping is one ping of a service.
type Ping struct {
	Kind PingKind
	Exit int    // the exit status of a PingExit, 0-255
	RID  string // the run id, "" when none was given
	At   time.Time
	// Timeout is a start's own bound on its run (?timeout=); 0 leaves the service's
	// maxRuntime in effect.
	Timeout time.Duration
}

// Status is the status a ping reports: up for a success or exit status 0, down for a
// failure or another exit status, "" for a start or a log, which report none.
func (p Ping) Status() string {
	switch {
	case p.Kind == PingSuccess, p.Kind == PingExit && p.Exit == 0:
		return string(Up)
	case p.Kind == PingFail, p.Kind == PingExit:
		return string(Down)
	}
	return ""
}

// Ends reports whether p ends a run: a success, a failure or an exit status.
func (p Ping) Ends() bool { return p.Kind != PingStart && p.Kind != PingLog }

// MaxOpenRuns bounds the runs a service keeps open: starts that never finished (a host
// that died mid-job, a lost finish) do not pile up. The oldest is dropped first.
const MaxOpenRuns = 10

// OpenRun is a run that started and has not finished.
type OpenRun struct {
	RID     string
	At      time.Time
	Timeout time.Duration // its start's own bound; 0: the service's maxRuntime
}

// Runs is what a service's pings say of its runs: those still open, and the duration
// and exit status of the last one that ended.
type Runs struct {
	Open         []OpenRun
	LastDuration time.Duration
	HasDuration  bool // LastDuration is known
	LastExit     int
	HasExit      bool // LastExit is known
}

// Running reports whether a run is open.
func (r Runs) Running() bool { return len(r.Open) > 0 }

// Apply is r after p, and, for a ping that ends a run whose start is known, when that
// run started (zero otherwise). A start with a run id opens that run (again, if it was
// open); a start without one replaces the open runs without one. A finish with a run
// id ends that run; a finish without one ends the runs without one, measured from the
// last of them, or, when only runs with an id are open, the newest of those, unmeasured.
// Every finish sets the last exit status: its own, or unknown for one that carried none.
// r is not changed.
func (r Runs) Apply(p Ping) (Runs, time.Time) {
	next := r
	next.Open = slices.Clone(r.Open)
	if p.Kind == PingLog {
		return next, time.Time{}
	}
	if p.Kind == PingStart {
		next.Open = slices.DeleteFunc(next.Open, func(o OpenRun) bool { return o.RID == p.RID })
		next.Open = append(next.Open, OpenRun{RID: p.RID, At: p.At, Timeout: p.Timeout})
		if n := len(next.Open); n > MaxOpenRuns {
			next.Open = slices.Delete(next.Open, 0, n-MaxOpenRuns)
		}
		return next, time.Time{}
	}
	var started time.Time
	next.Open = slices.DeleteFunc(next.Open, func(o OpenRun) bool {
		if o.RID != p.RID {
			return false
		}
		if started.IsZero() || o.At.After(started) {
			started = o.At
		}
		return true
	})
	if p.RID == "" && started.IsZero() && len(next.Open) > 0 {
		// A finish without a run id while only runs with one are open ends the newest of
		// them, unmeasured (the ends do not match): a job that sends its id only with its
		// start must not stay "running" until its bound calls it down.
		newest := 0
		for i, o := range next.Open {
			if o.At.After(next.Open[newest].At) {
				newest = i
			}
		}
		next.Open = slices.Delete(next.Open, newest, newest+1)
	}
	if !started.IsZero() && !started.After(p.At) {
		next.LastDuration, next.HasDuration = p.At.Sub(started), true
	} else {
		started = time.Time{}
	}
	next.LastExit, next.HasExit = p.Exit, p.Kind == PingExit
	if !next.HasExit {
		next.LastExit = 0
	}
	if len(next.Open) == 0 {
		next.Open = nil
	}
	return next, started
}

// Bound is the open run whose bound ends first, given the service's maxRuntime (0: no
// bound but the runs' own): when it started and its deadline; zeros when no open run
// has a bound.
func (r Runs) Bound(maxRuntime time.Duration) (started, deadline time.Time) {
	for _, o := range r.Open {
		limit := o.Timeout
		if limit <= 0 {
			limit = maxRuntime
		}
		if limit <= 0 {
			continue
		}
		if d := o.At.Add(limit); deadline.IsZero() || d.Before(deadline) {
			started, deadline = o.At, d
		}
	}
	return started, deadline
}

// Equal reports whether r and o say the same.
func (r Runs) Equal(o Runs) bool {
	return slices.EqualFunc(r.Open, o.Open, func(a, b OpenRun) bool {
		return a.RID == b.RID && a.At.Equal(b.At) && a.Timeout == b.Timeout
	}) && r.HasDuration == o.HasDuration && r.LastDuration == o.LastDuration && r.HasExit == o.HasExit && r.LastExit == o.LastExit
}

// runsJSON is Runs as service_states.runs holds it: times in unix milliseconds.
type runsJSON struct {
	Open []struct {
		RID     string `json:"rid,omitempty"`
		At      int64  `json:"at"`
		Timeout int64  `json:"timeout,omitempty"` // ms
	} `json:"open,omitempty"`
	Duration *int64 `json:"duration,omitempty"` // ms
	Exit     *int   `json:"exit,omitempty"`
}

// EncodeRuns is r as service_states.runs holds it: JSON, or "" when r holds nothing.
func EncodeRuns(r Runs) string {
	if r.Equal(Runs{}) {
		return ""
	}
	var j runsJSON
	for _, o := range r.Open {
		j.Open = append(j.Open, struct {
			RID     string `json:"rid,omitempty"`
			At      int64  `json:"at"`
			Timeout int64  `json:"timeout,omitempty"`
		}{o.RID, o.At.UnixMilli(), o.Timeout.Milliseconds()})
	}
	if r.HasDuration {
		ms := r.LastDuration.Milliseconds()
		j.Duration = &ms
	}
	if r.HasExit {
		j.Exit = &r.LastExit
	}
	b, err := json.Marshal(j)
	if err != nil {
		return "" // only plain values: cannot happen
	}
	return string(b)
}

// DecodeRuns reads service_states.runs; what does not parse reads as nothing known.
func DecodeRuns(s string) Runs {
	var r Runs
	if s == "" || s == "null" {
		return r
	}
	var j runsJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return r
	}
	for _, o := range j.Open {
		r.Open = append(r.Open, OpenRun{RID: o.RID, At: time.UnixMilli(o.At).UTC(), Timeout: time.Duration(o.Timeout) * time.Millisecond})
	}
	if j.Duration != nil {
		r.LastDuration, r.HasDuration = time.Duration(*j.Duration)*time.Millisecond, true
	}
	if j.Exit != nil {
		r.LastExit, r.HasExit = *j.Exit, true
	}
	return r
}
