package api

import (
	"net/http"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

type serviceInfo struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Description        string `json:"description"`
	Group              string `json:"group"`
	Enabled            bool   `json:"enabled"`
	Interval           int64  `json:"interval"`
	StalenessThreshold int64  `json:"stalenessThreshold"`
}

// ServicesList is GET /api/services. It never includes a key.
func (a *API) ServicesList(e *core.RequestEvent) error {
	rows, err := store.LoadServices(a.App.DB())
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]serviceInfo, len(rows))
	for i, r := range rows {
		m := r.Model()
		out[i] = serviceInfo{ID: r.ServiceID, Name: r.DisplayName(), Description: r.Description, Group: r.Group,
			Enabled: !r.Paused && !m.PausedUntil.After(a.Now()), Interval: int64(m.Interval / time.Second), StalenessThreshold: int64(m.Threshold / time.Second)}
	}
	return writeJSON(e, http.StatusOK, out)
}
