// Package store owns every SQL statement of the monitor: the query strings are named
// constants (dbx named parameters {:x}, or ? in the writer's Ops), the rows they read
// are the types below, and each read or write is a function taking the database it runs
// on. It returns its own rows; the callers turn them into engine, notify or view values.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/dbx"
)

// DBs is the two handles of the database a store function may need: the readers and
// the one writer connection. core.App satisfies it.
type DBs interface {
	DB() dbx.Builder
	NonconcurrentDB() dbx.Builder
}

// ParseDate reads a PocketBase date; empty or malformed is the zero time.
func ParseDate(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(ingest.DateLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// DBDate formats t as PocketBase stores dates; the zero time is "".
func DBDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ingest.DateLayout)
}

// DayStart is the UTC midnight that begins t's day.
func DayStart(t time.Time) time.Time {
	n := t.UTC()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// JSONList decodes a JSON list column (a relation or select of many values); empty
// and null are no values.
func JSONList(raw string, into *[]string) error {
	if raw == "" || raw == "null" {
		return nil
	}
	if err := json.Unmarshal([]byte(raw), into); err != nil {
		return fmt.Errorf("store: decode list %q: %w", raw, err)
	}
	return nil
}

// InsertRows inserts rows into table in multi-row statements; params are always bound.
func InsertRows(db dbx.Builder, table string, cols []string, rows [][]any) error {
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
			return fmt.Errorf("store: insert %s: %w", table, err)
		}
	}
	return nil
}

// queryAll runs the read q with params and returns its rows; op names it in the error.
func queryAll[T any](db dbx.Builder, q string, params dbx.Params, op string) ([]T, error) {
	var rows []T
	if err := db.NewQuery(q).Bind(params).All(&rows); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return rows, nil
}

// eachRow runs q and calls row for each row, one at a time (the streamed loads of a whole
// fleet). An error from row stops the read and is returned as it is; errors of the query
// itself are wrapped with op.
func eachRow(q *dbx.Query, op string, row func(*dbx.Rows) error) (err error) {
	rows, err := q.Rows()
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("store: %s: close: %w", op, cerr))
		}
	}()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// anys is ids as the arguments of dbx.In.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
