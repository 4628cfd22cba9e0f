package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportRoundTrip imports both forms of the original services.json and an API_KEYS
// file into a new data dir, imports them again (nothing changes), then serves the dir
// and sends beats with the original keys.
func TestImportRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	fixture := func(name string) string { return filepath.Join(repoRoot, "cli", "testdata", name) }
	imp := func(t *testing.T, args ...string) string {
		t.Helper()
		return hmImport(t, dir, true, args...)
	}

	headArgs := []string{fixture("services.head.json"), "--keys", fixture("api_keys.head.json")}
	out := imp(t, append(headArgs, "--dryRun")...)
	importPrinted(t, out, "create service gmk-m6: ", `group "k3s-cluster"`, "stalenessThreshold 900",
		`create key "imported key: group k3s-cluster": scopes heartbeat, key set from API_KEYS, covers gmk-m6, raspi4-8g, um760`,
		"note: group k3s-cluster: notifications not imported (alerts not configured by import)",
		"services: 4 created, 0 updated, 0 unchanged; keys: 3 created", "dry run: nothing was saved")

	out = imp(t, fixture("services.init.json"))
	importPrinted(t, out, "services: 2 created, 0 updated, 0 unchanged; keys: 0 created")
	out = imp(t, headArgs...) // the dry run saved nothing: all four are created now
	importPrinted(t, out, "services: 4 created, 0 updated, 0 unchanged; keys: 3 created, 0 updated, 0 unchanged")
	if strings.Contains(out, "key-k3s-cluster") {
		t.Errorf("import printed a key:\n%s", out)
	}
	out = imp(t, fixture("services.head-example.json"))
	importPrinted(t, out, "services: 9 created",
		"note: group infrastructure: auth.required=false not imported",
		"note: service dev-service: notifications not imported (alerts not configured by import)",
		`note: group production: uptimeThresholdSet "strict" not imported`)

	// Idempotent: a second import of each changes nothing.
	importPrinted(t, imp(t, fixture("services.init.json")), "services: 0 created, 0 updated, 2 unchanged")
	importPrinted(t, imp(t, headArgs...), "services: 0 created, 0 updated, 4 unchanged; keys: 0 created, 0 updated, 3 unchanged")
	importPrinted(t, imp(t, fixture("services.head-example.json")), "services: 0 created, 0 updated, 9 unchanged")

	s := serveDir(t, dir)

	var page struct {
		Items []serviceRecord `json:"items"`
	}
	if err := s.api(http.MethodGet, "/api/collections/services/records?perPage=100", nil, &page); err != nil {
		t.Fatal(err)
	}
	got := map[string]serviceRecord{}
	for _, r := range page.Items {
		got[r.ServiceID] = r
	}
	want := []serviceRecord{
		{ServiceID: "service-1", Name: "Internal API", StalenessThreshold: 300},
		{ServiceID: "gmk-m6", Name: "GMK M6", Group: "k3s-cluster", StalenessThreshold: 900},
		{ServiceID: "unraid-n1", Name: "Unraid N1", StalenessThreshold: 300},
		{ServiceID: "production-api", Name: "Production API", Group: "production", StalenessThreshold: 300},
		{ServiceID: "production-database", Name: "Production Database", Group: "production", StalenessThreshold: 180},
		{ServiceID: "backup-service", Name: "Backup Service", Group: "infrastructure", StalenessThreshold: 3600},
		{ServiceID: "test-service", Name: "Test Service", Group: "development", StalenessThreshold: 900, Paused: true},
	}
	if len(got) != 15 {
		t.Errorf("services: got %d, want 2 + 4 + 9", len(got))
	}
	for _, w := range want {
		g := got[w.ServiceID]
		g.ID = ""
		if g != w {
			t.Errorf("%s: got %+v, want %+v", w.ServiceID, g, w)
		}
	}

	// The original keys work: a service's own apiKey, a group key, a service key and "*".
	beats := []struct {
		services, key string
		wantCode      int
	}{
		{"service-1", "your-secret-key-1", 0},
		{"gmk-m6,raspi4-8g,um760", "key-k3s-cluster-0123456789", 0},
		{"unraid-n1", "key-unraid-n1-0123456789", 0},
		{"production-api", "key-wildcard-0123456789", 0},
		{"unraid-n1", "key-k3s-cluster-0123456789", 1}, // the group key covers its members only
	}
	for _, b := range beats {
		r := runProcess(t, nil, binary, "ping", "--url", s.URL, "--service", b.services, "--key", b.key, "--retries", "0")
		if r.code != b.wantCode {
			t.Errorf("ping %s: got exit %d (%s%s), want %d", b.services, r.code, r.stdout, r.stderr, b.wantCode)
		}
	}
	for _, id := range []string{"service-1", "um760", "unraid-n1", "production-api"} {
		s.lastBeat(t, id)
	}
	if n := len(s.beats(t, "unraid-n1")); n != 1 {
		t.Errorf("unraid-n1: got %d beats, want 1 (the group key must be refused)", n)
	}
}

// TestImportIntoRunningServer: an import against the data directory of a running server
// takes effect without a restart.
func TestImportIntoRunningServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := serveDir(t, dir)
	post := func() int {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/heartbeat", strings.NewReader(`{"serviceId":"service-1"}`))
		req.Header.Set("Authorization", "Bearer your-secret-key-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(); got != http.StatusNotFound {
		t.Fatalf("before the import: %d, want 404", got)
	}
	hmImport(t, dir, true, filepath.Join(repoRoot, "cli", "testdata", "services.init.json"))
	deadline := time.Now().Add(15 * time.Second)
	for post() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the running server did not pick up the imported service within 15 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
}
