package migrations_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/pocketbase/core"
)

// TestCronMigrationGivesEveryServiceAPingID: services made before pingId existed get a
// distinct random UUID each, a new service gets one generated, and a hand-set pingId
// that is no UUID is refused; the down migration removes the fields again.
func TestCronMigrationGivesEveryServiceAPingID(t *testing.T) {
	app, m := beforeMigration(t, "_cron.go")
	if _, err := app.DB().NewQuery(`INSERT INTO services (id, serviceId, interval, stalenessThreshold)
		VALUES ('svcold000000001', 'old-1', 120, 300), ('svcold000000002', 'old-2', 120, 300)`).Execute(); err != nil {
		t.Fatal(err)
	}
	if err := m.Up(app); err != nil {
		t.Fatalf("up: %v", err)
	}
	uuid := regexp.MustCompile(migrations.PingIDPattern)
	var ids []string
	if err := app.DB().NewQuery("SELECT pingId FROM services ORDER BY id").Column(&ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("pingIds after the migration: %q, want two distinct", ids)
	}
	for _, id := range ids {
		if !uuid.MatchString(id) || id[14] != '4' {
			t.Errorf("pingId %q is not a random (version 4) UUID", id)
		}
	}

	col, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("serviceId", "new-1")
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	if got := rec.GetString("pingId"); !uuid.MatchString(got) {
		t.Errorf("a new service's pingId %q is not a UUID", got)
	}
	bad := core.NewRecord(col)
	bad.Set("serviceId", "new-2")
	bad.Set("pingId", "not-a-uuid")
	if err := app.Save(bad); err == nil || !strings.Contains(err.Error(), "pingId") {
		t.Errorf("a pingId that is no UUID: err %v, want a refusal naming pingId", err)
	}
	dup := core.NewRecord(col)
	dup.Set("serviceId", "new-3")
	dup.Set("pingId", ids[0])
	if err := app.Save(dup); err == nil {
		t.Error("a second service took another's pingId")
	}

	if err := m.Down(app); err != nil {
		t.Fatalf("down: %v", err)
	}
	col, err = app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	if col.Fields.GetByName("pingId") != nil || col.Fields.GetByName("schedule") != nil {
		t.Error("the down migration left the cron fields")
	}
}
