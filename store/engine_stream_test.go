package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
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

// TestStartupServiceScanMatchesColumns: the start-up scan reads every setting as the
// reflective read does (the cron settings packed in one column, absent when empty), and
// the key and pingId beside them; the state is left to the second scan.
func TestStartupServiceScanMatchesColumns(t *testing.T) {
	app := newTestApp(t)
	plain := saveService(t, app, map[string]any{"serviceId": "plain", "name": "Plain", "interval": 61, "stalenessThreshold": 301})
	cron := saveService(t, app, map[string]any{"serviceId": "cron", "schedule": "30 3 * * *", "timezone": "Europe/Riga",
		"grace": 1800, "maxRuntime": 7200, "paused": true, "reminderMinutes": 7})
	got := map[string]store.EngineServiceRow{}
	keys := map[string]string{}
	err := store.EachStartupService(app.DB(), func(r store.EngineServiceRow, apiKey, pingID string) error {
		got[r.ID], keys[r.ID] = r, apiKey+" "+pingID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []*core.Record{plain, cron} {
		want, err := store.LoadEngineService(app.DB(), rec.Id)
		if err != nil {
			t.Fatal(err)
		}
		want.ServiceRow.LastSeen, want.LastStatus, want.LastMessage, want.Status, want.StatusChangedAt, want.Runs = "", "", "", "", "", ""
		if got[rec.Id] != want {
			t.Errorf("start-up row of %s\n %+v\nwant\n %+v", rec.GetString("serviceId"), got[rec.Id], want)
		}
		if k := rec.GetString("apiKey") + " " + rec.GetString("pingId"); keys[rec.Id] != k || len(k) < 40 {
			t.Errorf("key and pingId of %s: %q, want %q", rec.GetString("serviceId"), keys[rec.Id], k)
		}
	}
	if c := got[cron.Id]; c.Schedule != "30 3 * * *" || c.Timezone != "Europe/Riga" || c.Grace != 1800 || c.MaxRuntime != 7200 {
		t.Errorf("cron settings read at start-up: %+v", c.CronRow)
	}
}
