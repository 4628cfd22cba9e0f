package hooks

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
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

// summaryOf is the summary of counts c.
func summaryOf(c store.Counts, timestamp string) statusSummary {
	return statusSummary{Timestamp: timestamp, TotalServices: c.Total, ServicesUp: c.Up, ServicesLate: c.Late,
		ServicesDegraded: c.Degraded, ServicesDown: c.Down, ServicesUnknown: c.Unknown, ServicesPaused: c.Paused}
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
	rows, err := store.LoadServices(s.app.DB())
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]serviceInfo, len(rows))
	for i, r := range rows {
		m := r.Model()
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
	svc, err := store.FindService(s.app.DB(), sid)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(e, http.StatusNotFound, monitor.ErrUnknownService)
	} else if err != nil {
		return e.InternalServerError("", err)
	}
	rows, err := store.LoadLogs(s.app.DB(), svc.ID, limit)
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]logEntry, len(rows))
	for i, r := range rows {
		out[i] = logEntry{ServiceID: svc.ServiceID, ServiceName: svc.DisplayName(), Status: r.Status, PreviousStatus: r.PreviousStatus,
			StalenessThreshold: int64(r.Threshold), Timestamp: iso(store.ParseDate(r.Created))}
		if t := store.ParseDate(r.LastSeen); !t.IsZero() {
			var ms int64
			if r.Since != nil {
				ms = int64(*r.Since)
			}
			seen := iso(t)
			out[i].LastSeen, out[i].TimeSinceLastHeartbeat = &seen, &ms
		}
	}
	return writeJSON(e, http.StatusOK, out)
}
