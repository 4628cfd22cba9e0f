package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
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

const (
	fsBackupUUID = "31365bce-8da9-4729-8ff3-aaa71d56b712"
	dbBackupUUID = "803f680d-e89b-492b-82ef-2be7b774a92d"
)

// TestPlanHealthchecksDocExample plans the example reply of Healthchecks' API
// documentation: a simple check and a cron check, each with its own ping UUID.
func TestPlanHealthchecksDocExample(t *testing.T) {
	plan, err := planHealthchecksImport(bytes.NewReader(readTestdata(t, "healthchecks/checks.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []serviceSpec{
		{ServiceID: "filesystem-backup", Name: "Filesystem Backup", Description: ptr("Runs incremental backup every hour"),
			Group: ptr("backup"), Interval: 3600, Threshold: 3600 + 600, Schedule: ptr(""), Timezone: ptr(""),
			Paused: ptr(false), PingID: fsBackupUUID},
		{ServiceID: "database-backup", Name: "Database Backup", Description: ptr("Runs ~/db-backup.sh"),
			Group: ptr("production"), Schedule: ptr("15 5 * * *"), Timezone: ptr("UTC"), Grace: 1200,
			Paused: ptr(false), PingID: dbBackupUUID},
	}
	if !reflect.DeepEqual(plan.Services, want) {
		t.Errorf("services:\n got %s\nwant %s", specsString(plan.Services), specsString(want))
	}
	wantNotes := []string{
		"service filesystem-backup: tags fs not imported: a service has one group (backup, the first tag)",
		"service filesystem-backup: integrations (channels) not imported (alerts not configured by import)",
		"service filesystem-backup: e-mail keywords and filters not imported (this server does not receive pings by e-mail)",
		"service database-backup: tags db not imported: a service has one group (production, the first tag)",
		"service database-backup: integrations (channels) not imported (alerts not configured by import)",
		"checks.json: the ping history and status of 2 check(s) not imported (n_pings, last_ping, status, ...): each service is unknown until its next ping",
	}
	if !reflect.DeepEqual(plan.Notes, wantNotes) {
		t.Errorf("notes:\n got %q\nwant %q", plan.Notes, wantNotes)
	}
}

// TestPlanHealthchecksReadOnlyKeyRefused: the read-only key's reply has no ping URLs,
// so nothing could keep its cron lines working: it is refused with what to do instead.
func TestPlanHealthchecksReadOnlyKeyRefused(t *testing.T) {
	_, err := planHealthchecksImport(bytes.NewReader(readTestdata(t, "healthchecks/checks-readonly.json")))
	want := `import: checks[0] "Filesystem Backup": ping_url: missing, and unique_key is set: this is the reply to a read-only API key`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "read-write key") {
		t.Errorf("got %v, want an error starting %q and naming the read-write key", err, want)
	}
}

func specsString(specs []serviceSpec) string {
	var b strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&b, "\n  {%s name %q desc %v group %v interval %d threshold %d schedule %v tz %v grace %d paused %v pauseNew %t ping %s}",
			s.ServiceID, s.Name, deref(s.Description), deref(s.Group), s.Interval, s.Threshold, deref(s.Schedule),
			deref(s.Timezone), s.Grace, deref(s.Paused), s.PauseNew, s.PingID)
	}
	return b.String()
}

