package app

import (
	"slices"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// typeValues is what the admin UI's type dropdown of channels offers.
func typeValues(t *testing.T, app core.App) []string {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		t.Fatal(err)
	}
	f, ok := col.Fields.GetByName("type").(*core.SelectField)
	if !ok {
		t.Fatal("channels.type is not a select field")
	}
	return f.Values
}

// setTypeValues stands in for a database whose dropdown was made before some types
// existed.
func setTypeValues(t *testing.T, app core.App, values []string) {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		t.Fatal(err)
	}
	col.Fields.GetByName("type").(*core.SelectField).Values = values
	if err := app.Save(col); err != nil {
		t.Fatal(err)
	}
}

// TestChannelTypesSyncedAtStart: a database whose dropdown lists fewer types than the
// registry (one made by an older version) lists every registered type once the server
// has started, and a channel of a type it lacked can then be saved.
func TestChannelTypesSyncedAtStart(t *testing.T) {
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	setTypeValues(t, app, []string{"webhook", "slack"})

	cfg := DefaultConfig()
	cfg.ManualEngine = true
	register(app, &cfg)
	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.OnServe().Trigger(&core.ServeEvent{App: app, Router: router}, func(e *core.ServeEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}

	if got, want := typeValues(t, app), notify.Types(); !slices.Equal(got, want) {
		t.Errorf("type dropdown after start: got %v, want %v", got, want)
	}
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Load(map[string]any{"name": "pd", "type": "pagerduty", "secrets": map[string]any{"routingKey": "R1"}})
	if err := app.Save(r); err != nil {
		t.Errorf("a pagerduty channel after the sync: %v", err)
	}
}

// TestChannelTypesSync: the dropdown follows what the registry lists: a type added to it
// appears, one no longer in it goes, and an up-to-date dropdown is left as it is.
func TestChannelTypesSync(t *testing.T) {
	h := newHarness(t)
	h.s.stopAlerts()
	withSMS := append(notify.Types(), "sms")
	if err := alerting.SyncChannelTypes(h.app, withSMS); err != nil {
		t.Fatal(err)
	}
	if got := typeValues(t, h.app); !slices.Equal(got, withSMS) {
		t.Errorf("after adding sms: got %v, want %v", got, withSMS)
	}
	before, err := h.app.FindCollectionByNameOrId("channels")
	if err != nil {
		t.Fatal(err)
	}
	if err := alerting.SyncChannelTypes(h.app, withSMS); err != nil {
		t.Fatal(err)
	}
	after, err := h.app.FindCollectionByNameOrId("channels")
	if err != nil {
		t.Fatal(err)
	}
	if !after.Updated.Equal(before.Updated) {
		t.Errorf("a second sync saved the collection again (updated %v, then %v)", before.Updated, after.Updated)
	}
	if err := alerting.SyncChannelTypes(h.app, notify.Types()); err != nil {
		t.Fatal(err)
	}
	if got := typeValues(t, h.app); !slices.Equal(got, notify.Types()) {
		t.Errorf("after removing sms: got %v, want %v", got, notify.Types())
	}
}
