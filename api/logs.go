package api

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// LogEntry is one entry of GET /api/logs?serviceId=X.
type LogEntry struct {
	ServiceID              string  `json:"serviceId"`
	ServiceName            string  `json:"serviceName"`
	Status                 string  `json:"status"`
	PreviousStatus         string  `json:"previousStatus"`
	LastSeen               *string `json:"lastSeen"`
	TimeSinceLastHeartbeat *int64  `json:"timeSinceLastHeartbeat"`
	StalenessThreshold     int64   `json:"stalenessThreshold"`
	Timestamp              string  `json:"timestamp"`
}

// LogsMiddleware answers GET /api/logs?serviceId=X (LogsList) and passes every other
// request on: PocketBase owns GET /api/logs without a serviceId (the admin log viewer).
func (a *API) LogsMiddleware(e *core.RequestEvent) error {
	if e.Request.Method == "GET" && e.Request.URL.Path == "/api/logs" && e.Request.URL.Query().Has("serviceId") {
		if !a.CanRead(e) {
			return unauthorized(e)
		}
		return a.LogsList(e)
	}
	return e.Next()
}

// Bounds of GET /api/logs?limit=N.
const (
	defaultLogLimit = 100
	maxLogLimit     = 1000
)

// LogsList is GET /api/logs?serviceId=X[&limit=N]: that service's staleness log, newest first.
func (a *API) LogsList(e *core.RequestEvent) error {
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
	svc, err := store.FindService(a.App.DB(), sid)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(e, http.StatusNotFound, monitor.ErrUnknownService)
	} else if err != nil {
		return e.InternalServerError("", err)
	}
	rows, err := store.LoadLogs(a.App.DB(), svc.ID, limit)
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]LogEntry, len(rows))
	for i, r := range rows {
		out[i] = LogEntry{ServiceID: svc.ServiceID, ServiceName: svc.DisplayName(), Status: r.Status, PreviousStatus: r.PreviousStatus,
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
