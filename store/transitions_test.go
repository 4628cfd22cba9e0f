package store_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
)

// TestWriteTransitionsManyStates: the new states of more services than one statement
// carries are all stored (the last of two for one service wins), a service deleted
// meanwhile gets no row, and the other statements still run.
func TestWriteTransitionsManyStates(t *testing.T) {
	app := newTestApp(t)
	const n = 450
	ids := make([]string, n)
	for i := range ids {
		ids[i] = saveService(t, app, map[string]any{"serviceId": fmt.Sprintf("svc-%03d", i)}).Id
	}
	at := store.DBDate(time.Date(2026, 11, 30, 21, 5, 0, 0, time.UTC))
	var rows store.TransitionRows
	for _, id := range ids {
		rows.Updates = append(rows.Updates, []any{store.SQLSetStatus, "late", at, id})
	}
	rows.Updates = append(rows.Updates, []any{store.SQLSetStatus, "down", at, ids[7]})           // a second change of one service
	rows.Updates = append(rows.Updates, []any{store.SQLSetStatus, "down", at, "deleted0000001"}) // gone meanwhile
	rows.Updates = append(rows.Updates, []any{store.SQLCloseIncident, at, at, "no-such-incident"})
	db := app.NonconcurrentDB().(interface{ DB() *sql.DB }).DB()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteTransitions(tx, rows); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var list []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
		Since  string `db:"statusChangedAt"`
	}
	if err := app.DB().NewQuery("SELECT id, status, statusChangedAt FROM service_states").All(&list); err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		counts[r.Status]++
		if r.Since != at {
			t.Errorf("%s since %q, want %q", r.ID, r.Since, at)
		}
		if r.ID == "deleted0000001" {
			t.Error("a deleted service got a state row")
		}
	}
	if counts["late"] != n-1 || counts["down"] != 1 || len(list) != n {
		t.Errorf("states stored: %v of %d rows; want %d late and 1 down", counts, len(list), n-1)
	}
}
