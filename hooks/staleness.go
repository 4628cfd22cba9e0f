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
// log per service and one summary, stores each service's new status, opens or closes
// incidents on transitions and queues their notifications — all in one transaction, so
// a crash leaves no half-run. The alert ticker does the same between runs, without the
// logs and summary; whichever sees a transition first carries it out.
func (s *server) checkStaleness(now time.Time) error {
	now = now.UTC()
	queued := 0
	err := s.app.RunInTransaction(func(tx core.App) error {
		st, err := loadAlertState(tx.DB(), now)
		if err != nil {
			return err
		}
		plan := s.planAlerts(st, now)
		sum := statusSummary{}
		entries := make([]summaryEntry, 0, len(st.rows))
		logs := make([][]any, 0, len(st.rows))
		for i, r := range st.rows {
			m, status := r.model(), plan[i].Status
			sum.count(status)
			var since *int64
			var sinceMs int64 // the column is NOT NULL; an empty lastSeen says "never"
			if !m.LastSeen.IsZero() {
				sinceMs = now.Sub(m.LastSeen).Milliseconds()
				since = &sinceMs
			}
			entries = append(entries, summaryEntry{ServiceID: r.ServiceID, Status: string(status), TimeSinceLastHeartbeat: since})
			logs = append(logs, []any{ingest.NewID(now), r.ID, string(status), r.Status, r.LastSeen, sinceMs, m.Threshold.Milliseconds(), dbDate(now)})
		}
		if queued, err = s.applyAlerts(tx, st, plan, now); err != nil {
			return err
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
	if err == nil && queued > 0 {
		s.wakeNotifier()
	}
	return err
}

// transition stores a service's new status and keeps its incidents in step: an incident
// is open exactly while the service is down or degraded, one incident per state. It
// returns when the new state began and the id of the incident it opened, if any; an
// opened incident whose alert is queued with it is marked alerted.
func transition(tx core.App, r serviceRow, m monitor.Service, st monitor.Status, cause monitor.Cause, now time.Time, alerted bool) (string, time.Time, error) {
	at := changedAt(m, st, cause, now)
	if prev := parseDate(r.StatusChangedAt); at.Before(prev) && !prev.After(now) {
		at = prev // a state cannot begin before the one it ends (e.g. stale through a pause)
	}
	_, err := tx.DB().NewQuery("UPDATE services SET status = {:st}, statusChangedAt = {:at} WHERE id = {:id}").
		Bind(dbx.Params{"st": string(st), "at": dbDate(at), "id": r.ID}).Execute()
	if err != nil {
		return "", at, fmt.Errorf("hooks: update status: %w", err)
	}
	open, err := tx.FindFirstRecordByFilter("incidents", "service = {:id} && endedAt = ''", dbx.Params{"id": r.ID})
	if err != nil && !isNotFound(err) {
		return "", at, fmt.Errorf("hooks: find open incident: %w", err)
	}
	if open != nil && open.GetString("status") == string(st) {
		return "", at, nil // down stays down: the open incident goes on
	}
	if open != nil {
		end := at
		if started := open.GetDateTime("startedAt").Time(); end.Before(started) {
			end = started
		}
		open.Set("endedAt", end)
		if err := tx.Save(open); err != nil {
			return "", at, fmt.Errorf("hooks: close incident: %w", err)
		}
	}
	if !st.IsIncident() {
		return "", at, nil
	}
	col, err := tx.FindCachedCollectionByNameOrId("incidents")
	if err != nil {
		return "", at, err
	}
	inc := core.NewRecord(col)
	inc.Set("service", r.ID)
	inc.Set("status", string(st))
	inc.Set("cause", string(cause))
	inc.Set("startedAt", at)
	if alerted {
		inc.Set("alertedAt", now)
	}
	if err := tx.Save(inc); err != nil {
		return "", at, fmt.Errorf("hooks: open incident: %w", err)
	}
	return inc.Id, at, nil
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
