package hooks

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

type statusResult struct {
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
}

type statusSummary struct {
	Timestamp        string         `json:"timestamp"`
	TotalServices    int            `json:"totalServices"`
	ServicesUp       int            `json:"servicesUp"`
	ServicesLate     int            `json:"servicesLate"`
	ServicesDegraded int            `json:"servicesDegraded"`
	ServicesDown     int            `json:"servicesDown"`
	ServicesUnknown  int            `json:"servicesUnknown"`
	ServicesPaused   int            `json:"servicesPaused"`
	Results          []statusResult `json:"results"`
}

// add counts n services in state st.
func (sum *statusSummary) add(st monitor.Status, n int) {
	sum.TotalServices += n
	switch st {
	case monitor.Up:
		sum.ServicesUp += n
	case monitor.Late:
		sum.ServicesLate += n
	case monitor.Degraded:
		sum.ServicesDegraded += n
	case monitor.Down:
		sum.ServicesDown += n
	case monitor.Paused:
		sum.ServicesPaused += n
	default:
		sum.ServicesUnknown += n
	}
}

type serviceInfo struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Description        string `json:"description"`
	Group              string `json:"group"`
	Enabled            bool   `json:"enabled"`
	Interval           int64  `json:"interval"`
	StalenessThreshold int64  `json:"stalenessThreshold"`
}

// servicesList is GET /api/services. It never includes a key.
func (s *server) servicesList(e *core.RequestEvent) error {
	rows, err := loadServices(s.app.DB())
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]serviceInfo, len(rows))
	for i, r := range rows {
		m := r.model()
		out[i] = serviceInfo{ID: r.ServiceID, Name: r.DisplayName(), Description: r.Description, Group: r.Group,
			Enabled: !r.Paused && !m.PausedUntil.After(s.now()), Interval: int64(m.Interval / time.Second), StalenessThreshold: int64(m.Threshold / time.Second)}
	}
	return writeJSON(e, http.StatusOK, out)
}

type logEntry struct {
	ServiceID              string  `json:"serviceId"`
	ServiceName            string  `json:"serviceName"`
	Status                 string  `json:"status"`
	PreviousStatus         string  `json:"previousStatus"`
	LastSeen               *string `json:"lastSeen"`
	TimeSinceLastHeartbeat *int64  `json:"timeSinceLastHeartbeat"`
	StalenessThreshold     int64   `json:"stalenessThreshold"`
	Timestamp              string  `json:"timestamp"`
}

type logRow struct {
	Status         string  `db:"status"`
	PreviousStatus string  `db:"previousStatus"`
	LastSeen       string  `db:"lastSeen"`
	Since          float64 `db:"timeSinceLastHeartbeat"`
	Threshold      float64 `db:"stalenessThreshold"`
	Created        string  `db:"created"`
}

// Bounds of GET /api/logs?limit=N.
const (
	defaultLogLimit = 100
	maxLogLimit     = 1000
)

// logsList is GET /api/logs?serviceId=X[&limit=N]: that service's staleness log, newest first.
func (s *server) logsList(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	limit := defaultLogLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail(e, http.StatusBadRequest, "limit must be a positive integer")
		}
		limit = min(n, maxLogLimit)
	}
	sid := q.Get("serviceId")
	if !monitor.ValidServiceID(sid) {
		return fail(e, http.StatusBadRequest, "Invalid service format")
	}
	svc, err := findService(s.app.DB(), sid)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(e, http.StatusNotFound, monitor.ErrUnknownService)
	} else if err != nil {
		return e.InternalServerError("", err)
	}
	var rows []logRow
	err = s.app.DB().NewQuery("SELECT status, previousStatus, lastSeen, timeSinceLastHeartbeat, stalenessThreshold, created FROM logs WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:limit}").
		Bind(dbx.Params{"id": svc.ID, "limit": limit}).All(&rows)
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]logEntry, len(rows))
	for i, r := range rows {
		out[i] = logEntry{ServiceID: svc.ServiceID, ServiceName: svc.DisplayName(), Status: r.Status, PreviousStatus: r.PreviousStatus,
			StalenessThreshold: int64(r.Threshold), Timestamp: iso(parseDate(r.Created))}
		if t := parseDate(r.LastSeen); !t.IsZero() {
			seen, ms := iso(t), int64(r.Since)
			out[i].LastSeen, out[i].TimeSinceLastHeartbeat = &seen, &ms
		}
	}
	return writeJSON(e, http.StatusOK, out)
}
