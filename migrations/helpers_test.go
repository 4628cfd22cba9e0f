package migrations_test

import (
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// beforeMigration is a test app, cleaned up when the test ends, whose database is as it
// was before the registered migration whose file ends in suffix (that migration run
// down), and that migration.
func beforeMigration(t *testing.T, suffix string) (*tests.TestApp, *core.Migration) {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	for _, m := range core.AppMigrations.Items() {
		if strings.HasSuffix(m.File, suffix) {
			if err := m.Down(app); err != nil {
				t.Fatalf("down: %v", err)
			}
			return app, m
		}
	}
	t.Fatalf("no *%s migration is registered", suffix)
	return nil, nil
}
