package api

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// alertReply is the original worker's answer to POST /api/alert.
type alertReply struct {
	Success      bool     `json:"success"`
	Message      string   `json:"message"`
	AlertTitle   string   `json:"alertTitle,omitempty"`
	ChannelsSent []string `json:"channelsSent,omitzero"` // [] when none took it; absent on errors
	Errors       []string `json:"errors,omitempty"`
}

// AlertCreate is POST /api/alert: authorise (an api key with the alert scope), parse
// (Alertmanager, Grafana or generic), route, then store the alert with one pending
// notification per channel in one transaction, and answer.
func (a *API) AlertCreate(e *core.RequestEvent) error {
	if _, ok := a.Registry.AuthorizeScope(bearer(e.Request), ingest.ScopeAlert); !ok {
		return writeJSON(e, http.StatusUnauthorized, alertReply{Message: "Unauthorized - Invalid or missing API key"})
	}
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, monitor.MaxAlertBodyBytes+1))
	if err != nil {
		return writeJSON(e, http.StatusBadRequest, alertReply{Message: "Could not read request body"})
	}
	if len(body) > monitor.MaxAlertBodyBytes {
		return writeJSON(e, http.StatusRequestEntityTooLarge, alertReply{Message: "Request body too large (max 256 KiB)"})
	}
	alert, err := monitor.ParseExternalAlert(body)
	var bad *monitor.AlertError
	if errors.As(err, &bad) {
		return writeJSON(e, http.StatusBadRequest, alertReply{Message: bad.Msg})
	}
	if err != nil {
		return e.InternalServerError("", err)
	}
	now := a.Now().UTC()
	sent, unknown, err := a.Alerts.SendExternal(alert, now)
	if err != nil {
		return e.InternalServerError("", err)
	}
	// The original worker listed every channel's name beside an unknown one; an alert
	// key is for sending alerts, not for learning how the alerting is set up.
	if len(unknown) > 0 {
		reply := alertReply{Message: "Alert validation failed", AlertTitle: alert.Title}
		for _, name := range unknown {
			reply.Errors = append(reply.Errors, "Unknown channel: "+name)
		}
		return writeJSON(e, http.StatusBadRequest, reply)
	}
	reply := alertReply{Success: true, Message: "Alert processed and notifications sent", AlertTitle: alert.Title, ChannelsSent: sent}
	return writeJSON(e, http.StatusOK, reply)
}

// RecentAlert is one entry of GET /api/alerts/recent.
type RecentAlert struct {
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Message   string            `json:"message"`
	Severity  string            `json:"severity"`
	Source    string            `json:"source"`
	Status    string            `json:"status,omitempty"`
	Format    string            `json:"format"`
	URL       string            `json:"url,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Channels  []string          `json:"channels"`
	Timestamp string            `json:"timestamp"`
}

// RecentReply is the answer of GET /api/alerts/recent.
type RecentReply struct {
	Success     bool          `json:"success"`
	Alerts      []RecentAlert `json:"alerts"`
	Count       int           `json:"count"`
	PeriodHours float64       `json:"periodHours"`
}

// Bounds of GET /api/alerts/recent.
const (
	defaultRecentLimit = 20
	maxRecentLimit     = 100
	defaultRecentHours = 24.0
)

// AlertsRecent is GET /api/alerts/recent?since=&hours=&limit=: external alerts newest
// first, after since (an ISO-8601 time) or else within the last hours (0: no bound).
func (a *API) AlertsRecent(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	limit, hours := defaultRecentLimit, defaultRecentHours
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return writeJSON(e, http.StatusBadRequest, alertReply{Message: "limit must be a positive integer"})
		}
		limit = min(n, maxRecentLimit)
	}
	if v := q.Get("hours"); v != "" {
		h, err := strconv.ParseFloat(v, 64)
		if err != nil || h < 0 || math.IsNaN(h) || math.IsInf(h, 0) {
			return writeJSON(e, http.StatusBadRequest, alertReply{Message: "hours must be a number of hours, 0 or more"})
		}
		hours = h
	}
	now := a.Now().UTC()
	after := ""
	switch since := q.Get("since"); {
	case since != "":
		t, err := time.Parse(time.RFC3339Nano, strings.Replace(since, " ", "+", 1)) // an unescaped + arrives as a space
		if err != nil {
			return writeJSON(e, http.StatusBadRequest, alertReply{Message: "since must be an ISO-8601 time, e.g. 2025-11-26T12:00:00Z"})
		}
		after = store.DBDate(t)
	case hours > 0:
		after = store.DBDate(now.Add(-time.Duration(hours * float64(time.Hour))))
	}
	rows, err := store.RecentAlerts(e.App.DB(), after, limit)
	if err != nil {
		return e.InternalServerError("", err)
	}
	names, err := store.ChannelNames(e.App.DB())
	if err != nil {
		return e.InternalServerError("", err)
	}
	reply := RecentReply{Success: true, Alerts: make([]RecentAlert, 0, len(rows)), PeriodHours: hours}
	for _, r := range rows {
		item := RecentAlert{ID: r.ID, Title: r.Title, Message: r.Message, Severity: r.Severity, Source: r.Source, Status: r.Status,
			Format: r.Format, URL: r.URL, Channels: []string{}, Timestamp: iso(store.ParseDate(r.Created))}
		if r.Labels != "" && r.Labels != "null" {
			if err := json.Unmarshal([]byte(r.Labels), &item.Labels); err != nil {
				return e.InternalServerError("", err)
			}
		}
		var ids []string
		if err := store.JSONList(r.Channels, &ids); err != nil {
			return e.InternalServerError("", err)
		}
		for _, id := range ids {
			if n, ok := names[id]; ok {
				item.Channels = append(item.Channels, n)
			}
		}
		reply.Alerts = append(reply.Alerts, item)
	}
	reply.Count = len(reply.Alerts)
	return writeJSON(e, http.StatusOK, reply)
}
