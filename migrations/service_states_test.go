package migrations_test

import (
	"testing"

	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/dbx"
)

// TestServiceStatesMigrationKeepsValues: a database made before service_states keeps
// every service's state through the migration, and its interval and threshold 0 become
// the defaults; the down migration puts the state back into services.
func TestServiceStatesMigrationKeepsValues(t *testing.T) {
	app, m := beforeMigration(t, "_service_states.go")
	// Rows as the old schema held them: one service that beat, one that never did.
	_, err := app.DB().NewQuery(`INSERT INTO services (id, serviceId, interval, stalenessThreshold, lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen)
		VALUES ('svcbeat00000001', 'beat', 0, 0, '2026-11-26 12:00:00.000Z', 'degraded', 'disk 91%', 'degraded', '2026-11-26 11:59:00.000Z', '2026-01-01 00:00:00.000Z'),
		       ('svcquiet0000001', 'quiet', 60, 90, '', '', '', 'unknown', '', '')`).Execute()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Up(app); err != nil {
		t.Fatalf("up: %v", err)
	}
	services, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"lastSeen", "lastStatus", "lastMessage", "status", "statusChangedAt", "firstSeen"} {
		if services.Fields.GetByName(f) != nil {
			t.Errorf("services still has %s", f)
		}
	}
	var states []struct {
		ID              string `db:"id"`
		Service         string `db:"service"`
		LastSeen        string `db:"lastSeen"`
		LastStatus      string `db:"lastStatus"`
		LastMessage     string `db:"lastMessage"`
		Status          string `db:"status"`
		StatusChangedAt string `db:"statusChangedAt"`
		FirstSeen       string `db:"firstSeen"`
	}
	if err := app.DB().NewQuery("SELECT id, service, lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen FROM service_states ORDER BY id").All(&states); err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 {
		t.Fatalf("states: %+v, want one per service", states)
	}
	b := states[0]
	if b.ID != "svcbeat00000001" || b.Service != b.ID || b.LastSeen != "2026-11-26 12:00:00.000Z" || b.LastStatus != "degraded" ||
		b.LastMessage != "disk 91%" || b.Status != "degraded" || b.StatusChangedAt != "2026-11-26 11:59:00.000Z" || b.FirstSeen != "2026-01-01 00:00:00.000Z" {
		t.Errorf("state of the service that beat: %+v", b)
	}
	if q := states[1]; q.ID != "svcquiet0000001" || q.LastSeen != "" || q.Status != "unknown" {
		t.Errorf("state of the quiet service: %+v", q)
	}
	var nums []struct {
		Interval  int `db:"interval"`
		Threshold int `db:"stalenessThreshold"`
	}
	if err := app.DB().NewQuery("SELECT interval, stalenessThreshold FROM services ORDER BY id").All(&nums); err != nil {
		t.Fatal(err)
	}
	if len(nums) != 2 || nums[0].Interval != 120 || nums[0].Threshold != 300 || nums[1].Interval != 60 || nums[1].Threshold != 90 {
		t.Errorf("interval and threshold after the migration: %+v, want 0 as 120/300 and set values kept", nums)
	}

	if err := m.Down(app); err != nil {
		t.Fatalf("down again: %v", err)
	}
	back := dbx.NullStringMap{}
	if err := app.DB().NewQuery("SELECT lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen FROM services WHERE id = 'svcbeat00000001'").One(&back); err != nil {
		t.Fatal(err)
	}
	if back["lastSeen"].String != b.LastSeen || back["lastMessage"].String != b.LastMessage || back["firstSeen"].String != b.FirstSeen || back["status"].String != b.Status {
		t.Errorf("services after the down migration: %v", back)
	}
	if _, err := app.FindCollectionByNameOrId("service_states"); err == nil {
		t.Error("service_states survives the down migration")
	}
}
