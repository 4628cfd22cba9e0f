package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
)

// TestEachEngineServiceReadsEveryServiceOnce: the streamed read hands over every stored
// service once, with its settings, and an error from the caller stops it.
func TestEachEngineServiceReadsEveryServiceOnce(t *testing.T) {
	app := newTestApp(t)
	for _, sid := range []string{"b", "a", "c"} {
		saveService(t, app, map[string]any{"serviceId": sid, "group": "g-" + sid})
	}
	var got []string
	err := store.EachEngineService(app.DB(), func(r store.EngineServiceRow) error {
		got = append(got, r.ServiceID+"/"+r.Group)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"a/g-a", "b/g-b", "c/g-c"}; !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	stop := errors.New("stop")
	n := 0
	err = store.EachEngineService(app.DB(), func(store.EngineServiceRow) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("after the caller's error: err %v after %d rows, want stop after 1", err, n)
	}
}

// TestEngineServiceScanMatchesColumns: the streamed read's plain Scan puts every column
// where dbx's reflective read (by column name) puts it, for a service with every field
// and a stored state set, so the two reads cannot drift apart.
func TestEngineServiceScanMatchesColumns(t *testing.T) {
	app := newTestApp(t)
	parent := saveService(t, app, map[string]any{"serviceId": "parent"})
	r := saveService(t, app, map[string]any{"serviceId": "svc", "name": "Name", "description": "Desc", "group": "grp",
		"interval": 61, "stalenessThreshold": 301, "paused": true, "pausedUntil": "2030-01-02 03:04:05.000Z",
		"dependsOn": []string{parent.Id}, "reminderMinutes": 7})
	if _, err := app.DB().NewQuery(`INSERT INTO service_states (id, service, lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen)
		VALUES ({:id}, {:id}, '2026-01-01 00:00:01.000Z', 'degraded', 'msg', 'late', '2026-01-01 00:00:02.000Z', '2025-12-31 00:00:00.000Z')`).
		Bind(map[string]any{"id": r.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	want, err := store.LoadEngineService(app.DB(), r.Id)
	if err != nil {
		t.Fatal(err)
	}
	if want.LastStatus != "degraded" || want.Status != "late" || !want.Paused || want.ReminderMinutes != 7 || want.DependsOn == "" {
		t.Fatalf("the reflective read itself lost fields: %+v", want)
	}
	var got store.EngineServiceRow
	err = store.EachEngineService(app.DB(), func(row store.EngineServiceRow) error {
		if row.ID == r.Id {
			got = row
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("streamed row\n %+v\nwant (by column name)\n %+v", got, want)
	}
}
