package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
)

// TestWarmFleetStoresEachServiceUp: a warmed fleet starts with every bench service up,
// its last beat at the warm-up time, in its service_states record, and with the interval
// one round of the load fits in.
func TestWarmFleetStoresEachServiceUp(t *testing.T) {
	const n = 5
	data := filepath.Join(t.TempDir(), "data")
	app := newApp(t, data)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if err := bulkInsertServices(context.Background(), data, 0, n, now, false); err != nil {
		t.Fatal(err)
	}
	if err := warmFleet(context.Background(), data, now, 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Interval  int    `db:"interval"`
		Threshold int    `db:"stalenessThreshold"`
		LastSeen  string `db:"lastSeen"`
		Status    string `db:"status"`
		FirstSeen string `db:"firstSeen"`
	}
	err := app.DB().NewQuery(`SELECT s.interval, s.stalenessThreshold, IFNULL(st.lastSeen, '') AS lastSeen, IFNULL(st.status, '') AS status,
		IFNULL(st.firstSeen, '') AS firstSeen FROM services s LEFT JOIN service_states st ON st.id = s.id WHERE s.serviceId LIKE {:p}`).
		Bind(dbx.Params{"p": "sb-%"}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d bench services, want %d", len(rows), n)
	}
	at := now.Format(pbDateLayout)
	for i, r := range rows {
		if r.Interval != 240 || r.Threshold != 480 || r.LastSeen != at || r.Status != "up" || r.FirstSeen != at {
			t.Errorf("service %d after the warm-up: %+v, want interval 240, threshold 480, up since %s", i, r, at)
		}
	}
}
