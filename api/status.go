package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// StatusResult is one service in GET /api/status.
type StatusResult struct {
	ServiceID              string  `json:"serviceId"`
	ServiceName            string  `json:"serviceName"`
	Group                  string  `json:"group"`
	Status                 string  `json:"status"`
	LastSeen               *string `json:"lastSeen"`
	LastStatus             *string `json:"lastStatus"`
	LastMessage            string  `json:"lastMessage"`
	TimeSinceLastHeartbeat *int64  `json:"timeSinceLastHeartbeat"`
	StalenessThreshold     int64   `json:"stalenessThreshold"`
	Timestamp              string  `json:"timestamp"`
	// Cron jobs: a run is open; the last measured run's milliseconds and the last exit
	// status (absent when unknown); the schedule and its zone (absent without one), the
	// run it expects next; when the status changes next by itself (absent when never).
	Running        bool    `json:"running"`
	LastDuration   *int64  `json:"lastDuration,omitempty"`
	LastExitStatus *int    `json:"lastExitStatus,omitempty"`
	Schedule       string  `json:"schedule,omitempty"`
	Timezone       string  `json:"timezone,omitempty"`
	NextExpected   *string `json:"nextExpected,omitempty"`
	NextDeadline   *string `json:"nextDeadline,omitempty"`
}

// StatusSummary is the counts of GET /api/status (and its page, when paged).
type StatusSummary struct {
	Timestamp        string         `json:"timestamp"`
	TotalServices    int            `json:"totalServices"`
	ServicesUp       int            `json:"servicesUp"`
	ServicesLate     int            `json:"servicesLate"`
	ServicesDegraded int            `json:"servicesDegraded"`
	ServicesDown     int            `json:"servicesDown"`
	ServicesUnknown  int            `json:"servicesUnknown"`
	ServicesPaused   int            `json:"servicesPaused"`
	Results          []StatusResult `json:"results"`
}

// summaryOf is the summary of counts c.
func summaryOf(c store.Counts, timestamp string) StatusSummary {
	return StatusSummary{Timestamp: timestamp, TotalServices: c.Total, ServicesUp: c.Up, ServicesLate: c.Late,
		ServicesDegraded: c.Degraded, ServicesDown: c.Down, ServicesUnknown: c.Unknown, ServicesPaused: c.Paused}
}

// Bounds of GET /api/status?perPage=N.
const (
	defaultPerPage = 100
	MaxPerPage     = 1000
)

// statusQuery is what GET /api/status was asked for: filters, and a page when paged.
type statusQuery struct {
	statuses []monitor.Status // empty: any
	group    string
	hasGroup bool
	q        string // lower case
	paged    bool
	page     int
	perPage  int
}

// parseStatusQuery reads the filters and the page; the error is the 400's message.
func parseStatusQuery(e *core.RequestEvent) (statusQuery, string) {
	v := e.Request.URL.Query()
	sq := statusQuery{q: strings.ToLower(monitor.CleanText(v.Get("q"))), page: 1, perPage: defaultPerPage}
	if raw := v.Get("status"); raw != "" {
		for _, st := range strings.Split(raw, ",") {
			st := monitor.Status(strings.ToLower(strings.TrimSpace(st)))
			if !slices.Contains([]monitor.Status{monitor.Unknown, monitor.Up, monitor.Late, monitor.Degraded, monitor.Down, monitor.Paused}, st) {
				return sq, "status must be up, late, degraded, down, unknown or paused (comma-separated)"
			}
			sq.statuses = append(sq.statuses, st)
		}
	}
	sq.group, sq.hasGroup = v.Get("group"), v.Has("group")
	for _, p := range []struct {
		name string
		into *int
		max  int
	}{{"page", &sq.page, 0}, {"perPage", &sq.perPage, MaxPerPage}} {
		raw := v.Get(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return sq, p.name + " must be a positive integer"
		}
		if p.max > 0 {
			n = min(n, p.max)
		}
		*p.into, sq.paged = n, true
	}
	return sq, ""
}

