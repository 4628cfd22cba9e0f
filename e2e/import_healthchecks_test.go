package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportFromHealthchecks moves the checks of Healthchecks' documented example reply
// to a new data dir (a dry run, the import, a second import that changes nothing; the
// read-only key's reply is refused), serves it, and pings a check's old ping URL on
// this host: the service is up.
func TestImportFromHealthchecks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	fixture := func(name string) string { return filepath.Join(repoRoot, "cli", "testdata", "healthchecks", name) }
	imp := func(t *testing.T, wantOK bool, args ...string) string {
		t.Helper()
		return hmImport(t, dir, wantOK, append([]string{"--from", "healthchecks"}, args...)...)
	}
	const (
		fsBackup = "31365bce-8da9-4729-8ff3-aaa71d56b712" // the doc's simple check
		dbBackup = "803f680d-e89b-492b-82ef-2be7b774a92d" // the doc's cron check
	)

	importPrinted(t, imp(t, false, fixture("checks-readonly.json")), "read-only API key", "read-write key")
	importPrinted(t, imp(t, true, fixture("checks.json"), "--dryRun"), "services: 2 created", "dry run: nothing was saved")
	out := imp(t, true, fixture("checks.json"))
	importPrinted(t, out, `create service filesystem-backup: name "Filesystem Backup"`, "interval 3600, stalenessThreshold 4200",
		`create service database-backup: name "Database Backup"`, `schedule "15 5 * * *", timezone "UTC", grace 1200`,
		"note: service filesystem-backup: tags fs not imported", "services: 2 created, 0 updated, 0 unchanged")
	if strings.Contains(out, fsBackup) || strings.Contains(out, dbBackup) {
		t.Errorf("import printed a ping UUID:\n%s", out)
	}
	importPrinted(t, imp(t, true, fixture("checks.json")), "services: 0 created, 0 updated, 2 unchanged")

	s := serveDir(t, dir)

	var page struct {
		Items []struct {
			ServiceID          string `json:"serviceId"`
			Group              string `json:"group"`
			Interval           int    `json:"interval"`
			StalenessThreshold int    `json:"stalenessThreshold"`
			Schedule           string `json:"schedule"`
			Timezone           string `json:"timezone"`
			Grace              int    `json:"grace"`
		} `json:"items"`
	}
	if err := s.api(http.MethodGet, "/api/collections/services/records?perPage=10&sort=serviceId", nil, &page); err != nil {
		t.Fatal(err)
	}
	if got := len(page.Items); got != 2 {
		t.Fatalf("services: got %d, want 2", got)
	}
	if db := page.Items[0]; db.ServiceID != "database-backup" || db.Group != "production" || db.Schedule != "15 5 * * *" ||
		db.Timezone != "UTC" || db.Grace != 1200 {
		t.Errorf("database-backup: got %+v", db)
	}
	if fs := page.Items[1]; fs.ServiceID != "filesystem-backup" || fs.Group != "backup" || fs.Interval != 3600 ||
		fs.StalenessThreshold != 4200 || fs.Schedule != "" {
		t.Errorf("filesystem-backup: got %+v", fs)
	}

	// The job's ping line, with only the host changed.
	resp, err := http.Get(s.URL + "/ping/" + fsBackup)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		t.Fatalf("GET /ping/<the check's UUID>: got %d %q, want 200 \"OK\"", resp.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status := statuses(t, s)
		if status["filesystem-backup"] == "up" {
			if status["database-backup"] != "unknown" {
				t.Errorf("database-backup, never pinged: got %q, want unknown", status["database-backup"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/api/status after the ping: got %v, want filesystem-backup up", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