// hcFile is a GET /api/v3/checks/ reply of checks, each a simple check of the doc's
// example with the fields of its map changed (a nil value removes the field).
func hcFile(t *testing.T, checks ...map[string]any) []byte {
	t.Helper()
	var list []map[string]any
	for i, c := range checks {
		base := map[string]any{"name": fmt.Sprintf("Check %d", i), "slug": fmt.Sprintf("check-%d", i), "tags": "",
			"desc": "", "grace": 600, "n_pings": 0, "status": "new", "manual_resume": false, "methods": "",
			"ping_url": fmt.Sprintf("https://hc-ping.com/00000000-0000-4000-8000-%012d", i), "channels": "", "timeout": 3600}
		for k, v := range c {
			if v == nil {
				delete(base, k)
			} else {
				base[k] = v
			}
		}
		list = append(list, base)
	}
	b, err := json.Marshal(map[string]any{"checks": list})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlanHealthchecksMappings: each decision of the mapping, one case each.
func TestPlanHealthchecksMappings(t *testing.T) {
	const ping0 = "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name    string
		checks  []map[string]any
		check   func(t *testing.T, s []serviceSpec)
		note    string // a note that must be printed
		wantErr string // the error's text, from its start
	}{
		{name: "paused with manual_resume stays paused",
			checks: []map[string]any{{"status": "paused", "manual_resume": true}},
			check: func(t *testing.T, s []serviceSpec) {
				if deref(s[0].Paused) != true {
					t.Errorf("paused: got %v, want true", deref(s[0].Paused))
				}
			}},
		{name: "paused with automatic resume is monitored from its next ping",
			checks: []map[string]any{{"status": "paused"}},
			check: func(t *testing.T, s []serviceSpec) {
				if deref(s[0].Paused) != false {
					t.Errorf("paused: got %v, want false", deref(s[0].Paused))
				}
			},
			note: "service check-0: paused with automatic resume in Healthchecks: imported not paused"},
		{name: "OnCalendar: created paused, schedule left alone",
			checks: []map[string]any{{"timeout": nil, "schedule": "Mon..Fri *-*-* 09:00", "tz": "Europe/Riga"}},
			check: func(t *testing.T, s []serviceSpec) {
				if s[0].Schedule != nil || s[0].Paused != nil || !s[0].PauseNew || deref(s[0].Timezone) != "Europe/Riga" || s[0].Grace != 600 {
					t.Errorf("got %s, want no schedule, paused when created, zone and grace kept", specsString(s))
				}
			},
			note: `service check-0: OnCalendar schedule "Mon..Fri *-*-* 09:00" not imported`},
		{name: "OnCalendar shorthand",
			checks: []map[string]any{{"timeout": nil, "schedule": "daily", "tz": "UTC"}},
			note:   `service check-0: OnCalendar schedule "daily" not imported`},
		{name: "cron alias with a zone",
			checks: []map[string]any{{"timeout": nil, "schedule": "@hourly", "tz": "America/New_York", "grace": 300}},
			check: func(t *testing.T, s []serviceSpec) {
				if deref(s[0].Schedule) != "@hourly" || deref(s[0].Timezone) != "America/New_York" || s[0].Grace != 300 || s[0].Interval != 0 {
					t.Errorf("got %s", specsString(s))
				}
			}},
		{name: "bad cron expression",
			checks:  []map[string]any{{"name": "Nightly", "timeout": nil, "schedule": "15 25 * * *", "tz": "UTC"}},
			wantErr: `import: checks[0] "Nightly": schedule "15 25 * * *": hour: `},
		{name: "unknown zone",
			checks:  []map[string]any{{"name": "Nightly", "timeout": nil, "schedule": "15 5 * * *", "tz": "Mars/Olympus"}},
			wantErr: `import: checks[0] "Nightly": tz "Mars/Olympus": not an IANA time zone`},
		{name: "no timeout and no schedule",
			checks:  []map[string]any{{"timeout": nil}},
			wantErr: `import: checks[0] "Check 0": neither timeout nor schedule`},
		{name: "timeout not whole seconds",
			checks:  []map[string]any{{"timeout": 60.5}},
			wantErr: `import: checks[0] "Check 0": timeout 60.5: not a whole number of seconds`},
		{name: "grace missing",
			checks:  []map[string]any{{"grace": nil}},
			wantErr: `import: checks[0] "Check 0": grace: missing`},
		{name: "empty slug: made from the name",
			checks: []map[string]any{{"slug": "", "name": "Nightly DB dump (prod) — Café"}},
			check:  wantIDs("nightly-db-dump-prod-caf"),
			note:   "service nightly-db-dump-prod-caf: serviceId nightly-db-dump-prod-caf made from the name (the check has no slug)"},
		{name: "neither slug nor name: a hash, never the ping UUID",
			checks: []map[string]any{{"slug": "", "name": ""}},
			check:  wantIDs("check-" + hashUUID(ping0))},
		{name: "slug starting with a dash",
			checks: []map[string]any{{"slug": "-db_backup"}},
			check:  wantIDs("db_backup")},
		{name: "two checks with one slug",
			checks: []map[string]any{{"slug": "backup"}, {"slug": "backup"}},
			check:  wantIDs("backup", "backup-"+hashUUID("00000000-0000-4000-8000-000000000001")),
			note: `service backup-` + hashUUID("00000000-0000-4000-8000-000000000001") + `: serviceId backup-` +
				hashUUID("00000000-0000-4000-8000-000000000001") + `: backup is taken by checks[0] "Check 0"`},
		{name: "a slug taken by a name made slug",
			checks: []map[string]any{{"slug": "", "name": "Backup"}, {"slug": "backup"}},
			check:  wantIDs("backup", "backup-"+hashUUID("00000000-0000-4000-8000-000000000001"))},
		{name: "one ping UUID twice",
			checks:  []map[string]any{{}, {"ping_url": "https://hc-ping.com/" + ping0}},
			wantErr: `import: checks[1] "Check 1": the same ping UUID as checks[0] "Check 0"`},
		{name: "upper-case UUID and a self-hosted ping endpoint",
			checks: []map[string]any{{"ping_url": "https://hc.example.net/ping/31365BCE-8DA9-4729-8FF3-AAA71D56B712", "uuid": fsBackupUUID}},
			check: func(t *testing.T, s []serviceSpec) {
				if s[0].PingID != fsBackupUUID {
					t.Errorf("pingId: got %q, want %q", s[0].PingID, fsBackupUUID)
				}
			}},
		{name: "ping_url without a UUID",
			checks:  []map[string]any{{"ping_url": "https://hc-ping.com/abc/backup"}},
			wantErr: `import: checks[0] "Check 0": ping_url: does not end in a UUID`},
		{name: "uuid that is not the ping_url's",
			checks:  []map[string]any{{"uuid": dbBackupUUID}},
			wantErr: `import: checks[0] "Check 0": uuid: not the UUID of ping_url`},
		{name: "POST only",
			checks: []map[string]any{{"methods": "POST"}},
			note:   `service check-0: methods "POST" not imported: this server accepts GET, HEAD and POST pings`},
		{name: "a field this import does not know",
			checks: []map[string]any{{"colour": "red"}},
			note:   `service check-0: unknown field "colour" not imported: "red"`},
		{name: "no tags: no group",
			checks: []map[string]any{{"tags": ""}},
			check: func(t *testing.T, s []serviceSpec) {
				if s[0].Group == nil || *s[0].Group != "" {
					t.Errorf("group: got %v, want \"\"", deref(s[0].Group))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := planHealthchecksImport(bytes.NewReader(hcFile(t, tt.checks...)))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, plan.Services)
			}
			if tt.note != "" && !slices.ContainsFunc(plan.Notes, func(n string) bool { return strings.HasPrefix(n, tt.note) }) {
				t.Errorf("notes: got %q, want one starting %q", plan.Notes, tt.note)
			}
		})
	}
}

