package hooks

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

type uptimeDay struct {
	Date             string   `json:"date"`
	UptimePercentage *float64 `json:"uptimePercentage"`
	DowntimeSeconds  *float64 `json:"downtimeSeconds"`
}

type uptimeReply struct {
	ServiceID     string      `json:"serviceId"`
	Days          []uptimeDay `json:"days"`
	OverallUptime *float64    `json:"overallUptime"`
	TotalDays     int         `json:"totalDays"`
}

// uptimeGet is GET /api/uptime?serviceId=X&days=N: daily uptime over the last N UTC days
// (today so far included), oldest first, time-weighted from incidents. A day with no
// monitored time (before the service existed, or paused throughout) is null.
func (s *server) uptimeGet(e *core.RequestEvent) error {
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
	now := s.now().UTC()
	rows, err := store.LoadDatedServices(s.app.DB(), sid)
	if err != nil {
		return e.InternalServerError("", err)
	}
	if len(rows) == 0 {
		return fail(e, http.StatusNotFound, monitor.ErrUnknownService)
	}
	r := rows[0]
	from := store.DayStart(now).AddDate(0, 0, -n)
	hist, err := store.LoadHistories(s.app.DB(), []string{r.ID}, from)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return writeJSON(e, http.StatusOK, uptimeFor(r, hist[r.ID], n, now))
}

// uptimeFor is the /api/uptime answer for one service over n days.
func uptimeFor(r store.DatedService, h *monitor.History, n int, now time.Time) uptimeReply {
	hist := r.History(h)
	days := hist.Timeline(now).Days(n)
	out := uptimeReply{ServiceID: r.ServiceID, Days: make([]uptimeDay, len(days)), TotalDays: len(days)}
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
