package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// Bounds of GET /api/uptime?days=N; incidents are kept 400 days by default.
const (
	defaultUptimeDays = 30
	maxUptimeDays     = 400
)

// UptimeDay is one day of GET /api/uptime; null when nothing was monitored that day.
type UptimeDay struct {
	Date             string   `json:"date"`
	UptimePercentage *float64 `json:"uptimePercentage"`
	DowntimeSeconds  *float64 `json:"downtimeSeconds"`
}

// UptimeReply is the answer of GET /api/uptime.
type UptimeReply struct {
	ServiceID     string      `json:"serviceId"`
	Days          []UptimeDay `json:"days"`
	OverallUptime *float64    `json:"overallUptime"`
	TotalDays     int         `json:"totalDays"`
}

// UptimeGet is GET /api/uptime?serviceId=X&days=N: daily uptime over the last N UTC days
// (today so far included), oldest first, time-weighted from incidents. A day with no
// monitored time (before the service existed, or paused throughout) is null.
func (a *API) UptimeGet(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	sid := q.Get("serviceId")
	if sid == "" {
		return fail(e, http.StatusBadRequest, "serviceId is required")
	}
	if !monitor.ValidServiceID(sid) {
		return fail(e, http.StatusBadRequest, monitor.ErrInvalidFormat)
	}
	n := defaultUptimeDays
	if v := q.Get("days"); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 1 || d > maxUptimeDays {
			return fail(e, http.StatusBadRequest, "days must be an integer from 1 to "+strconv.Itoa(maxUptimeDays))
		}
		n = d
	}
	now := a.Now().UTC()
	rows, err := store.LoadDatedServices(a.App.DB(), sid)
	if err != nil {
		return e.InternalServerError("", err)
	}
	if len(rows) == 0 {
		return fail(e, http.StatusNotFound, monitor.ErrUnknownService)
	}
	r := rows[0]
	from := store.DayStart(now).AddDate(0, 0, -n)
	hist, err := store.LoadHistories(a.App.DB(), []string{r.ID}, from)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return writeJSON(e, http.StatusOK, uptimeFor(r, hist[r.ID], n, now))
}

// uptimeFor is the /api/uptime answer for one service over n days.
func uptimeFor(r store.DatedService, h *monitor.History, n int, now time.Time) UptimeReply {
	hist := r.History(h)
	days := hist.Timeline(now).Days(n)
	out := UptimeReply{ServiceID: r.ServiceID, Days: make([]UptimeDay, len(days)), TotalDays: len(days)}
	for i, d := range days {
		out.Days[i].Date = d.Date.Format(time.DateOnly)
		if p, ok := d.Percentage(); ok {
			secs := d.Down.Seconds()
			out.Days[i].UptimePercentage, out.Days[i].DowntimeSeconds = &p, &secs
		}
	}
	if p, ok := monitor.Sum(days).Percentage(); ok && !math.IsNaN(p) {
		out.OverallUptime = &p
	}
	return out
}