func wantIDs(ids ...string) func(t *testing.T, s []serviceSpec) {
	return func(t *testing.T, s []serviceSpec) {
		t.Helper()
		var got []string
		for _, sp := range s {
			got = append(got, sp.ServiceID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("serviceIds: got %q, want %q", got, ids)
		}
	}
}

// hcRow is what the Healthchecks import stores of a service.
type hcRow struct {
	ServiceID   string  `db:"serviceId"`
	Name        string  `db:"name"`
	Description string  `db:"description"`
	Group       string  `db:"group"`
	Interval    float64 `db:"interval"`
	Threshold   float64 `db:"stalenessThreshold"`
	PingID      string  `db:"pingId"`
	Schedule    string  `db:"schedule"`
	Timezone    string  `db:"timezone"`
	Grace       float64 `db:"grace"`
	Paused      bool    `db:"paused"`
}

func hcRows(t *testing.T, app core.App) map[string]hcRow {
	t.Helper()
	var rows []hcRow
	err := app.DB().NewQuery(`SELECT serviceId, name, description, [[group]], interval, stalenessThreshold, pingId,
		schedule, timezone, grace, paused FROM services`).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]hcRow{}
	for _, r := range rows {
		out[r.ServiceID] = r
	}
	return out
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "checks.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportHealthchecksDocExample imports the documentation's example as the command
// does: a dry run saves nothing, the import stores both checks with their ping UUIDs,
// and a second run changes nothing.
func TestImportHealthchecksDocExample(t *testing.T) {
	app := newHookedApp(t)
	file := filepath.Join("testdata", "healthchecks", "checks.json")

	out := runImportCommand(t, app, "--from", "healthchecks", file, "--dryRun")
	for _, want := range []string{
		`create service filesystem-backup: name "Filesystem Backup", description "Runs incremental backup every hour", group "backup", interval 3600, stalenessThreshold 4200, paused false, pingId set from ping_url` + "\n",
		`create service database-backup: name "Database Backup", description "Runs ~/db-backup.sh", group "production", schedule "15 5 * * *", timezone "UTC", grace 1200, paused false, pingId set from ping_url` + "\n",
		"note: service database-backup: integrations (channels) not imported",
		"services: 2 created, 0 updated, 0 unchanged; keys: 0 created, 0 updated, 0 unchanged; 6 notes\n",
		"dry run: nothing was saved",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, fsBackupUUID) || strings.Contains(out, dbBackupUUID) {
		t.Errorf("the output shows a ping UUID (a secret):\n%s", out)
	}
	if n := countRecords(t, app, "services"); n != 0 {
		t.Fatalf("after the dry run: %d services, want 0", n)
	}

	out = runImportCommand(t, app, "--from", "healthchecks", file)
	if want := "services: 2 created, 0 updated, 0 unchanged"; !strings.Contains(out, want) {
		t.Errorf("import: missing %q in\n%s", want, out)
	}
	got := hcRows(t, app)
	want := map[string]hcRow{
		"filesystem-backup": {ServiceID: "filesystem-backup", Name: "Filesystem Backup", Description: "Runs incremental backup every hour",
			Group: "backup", Interval: 3600, Threshold: 4200, PingID: fsBackupUUID},
		"database-backup": {ServiceID: "database-backup", Name: "Database Backup", Description: "Runs ~/db-backup.sh",
			Group: "production", Interval: 120, Threshold: 300, PingID: dbBackupUUID, Schedule: "15 5 * * *", Timezone: "UTC", Grace: 1200},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored:\n got %+v\nwant %+v", got, want)
	}

	before := registryVersion(t, app)
	out = runImportCommand(t, app, "--from", "healthchecks", file)
	if want := "services: 0 created, 0 updated, 2 unchanged"; !strings.Contains(out, want) {
		t.Errorf("second import: missing %q in\n%s", want, out)
	}
	if after := registryVersion(t, app); after != before {
		t.Errorf("second import wrote: %s -> %s", before, after)
	}
}

// TestImportHealthchecksAgainstStoredServices: a UUID another service owns is left to
// it; a service of the same serviceId takes the check's UUID; an OnCalendar check's
// pause and schedule are the user's after its creation; a bad check saves nothing.
func TestImportHealthchecksAgainstStoredServices(t *testing.T) {
	app := newHookedApp(t)
	col, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	for sid, ping := range map[string]string{"renamed-backup": fsBackupUUID, "database-backup": ""} {
		r := core.NewRecord(col)
		r.Load(map[string]any{"serviceId": sid, "pingId": ping})
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	oldPing := pingIDs(t, app)["database-backup"]

	out := runImportCommand(t, app, "--from", "healthchecks", filepath.Join("testdata", "healthchecks", "checks.json"))
	for _, want := range []string{
		"note: service filesystem-backup: not imported: its ping UUID belongs to service renamed-backup, which keeps answering it",
		`update service database-backup: name "" -> "Database Backup", description "" -> "Runs ~/db-backup.sh", group "" -> "production", schedule "" -> "15 5 * * *", timezone "" -> "UTC", grace 0 -> 1200, pingId set from ping_url` + "\n",
		"services: 0 created, 1 updated, 0 unchanged",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if got := pingIDs(t, app); got["renamed-backup"] != fsBackupUUID || got["database-backup"] != dbBackupUUID || got["database-backup"] == oldPing {
		t.Errorf("pingIds: got %v", got)
	}

	onCalendar := hcFile(t, map[string]any{"slug": "weekdays", "timeout": nil, "schedule": "Mon..Fri *-*-* 09:00", "tz": "Europe/Riga"})
	out = runImportCommand(t, app, "--from", "healthchecks", writeFile(t, onCalendar))
	if want := `create service weekdays: name "Check 0", timezone "Europe/Riga", grace 600, paused true, pingId set from ping_url`; !strings.Contains(out, want) {
		t.Errorf("missing %q in\n%s", want, out)
	}
	rec, err := app.FindFirstRecordByData("services", "serviceId", "weekdays")
	if err != nil {
		t.Fatal(err)
	}
	rec.Set("paused", false)
	rec.Set("schedule", "0 9 * * 1-5")
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	out = runImportCommand(t, app, "--from", "healthchecks", writeFile(t, onCalendar))
	if want := "unchanged service weekdays\n"; !strings.Contains(out, want) {
		t.Errorf("re-import of an OnCalendar check: missing %q in\n%s", want, out)
	}
	if r := hcRows(t, app)["weekdays"]; r.Paused || r.Schedule != "0 9 * * 1-5" {
		t.Errorf("after the re-import: paused %t schedule %q, want the user's false and 0 9 * * 1-5", r.Paused, r.Schedule)
	}

	bad := hcFile(t, map[string]any{"slug": "fine"}, map[string]any{"name": "Broken", "timeout": nil, "schedule": "61 * * * *"})
	var buf bytes.Buffer
	c := newImportCommand(app)
	c.SetArgs([]string{"--from", "healthchecks", writeFile(t, bad)})
	c.SetOut(&buf)
	c.SetErr(&buf)
	err = c.Execute()
	if err == nil || !strings.Contains(err.Error(), `checks[1] "Broken": schedule "61 * * * *": minute:`) {
		t.Errorf("got %v, want the check and its field named", err)
	}
	if _, ok := hcRows(t, app)["fine"]; ok {
		t.Error("a check before the bad one was saved")
	}
}

// TestImportFromFlag: --from takes worker or healthchecks, and --keys belongs to worker.
func TestImportFromFlag(t *testing.T) {
	app := newHookedApp(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "uptimekuma", "x.json"}, `import: --from "uptimekuma": want worker`},
		{[]string{"--from", "healthchecks", "--keys", "k.json", "x.json"}, "import: --keys is for the original worker's API_KEYS"},
		{[]string{"--from", "healthchecks", filepath.Join("testdata", "services.init.json")}, `import: no "checks" list`},
	} {
		c := newImportCommand(app)
		c.SetArgs(tt.args)
		c.SetOut(&bytes.Buffer{})
		c.SetErr(&bytes.Buffer{})
		if err := c.Execute(); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
	if out := runImportCommand(t, app, "--from", "worker", filepath.Join("testdata", "services.init.json")); !strings.Contains(out, "services: 2 created") {
		t.Errorf("--from worker:\n%s", out)
	}
}
