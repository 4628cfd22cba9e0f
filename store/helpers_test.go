package store_test

import (
	"testing"

	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// newTestApp is a PocketBase test app in a temporary directory with the schema's
// migrations applied, cleaned up when the test ends.
func newTestApp(t *testing.T) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	return app
}

// saveService saves a new services record with fields set and returns it.
func saveService(t *testing.T, app core.App, fields map[string]any) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	return r
}