// match reports whether a service passes the filters.
func (sq statusQuery) match(v *engine.View) bool {
	if len(sq.statuses) > 0 && !slices.Contains(sq.statuses, v.State) {
		return false
	}
	if sq.hasGroup && v.Group != sq.group {
		return false
	}
	return sq.q == "" || strings.Contains(strings.ToLower(v.ServiceID), sq.q) ||
		strings.Contains(strings.ToLower(v.Name), sq.q) || strings.Contains(strings.ToLower(v.Group), sq.q)
}

// StatusGet is GET /api/status: every service's state as the engine has decided it. The
// reply is written as it is read, a few thousand services at a time, so a fleet of any
// size costs a bounded amount of memory. The counts are of the whole fleet; status,
// group and q filter the results, and page/perPage page them (then the summary says
// which page it is and whether there are more).
func (a *API) StatusGet(e *core.RequestEvent) error {
	sq, msg := parseStatusQuery(e)
	if msg != "" {
		return fail(e, http.StatusBadRequest, msg)
	}
	eng := a.Alerts.Engine()
	now := a.Now().UTC()
	var counts store.Counts
	for st, n := range eng.Counts() {
		counts.AddN(st, n)
	}
	head, err := json.Marshal(summaryOf(counts, iso(now)))
	if err != nil {
		return e.InternalServerError("", err)
	}
	// The counts' object is written without its results, which follow as they are read.
	head = bytes.TrimSuffix(head, []byte(`,"results":null}`))
	w := e.Response
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	buf.WriteString(`{"summary":`)
	buf.Write(head)
	buf.WriteString(`,"results":[`)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	skip, want := 0, -1
	if sq.paged {
		skip, want = (sq.page-1)*sq.perPage, sq.perPage
	}
	var cur engine.Cursor
	written, more := 0, false
	for done := false; !done && !more; {
		var views []engine.View
		views, cur, done = eng.Scan(cur, scanBatch, sq.match)
		for i := range views {
			if skip > 0 {
				skip--
				continue
			}
			if want >= 0 && written == want {
				more = true
				break
			}
			if written > 0 {
				buf.WriteByte(',')
			}
			if err := enc.Encode(statusEntry(&views[i], now)); err != nil {
				return err
			}
			buf.Truncate(buf.Len() - 1) // the encoder's newline
			written++
		}
		if buf.Len() > 32<<10 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return nil // the client went away
			}
			buf.Reset()
		}
	}
	buf.WriteByte(']')
	if sq.paged {
		buf.WriteString(`,"page":` + strconv.Itoa(sq.page) + `,"perPage":` + strconv.Itoa(sq.perPage) + `,"hasMore":` + strconv.FormatBool(more))
	}
	buf.WriteString("}}")
	_, err = w.Write(buf.Bytes())
	if err != nil {
		return nil // the client went away; nothing more can be said to it
	}
	return nil
}

// scanBatch is how many services one read of the engine returns to the status route.
const scanBatch = 1000

// statusEntry is one service's entry in /api/status.
func statusEntry(v *engine.View, now time.Time) StatusResult {
	threshold := v.Model.Threshold
	if threshold <= 0 {
		threshold = monitor.DefaultThreshold
	}
	res := StatusResult{
		ServiceID: v.ServiceID, ServiceName: v.DisplayName(), Group: v.Group, Status: string(v.State),
		LastMessage: v.LastMessage, StalenessThreshold: threshold.Milliseconds(), Timestamp: iso(now),
	}
	if seen := v.Model.LastSeen; !seen.IsZero() {
		at, since, last := iso(seen), now.Sub(seen).Milliseconds(), v.Model.LastStatus
		res.LastSeen, res.TimeSinceLastHeartbeat, res.LastStatus = &at, &since, &last
	}
	res.Running = v.Runs.Running()
	if v.Runs.HasDuration {
		ms := v.Runs.LastDuration.Milliseconds()
		res.LastDuration = &ms
	}
	if v.Runs.HasExit {
		code := v.Runs.LastExit
		res.LastExitStatus = &code
	}
	if v.Schedule != "" {
		res.Schedule, res.Timezone = v.Schedule, cmpOr(v.Timezone, "UTC")
	}
	if x := v.Model.Expected; !x.IsZero() {
		at := iso(x)
		res.NextExpected = &at
	}
	if d := v.NextDeadline(); !d.IsZero() {
		at := iso(d)
		res.NextDeadline = &at
	}
	return res
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
