package cli

import (
	"bytes"
	"strings"
	"testing"

	_ "github.com/heartbeat-monitor/heartbeat-monitor/migrations"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func newImportApp(t *testing.T) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	return app
}

func mustPlan(t *testing.T, services, keys string) importPlan {
	t.Helper()
	var k []byte
	if keys != "" {
		k = readTestdata(t, keys)
	}
	plan, err := planImport(readTestdata(t, services), k)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func countRecords(t *testing.T, app core.App, collection string) int {
	t.Helper()
	n, err := app.CountRecords(collection)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestApplyImportIsIdempotent(t *testing.T) {
	app := newImportApp(t)
	plan := mustPlan(t, "services.head.json", "api_keys.head.json")

	var out bytes.Buffer
	n, err := applyImport(app, plan, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n.Created != 4 || n.KeysCreated != 3 {
		t.Errorf("first import: got %+v, want 4 services and 3 keys created\n%s", n, out.String())
	}
	svc, err := app.FindFirstRecordByData("services", "serviceId", "gmk-m6")
	if err != nil {
		t.Fatal(err)
	}
	if svc.GetString("group") != "k3s-cluster" || svc.GetInt("stalenessThreshold") != 900 || svc.GetString("name") != "GMK M6" {
		t.Errorf("gmk-m6: got group %q threshold %d name %q", svc.GetString("group"), svc.GetInt("stalenessThreshold"), svc.GetString("name"))
	}
	key, err := app.FindFirstRecordByData("api_keys", "name", "imported key: group k3s-cluster")
	if err != nil {
		t.Fatal(err)
	}
	if key.GetString("key") != "key-k3s-cluster-0123456789" || len(key.GetStringSlice("services")) != 3 ||
		strings.Join(key.GetStringSlice("scopes"), ",") != "heartbeat" {
		t.Errorf("group key: got key %q services %v scopes %v", key.GetString("key"), key.GetStringSlice("services"), key.GetStringSlice("scopes"))
	}
	if strings.Contains(out.String(), "key-k3s") {
		t.Errorf("output prints a key:\n%s", out.String())
	}

	out.Reset()
	n, err = applyImport(app, plan, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if want := (importCounts{Unchanged: 4, KeysUnchanged: 3}); n != want {
		t.Errorf("second import: got %+v, want %+v\n%s", n, want, out.String())
	}
	if got := countRecords(t, app, "api_keys"); got != 3 {
		t.Errorf("api_keys after two imports: got %d, want 3", got)
	}
}

func TestApplyImportUpdatesWhatTheFileSays(t *testing.T) {
	app := newImportApp(t)
	if _, err := applyImport(app, mustPlan(t, "services.init.json", ""), false, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	svc, err := app.FindFirstRecordByData("services", "serviceId", "service-1")
	if err != nil {
		t.Fatal(err)
	}
	if svc.GetString("apiKey") != "your-secret-key-1" || svc.GetBool("paused") {
		t.Errorf("service-1: got apiKey %q paused %t", svc.GetString("apiKey"), svc.GetBool("paused"))
	}
	// An admin's description and interval survive a re-import that changes the threshold.
	svc.Set("description", "kept")
	svc.Set("interval", 60)
	svc.Set("stalenessThreshold", 999)
	if err := app.Save(svc); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := applyImport(app, mustPlan(t, "services.init.json", ""), false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n.Updated != 1 || n.Unchanged != 1 || !strings.Contains(out.String(), "update service service-1: stalenessThreshold 999 -> 300") {
		t.Errorf("got %+v\n%s", n, out.String())
	}
	svc, err = app.FindRecordById("services", svc.Id)
	if err != nil {
		t.Fatal(err)
	}
	if svc.GetString("description") != "kept" || svc.GetInt("interval") != 60 || svc.GetInt("stalenessThreshold") != 300 {
		t.Errorf("service-1 after re-import: got description %q interval %d threshold %d",
			svc.GetString("description"), svc.GetInt("interval"), svc.GetInt("stalenessThreshold"))
	}
}

func TestApplyImportDryRunSavesNothing(t *testing.T) {
	app := newImportApp(t)
	var out bytes.Buffer
	n, err := applyImport(app, mustPlan(t, "services.head-example.json", ""), true, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n.Created != 9 {
		t.Errorf("dry run: got %+v, want 9 services to create", n)
	}
	if got := countRecords(t, app, "services"); got != 0 {
		t.Errorf("services after a dry run: got %d, want 0", got)
	}
	for _, want := range []string{"create service test-service:", "paused true", "dry run: nothing was saved",
		"note: group infrastructure: auth.required=false not imported"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output: missing %q in\n%s", want, out.String())
		}
	}
}

// TestApplyImportKeepsShortSeedKeys: the original worker accepted keys of any length (its
// README's API_KEYS example is {"unraid-n1":"k1","k3s-cluster":"k2","*":"k3"}); import
// carries them over unchanged, so the clients keep working, even though a superuser could
// not type them in the admin UI, and warns about each one without printing it.
func TestApplyImportKeepsShortSeedKeys(t *testing.T) {
	app := newImportApp(t)
	services := bytes.ReplaceAll(readTestdata(t, "services.init.json"), []byte("your-secret-key-1"), []byte("seedkey-1"))
	plan, err := planImport(services, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := applyImport(app, plan, false, &out); err != nil {
		t.Fatal(err)
	}
	svc, err := app.FindFirstRecordByData("services", "serviceId", "service-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.GetString("apiKey"); got != "seedkey-1" {
		t.Errorf("service-1 key: got %q, want the seed's seedkey-1", got)
	}
	want := "warning: service service-1: apiKey has 9 characters, fewer than the 16 a key set by hand needs"
	if !strings.Contains(out.String(), want) || strings.Count(out.String(), "warning:") != 1 || strings.Contains(out.String(), "seedkey-1") {
		t.Errorf("output: want one warning %q (service-2's 17-character key is fine) and no key\n%s", want, out.String())
	}

	app = newImportApp(t)
	plan, err = planImport(readTestdata(t, "services.head.json"), []byte(`{"unraid-n1":"k1","k3s-cluster":"k2","*":"k3"}`))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	n, err := applyImport(app, plan, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n.KeysCreated != 3 {
		t.Errorf("keys created: got %d, want 3\n%s", n.KeysCreated, out.String())
	}
	for name, key := range map[string]string{"imported key: service unraid-n1": "k1", "imported key: group k3s-cluster": "k2", "imported key: every service (*)": "k3"} {
		rec, err := app.FindFirstRecordByData("api_keys", "name", name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := rec.GetString("key"); got != key {
			t.Errorf("%s: got key %q, want %q", name, got, key)
		}
	}
	for _, want := range []string{`warning: API_KEYS "*": the key has 2 characters`, `warning: API_KEYS "k3s-cluster": the key has 2 characters`,
		`warning: API_KEYS "unraid-n1": the key has 2 characters`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output: missing %q in\n%s", want, out.String())
		}
	}

	// The good fixtures warn about nothing.
	out.Reset()
	if _, err := applyImport(newImportApp(t), mustPlan(t, "services.head.json", "api_keys.head.json"), false, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "warning:") {
		t.Errorf("keys of 22+ characters: got a warning\n%s", out.String())
	}
}
