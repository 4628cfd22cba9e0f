package hooks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
)

// serviceRow is a services record as the read routes and the staleness check need it.
type serviceRow struct {
	ID              string  `db:"id"`
	ServiceID       string  `db:"serviceId"`
	Name            string  `db:"name"`
	Description     string  `db:"description"`
	Group           string  `db:"group"`
	Interval        float64 `db:"interval"`
	Threshold       float64 `db:"stalenessThreshold"`
	Paused          bool    `db:"paused"`
	LastSeen        string  `db:"lastSeen"`
	LastStatus      string  `db:"lastStatus"`
	LastMessage     string  `db:"lastMessage"`
	Status          string  `db:"status"`
	StatusChangedAt string  `db:"statusChangedAt"`
	PausedUntil     string  `db:"pausedUntil"`
}

const serviceColumns = "id, serviceId, name, description, [[group]], interval, stalenessThreshold, paused, lastSeen, lastStatus, lastMessage, status, statusChangedAt, pausedUntil"

// loadServices reads every service, ordered by group then serviceId.
func loadServices(db dbx.Builder) ([]serviceRow, error) {
	var rows []serviceRow
	err := db.NewQuery("SELECT " + serviceColumns + " FROM services ORDER BY [[group]], serviceId").All(&rows)
	if err != nil {
		return nil, fmt.Errorf("hooks: load services: %w", err)
	}
	return rows, nil
}

// findService reads one service by its serviceId.
func findService(db dbx.Builder, serviceID string) (serviceRow, error) {
	var row serviceRow
	err := db.NewQuery("SELECT " + serviceColumns + " FROM services WHERE serviceId = {:sid}").
		Bind(dbx.Params{"sid": serviceID}).One(&row)
	return row, err
}

// DisplayName is the name people see: the name, or the serviceId when it has none.
func (r serviceRow) DisplayName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.ServiceID
}

// model converts the row into what monitor.Evaluate takes.
func (r serviceRow) model() monitor.Service {
	return monitor.Service{
		LastSeen:    parseDate(r.LastSeen),
		LastStatus:  r.LastStatus,
		Interval:    seconds(r.Interval, monitor.DefaultInterval),
		Threshold:   seconds(r.Threshold, monitor.DefaultThreshold),
		Paused:      r.Paused,
		PausedUntil: parseDate(r.PausedUntil),
	}
}

func seconds(v float64, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return time.Duration(v * float64(time.Second))
}

// parseDate reads a PocketBase date; empty or malformed is the zero time.
func parseDate(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(ingest.DateLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func dbDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ingest.DateLayout)
}

// insertRows inserts rows into table in multi-row statements; params are always bound.
func insertRows(db dbx.Builder, table string, cols []string, rows [][]any) error {
	const perStatement = 200
	for start := 0; start < len(rows); start += perStatement {
		chunk := rows[start:min(start+perStatement, len(rows))]
		params := dbx.Params{}
		values := make([]string, len(chunk))
		for i, row := range chunk {
			names := make([]string, len(row))
			for j, v := range row {
				name := "p" + strconv.Itoa(i) + "_" + strconv.Itoa(j)
				params[name] = v
				names[j] = "{:" + name + "}"
			}
			values[i] = "(" + strings.Join(names, ",") + ")"
		}
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = "[[" + c + "]]"
		}
		q := "INSERT INTO " + table + " (" + strings.Join(quoted, ",") + ") VALUES " + strings.Join(values, ",")
		if _, err := db.NewQuery(q).Bind(params).Execute(); err != nil {
			return fmt.Errorf("hooks: insert %s: %w", table, err)
		}
	}
	return nil
}
