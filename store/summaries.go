package store

import (
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
)

// Counts is how many services are in each state.
type Counts = monitor.Counts

// InsertSummary stores the minute's summary: the counts, and results (JSON).
func InsertSummary(db dbx.Builder, c Counts, results string, now time.Time) error {
	return InsertRows(db, "summaries",
		[]string{"id", "totalServices", "servicesUp", "servicesLate", "servicesDegraded", "servicesDown", "servicesUnknown", "servicesPaused", "results", "created"},
		[][]any{{ingest.NewID(now), c.Total, c.Up, c.Late, c.Degraded, c.Down, c.Unknown, c.Paused, results, DBDate(now)}})
}
