package hooks

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// summaryEntry is one service in a summary's results.
type summaryEntry struct {
	ServiceID              string `json:"serviceId"`
	Status                 string `json:"status"`
	TimeSinceLastHeartbeat *int64 `json:"timeSinceLastHeartbeat"`
}

// checkStaleness is the staleness cron: it evaluates every service at now, writes one
// log per service and one summary, stores each service's new status, and opens or closes
// incidents on transitions — all in one transaction, so a crash leaves no half-run.
func (s *server) checkStaleness(now time.Time) error {
	now = now.UTC()
	return s.app.RunInTransaction(func(tx core.App) error {
		rows, err := loadServices(tx.DB())
		if err != nil {
			return err
		}
		sum := statusSummary{}
		entries := make([]summaryEntry, 0, len(rows))
		logs := make([][]any, 0, len(rows))
		for _, r := range rows {
			m := r.model()
			st, cause := monitor.Evaluate(m, now)
			sum.count(st)
			var since *int64
			var sinceMs int64 // the column is NOT NULL; an empty lastSeen says "never"
			if !m.LastSeen.IsZero() {
				sinceMs = now.Sub(m.LastSeen).Milliseconds()
				since = &sinceMs
			}
			entries = append(entries, summaryEntry{ServiceID: r.ServiceID, Status: string(st), TimeSinceLastHeartbeat: since})
			logs = append(logs, []any{ingest.NewID(now), r.ID, string(st), r.Status, r.LastSeen, sinceMs, m.Threshold.Milliseconds(), dbDate(now)})
			if string(st) != r.Status {
				if err := transition(tx, r, m, st, cause, now); err != nil {
					return err
				}
			}
		}
		if err := insertRows(tx.DB(), "logs", []string{"id", "service", "status", "previousStatus", "lastSeen", "timeSinceLastHeartbeat", "stalenessThreshold", "created"}, logs); err != nil {
			return err
		}
		results, err := json.Marshal(entries)
		if err != nil {
			return fmt.Errorf("hooks: encode summary: %w", err)
		}
		return insertRows(tx.DB(), "summaries",
			[]string{"id", "totalServices", "servicesUp", "servicesLate", "servicesDegraded", "servicesDown", "servicesUnknown", "servicesPaused", "results", "created"},
			[][]any{{ingest.NewID(now), sum.TotalServices, sum.ServicesUp, sum.ServicesLate, sum.ServicesDegraded, sum.ServicesDown, sum.ServicesUnknown, sum.ServicesPaused, string(results), dbDate(now)}})
	})
}

// transition stores a service's new status and keeps its incidents in step: an incident
// is open exactly while the service is down or degraded, one incident per state.
func transition(tx core.App, r serviceRow, m monitor.Service, st monitor.Status, cause monitor.Cause, now time.Time) error {
	at := changedAt(m, st, cause, now)
	_, err := tx.DB().NewQuery("UPDATE services SET status = {:st}, statusChangedAt = {:at} WHERE id = {:id}").
		Bind(dbx.Params{"st": string(st), "at": dbDate(at), "id": r.ID}).Execute()
	if err != nil {
		return fmt.Errorf("hooks: update status: %w", err)
	}
	open, err := tx.FindFirstRecordByFilter("incidents", "service = {:id} && endedAt = ''", dbx.Params{"id": r.ID})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("hooks: find open incident: %w", err)
	}
	if open != nil && open.GetString("status") == string(st) {
		return nil // down stays down: the open incident goes on
	}
	if open != nil {
		end := at
		if started := open.GetDateTime("startedAt").Time(); end.Before(started) {
			end = started
		}
		open.Set("endedAt", end)
		if err := tx.Save(open); err != nil {
			return fmt.Errorf("hooks: close incident: %w", err)
		}
	}
	if !st.IsIncident() {
		return nil
	}
	col, err := tx.FindCachedCollectionByNameOrId("incidents")
	if err != nil {
		return err
	}
	inc := core.NewRecord(col)
	inc.Set("service", r.ID)
	inc.Set("status", string(st))
	inc.Set("cause", string(cause))
	inc.Set("startedAt", at)
	if err := tx.Save(inc); err != nil {
		return fmt.Errorf("hooks: open incident: %w", err)
	}
	return nil
}

// changedAt is when a new state really began, so incidents (and uptime) are exact to
// the beat rather than to the minute of the check: a stale service went down when its
// threshold passed; a reported state, or a recovery, began with the beat that said so.
func changedAt(m monitor.Service, st monitor.Status, cause monitor.Cause, now time.Time) time.Time {
	var at time.Time
	switch {
	case m.LastSeen.IsZero():
		return now
	case cause == monitor.CauseStale:
		at = m.LastSeen.Add(m.Threshold)
	case st == monitor.Late:
		at = m.LastSeen.Add(m.Interval)
	case st == monitor.Paused:
		return now
	default:
		at = m.LastSeen
	}
	if at.After(now) {
		return now
	}
	return at
}
