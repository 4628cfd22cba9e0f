package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/pocketbase/core"
)

// pingIDs reads serviceId -> pingId of every service.
func pingIDs(t *testing.T, app core.App) map[string]string {
	t.Helper()
	var rows []struct {
		ServiceID string `db:"serviceId"`
		PingID    string `db:"pingId"`
	}
	if err := app.DB().NewQuery("SELECT serviceId, pingId FROM services").All(&rows); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ServiceID] = r.PingID
	}
	return out
}

// TestImportGivesEveryServiceAPingID: a service imported from the original worker's
// services.json gets a ping URL like one created in the admin UI (a random v4 UUID of
// its own); before, the bulk insert left pingId empty and /ping/<uuid> could never
// reach an imported service.
func TestImportGivesEveryServiceAPingID(t *testing.T) {
	app := newHookedApp(t)
	runImportCommand(t, app, filepath.Join("testdata", "services.head-example.json"))
	v4 := regexp.MustCompile(migrations.PingIDPattern)
	got := pingIDs(t, app)
	if len(got) != 9 {
		t.Fatalf("services: got %d, want 9", len(got))
	}
	seen := map[string]string{}
	for sid, id := range got {
		if !v4.MatchString(id) || id[14] != '4' {
			t.Errorf("%s: pingId %q, want a random (v4) UUID", sid, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share pingId %q", sid, other, id)
		}
		seen[id] = sid
	}

	// A service an earlier import left without one gets one on the next import.
	if _, err := app.DB().NewQuery("UPDATE services SET pingId = '' WHERE serviceId = 'dev-service'").Execute(); err != nil {
		t.Fatal(err)
	}
	out := runImportCommand(t, app, filepath.Join("testdata", "services.head-example.json"))
	if want := "update service dev-service: pingId generated\n"; !strings.Contains(out, want) {
		t.Errorf("second import: missing %q in\n%s", want, out)
	}
	if want := "services: 0 created, 1 updated, 8 unchanged"; !strings.Contains(out, want) {
		t.Errorf("second import: missing %q in\n%s", want, out)
	}
	if id := pingIDs(t, app)["dev-service"]; !v4.MatchString(id) {
		t.Errorf("dev-service after the second import: pingId %q, want a UUID", id)
	}
}
