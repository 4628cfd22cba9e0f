package store_test

import (
	"errors"
	"slices"
	"testing"

	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// TestEachEngineServiceReadsEveryServiceOnce: the streamed read hands over every stored
// service once, with its settings, and an error from the caller stops it.
func TestEachEngineServiceReadsEveryServiceOnce(t *testing.T) {
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	col, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{"b", "a", "c"} {
		r := core.NewRecord(col)
		r.Set("serviceId", sid)
		r.Set("group", "g-"+sid)
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err = store.EachEngineService(app.DB(), func(r store.EngineServiceRow) error {
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
