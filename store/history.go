package store

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
)

// Queries of a service's page.
const (
	SQLIncidents   = "SELECT status, cause, startedAt, endedAt FROM incidents WHERE service = {:id} ORDER BY startedAt DESC LIMIT {:n}"
	SQLCountBeats  = "SELECT COUNT(*) FROM heartbeats WHERE service = {:id}"
	SQLBeatsPage   = "SELECT status, message, metadata, sourceIp, created, IFNULL(kind, '') AS kind, IFNULL(exitStatus, 0) AS exitStatus, IFNULL(rid, '') AS rid, IFNULL(body, '') AS body FROM heartbeats WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:n} OFFSET {:off}"
	SQLLogPage     = "SELECT status, previousStatus, timeSinceLastHeartbeat, created, lastSeen FROM logs WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:n}"
	SQLServiceLogs = "SELECT status, previousStatus, lastSeen, timeSinceLastHeartbeat, stalenessThreshold, created FROM logs WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:limit}"
)

type spanRow struct {
	Service   string `db:"service"`
	Status    string `db:"status"`
	StartedAt string `db:"startedAt"`
	EndedAt   string `db:"endedAt"`
}

// HistoryQueries are the reads of LoadHistories: the incidents and the pauses of some
// services that overlap [from, now].
func HistoryQueries(db dbx.Builder, ids []string, from time.Time) (incidents, pauses *dbx.SelectQuery) {
	where := dbx.And(dbx.In("service", anys(ids)...), dbx.NewExp("(endedAt = '' OR endedAt >= {:from})", dbx.Params{"from": DBDate(from)}))
	return db.Select("service", "status", "startedAt", "endedAt").From("incidents").Where(where),
		db.Select("service", "startedAt", "endedAt").From("pauses").Where(where)
}

// LoadHistories reads the incidents and pauses of the services with the given record
// ids that overlap [from, now], by record id.
func LoadHistories(db dbx.Builder, ids []string, from time.Time) (map[string]*monitor.History, error) {
	out := map[string]*monitor.History{}
	get := func(id string) *monitor.History {
		h := out[id]
		if h == nil {
			h = &monitor.History{}
			out[id] = h
		}
		return h
	}
	var incs, pauses []spanRow
	qi, qp := HistoryQueries(db, ids, from)
	if err := qi.All(&incs); err != nil {
		return nil, fmt.Errorf("store: load incidents: %w", err)
	}
	if err := qp.All(&pauses); err != nil {
		return nil, fmt.Errorf("store: load pauses: %w", err)
	}
	for _, r := range incs {
		h := get(r.Service)
		h.Incidents = append(h.Incidents, monitor.Incident{Status: monitor.Status(r.Status), Span: monitor.Span{Start: ParseDate(r.StartedAt), End: ParseDate(r.EndedAt)}})
	}
	for _, r := range pauses {
		h := get(r.Service)
		h.Paused = append(h.Paused, monitor.Span{Start: ParseDate(r.StartedAt), End: ParseDate(r.EndedAt)})
	}
	return out, nil
}

// IncidentEntry is an incident as a service's page lists it.
type IncidentEntry struct {
	Status    string `db:"status"`
	Cause     string `db:"cause"`
	StartedAt string `db:"startedAt"`
	EndedAt   string `db:"endedAt"`
}

// LoadIncidents reads the newest n incidents of service recordID.
func LoadIncidents(db dbx.Builder, recordID string, n int) ([]IncidentEntry, error) {
	return queryAll[IncidentEntry](db, SQLIncidents, dbx.Params{"id": recordID, "n": n}, "load incidents")
}

// BeatEntry is a heartbeat as a service's page lists it.
type BeatEntry struct {
	Status   string         `db:"status"`
	Message  string         `db:"message"`
	Metadata sql.NullString `db:"metadata"` // NULL when the beat had none, as PocketBase stores an empty JSON field
	SourceIP string         `db:"sourceIp"`
	Created  string         `db:"created"`
	// A ping's kind ("" for a beat), exit status, run id and body (see migrations' cron).
	Kind       string  `db:"kind"`
	ExitStatus float64 `db:"exitStatus"`
	RID        string  `db:"rid"`
	Body       string  `db:"body"`
}

// CountBeats counts the heartbeats of service recordID.
func CountBeats(db dbx.Builder, recordID string) (int, error) {
	var n int
	if err := db.NewQuery(SQLCountBeats).Bind(dbx.Params{"id": recordID}).Row(&n); err != nil {
		return 0, fmt.Errorf("store: count heartbeats: %w", err)
	}
	return n, nil
}

// LoadBeats reads n heartbeats of service recordID, newest first, after skipping off.
func LoadBeats(db dbx.Builder, recordID string, n, off int) ([]BeatEntry, error) {
	rows, err := queryAll[BeatEntry](db, SQLBeatsPage, dbx.Params{"id": recordID, "n": n, "off": off}, "load heartbeats")
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		pageText(&r.Status, &r.Message, &r.Metadata.String, &r.SourceIP, &r.Kind, &r.RID, &r.Body)
	}
	return rows, nil
}

// LogEntry is a staleness log row.
type LogEntry struct {
	Status         string   `db:"status"`
	PreviousStatus string   `db:"previousStatus"`
	LastSeen       string   `db:"lastSeen"`
	Since          *float64 `db:"timeSinceLastHeartbeat"`
	Threshold      float64  `db:"stalenessThreshold"`
	Created        string   `db:"created"`
}

// LoadLogPage reads the newest n log rows of service recordID for its page.
func LoadLogPage(db dbx.Builder, recordID string, n int) ([]LogEntry, error) {
	return queryAll[LogEntry](db, SQLLogPage, dbx.Params{"id": recordID, "n": n}, "load log")
}

// LoadLogs reads the newest limit log rows of service recordID for GET /api/logs.
func LoadLogs(db dbx.Builder, recordID string, limit int) ([]LogEntry, error) {
	return queryAll[LogEntry](db, SQLServiceLogs, dbx.Params{"id": recordID, "limit": limit}, "load logs")
}
