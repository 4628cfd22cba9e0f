package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	monitorapp "github.com/heartbeat-monitor/heartbeat-monitor/app"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// newHookedApp is the binary's app on a new data dir: our migrations and every record
// hook of the server bound, not serving. A record saved through it is what the admin UI
// would store, so import's rows can be compared with it.
func newHookedApp(t testing.TB) *pocketbase.PocketBase {
	t.Helper()
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: filepath.Join(t.TempDir(), "data")})
	cfg := monitorapp.DefaultConfig()
	monitorapp.Register(app, &cfg)
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if err := app.RunAllMigrations(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.ResetBootstrapState(); err != nil {
			t.Error(err)
		}
	})
	return app
}

// genService is the i-th service of a generated services.json: every tenth disabled,
// every hundredth without a key (one is generated), every third with a description.
type genService struct {
	id, name, key, description string
	threshold                  int
	paused                     bool
}

func generated(i int) genService {
	s := genService{id: fmt.Sprintf("svc-%05d", i), name: fmt.Sprintf("Service %d", i),
		threshold: 60 * (1 + i%7), paused: i%10 == 0}
	if i%100 != 0 {
		s.key = fmt.Sprintf("key-%05d-0123456789abcdef", i)
	}
	if i%3 == 0 {
		s.description = fmt.Sprintf("desc %d", i)
	}
	return s
}

func writeGenerated(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"services":[`)
	for i := range n {
		s := generated(i)
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id":%q,"name":%q,"enabled":%t,"stalenessThreshold":%d`, s.id, s.name, !s.paused, s.threshold)
		if s.key != "" {
			fmt.Fprintf(&b, `,"apiKey":%q`, s.key)
		}
		if s.description != "" {
			fmt.Fprintf(&b, `,"description":%q`, s.description)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}\n")
	path := filepath.Join(t.TempDir(), "services.json")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// statements counts the SQL statements app runs while fn does.
func statements(t *testing.T, app core.App, fn func()) int {
	t.Helper()
	db, ok := app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		t.Fatalf("write db is a %T", app.NonconcurrentDB())
	}
	n := 0
	db.ExecLogFunc = func(context.Context, time.Duration, string, sql.Result, error) { n++ }
	db.QueryLogFunc = func(context.Context, time.Duration, string, *sql.Rows, error) { n++ }
	defer func() { db.ExecLogFunc, db.QueryLogFunc = nil, nil }()
	fn()
	return n
}

func runImportCommand(t *testing.T, app core.App, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	c := newImportCommand(app)
	c.SetArgs(args)
	c.SetOut(&out)
	if err := c.Execute(); err != nil {
		t.Fatalf("import %v: %v\n%s", args, err, tail(out.String()))
	}
	return out.String()
}

func tail(s string) string {
	if i := len(s) - 2000; i > 0 {
		return "..." + s[i:]
	}
	return s
}

func registryVersion(t *testing.T, app core.App) string {
	t.Helper()
	var v string
	err := app.DB().NewQuery("SELECT COUNT(*) || '/' || IFNULL(MAX(updated), '') FROM services").Row(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestImportBulkStoresEveryService imports 20,000 generated services the way the binary
// does and checks every row, that a second import writes nothing, and that the rows are
// records PocketBase reads and saves like those the admin UI creates. Import looks
// services up a chunk at a time: the record-save import ran a find (and a save) per
// service, 63 s for 100,000.
func TestImportBulkStoresEveryService(t *testing.T) {
	const n = 20_000
	app := newHookedApp(t)
	file := writeGenerated(t, n)

	start := time.Now()
	out := runImportCommand(t, app, file)
	t.Logf("first import of %d services: %v", n, time.Since(start))
	if want := fmt.Sprintf("services: %d created, 0 updated, 0 unchanged", n); !strings.Contains(out, want) {
		t.Fatalf("output: missing %q in\n%s", want, tail(out))
	}
	if want := `create service svc-00010: name "Service 10", stalenessThreshold 240, paused true, apiKey set from services.json`; !strings.Contains(out, want) {
		t.Errorf("output: missing %q", want)
	}
	if strings.Contains(out, "key-00011") {
		t.Error("output prints a key")
	}

	var rows []struct {
		ID          string  `db:"id"`
		ServiceID   string  `db:"serviceId"`
		Name        string  `db:"name"`
		Description string  `db:"description"`
		Group       string  `db:"group"`
		APIKey      string  `db:"apiKey"`
		Interval    float64 `db:"interval"`
		Threshold   float64 `db:"stalenessThreshold"`
		Paused      bool    `db:"paused"`
		Created     string  `db:"created"`
		Updated     string  `db:"updated"`
	}
	err := app.DB().NewQuery("SELECT id, serviceId, name, description, [[group]], apiKey, interval, stalenessThreshold, paused, created, updated FROM services ORDER BY serviceId").All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("services: got %d rows, want %d", len(rows), n)
	}
	idShape, generatedKey := regexp.MustCompile(`^[a-z0-9]{15}$`), regexp.MustCompile(`^[a-zA-Z0-9]{40}$`)
	ids := map[string]bool{}
	wantPaused := 0
	for i, r := range rows {
		w := generated(i)
		if w.paused {
			wantPaused++
		}
		keyOK := r.APIKey == w.key || (w.key == "" && generatedKey.MatchString(r.APIKey))
		if r.ServiceID != w.id || r.Name != w.name || r.Description != w.description || r.Group != "" || !keyOK ||
			r.Interval != 120 || int(r.Threshold) != w.threshold || r.Paused != w.paused {
			t.Fatalf("row %d: got %+v, want %+v with interval 120", i, r, w)
		}
		if !idShape.MatchString(r.ID) || ids[r.ID] {
			t.Fatalf("row %d: id %q is not a new PocketBase record id", i, r.ID)
		}
		ids[r.ID] = true
		for _, d := range []string{r.Created, r.Updated} {
			if _, err := time.Parse(types.DefaultDateLayout, d); err != nil {
				t.Fatalf("row %d: created %q updated %q: want PocketBase dates", i, r.Created, r.Updated)
			}
		}
	}
	var openPauses int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM pauses p JOIN services s ON s.id = p.service WHERE s.paused AND p.endedAt = ''").Row(&openPauses); err != nil {
		t.Fatal(err)
	}
	if openPauses != wantPaused {
		t.Errorf("open pauses: got %d, want one for each of the %d services created paused", openPauses, wantPaused)
	}

	// Idempotent: the second run reports every service unchanged and writes nothing.
	before := registryVersion(t, app)
	start = time.Now()
	// (Statements are counted on this run only: the log hook formats every statement
	// with its values, which costs minutes on the first run's big INSERTs.)
	stmts := statements(t, app, func() { out = runImportCommand(t, app, file) })
	t.Logf("second import: %v, %d statements", time.Since(start), stmts)
	if want := fmt.Sprintf("services: 0 created, 0 updated, %d unchanged", n); !strings.Contains(out, want) {
		t.Errorf("second import: missing %q in\n%s", want, tail(out))
	}
	if stmts > n/100 {
		t.Errorf("second import: %d SQL statements for %d services, want at most %d (a lookup per chunk, not per service)", stmts, n, n/100)
	}
	if after := registryVersion(t, app); after != before {
		t.Errorf("second import: services COUNT/MAX(updated) went from %s to %s, want no write", before, after)
	}

	// An imported record is a record: PocketBase loads it, saves an edit to it, and it
	// matches field for field one created through a save with the server's hooks.
	imported, err := app.FindFirstRecordByData("services", "serviceId", "svc-00000")
	if err != nil {
		t.Fatal(err)
	}
	col, err := app.FindCollectionByNameOrId("services")
	if err != nil {
		t.Fatal(err)
	}
	ref := core.NewRecord(col)
	ref.Load(map[string]any{"serviceId": "ref-0", "name": "Service 0", "description": "desc 0", "stalenessThreshold": 60, "paused": true})
	if err := app.Save(ref); err != nil {
		t.Fatal(err)
	}
	for f, v := range ref.FieldsData() {
		if f == "id" || f == "serviceId" || f == "apiKey" || f == "pingId" || f == "created" || f == "updated" {
			continue
		}
		if got := imported.Get(f); fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("field %s: import stored %#v, a save stores %#v", f, got, v)
		}
	}
	imported.Set("name", "Edited")
	imported.Set("paused", false)
	if err := app.Save(imported); err != nil {
		t.Fatalf("saving an imported record: %v", err)
	}
	again, err := app.FindRecordById("services", imported.Id)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetString("name") != "Edited" || again.GetBool("paused") || again.GetString("updated") == again.GetString("created") {
		t.Errorf("after an edit: name %q paused %t updated %q created %q", again.GetString("name"), again.GetBool("paused"),
			again.GetString("updated"), again.GetString("created"))
	}
}

// TestImportBulkPausesFollowEnabled: a service import pauses or resumes gets its pauses
// row opened or closed, as a save through the admin UI does (uptime leaves paused time out).
func TestImportBulkPausesFollowEnabled(t *testing.T) {
	app := newHookedApp(t)
	imp := func(enabled bool) string {
		t.Helper()
		plan, err := planImport([]byte(fmt.Sprintf(`{"services":[{"id":"a","enabled":%t}]}`, enabled)), nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := applyImport(app, plan, false, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	pauses := func() (open, closed int) {
		t.Helper()
		err := app.DB().NewQuery(`SELECT COUNT(*) FILTER (WHERE endedAt = ''), COUNT(*) FILTER (WHERE endedAt != '')
			FROM pauses WHERE service = (SELECT id FROM services WHERE serviceId = 'a')`).Row(&open, &closed)
		if err != nil {
			t.Fatal(err)
		}
		return open, closed
	}
	steps := []struct {
		enabled          bool
		wantOut          string
		wantOpen, closed int
	}{
		{true, "create service a: paused false", 0, 0},
		{false, "update service a: paused false -> true", 1, 0},
		{false, "unchanged service a", 1, 0},
		{true, "update service a: paused true -> false", 0, 1},
	}
	for _, s := range steps {
		out := imp(s.enabled)
		if !strings.Contains(out, s.wantOut) {
			t.Errorf("enabled %t: missing %q in\n%s", s.enabled, s.wantOut, out)
		}
		if open, closed := pauses(); open != s.wantOpen || closed != s.closed {
			t.Errorf("after %q: %d open and %d closed pauses, want %d and %d", s.wantOut, open, closed, s.wantOpen, s.closed)
		}
	}
}

// TestImportBulkIsAllOrNothing: a service PocketBase would refuse fails the import, with
// the field named, and the services before it (several INSERTs' worth) are not kept.
func TestImportBulkIsAllOrNothing(t *testing.T) {
	app := newHookedApp(t)
	var b strings.Builder
	b.WriteString(`{"services":[`)
	for i := range 1500 {
		fmt.Fprintf(&b, `{"id":"ok-%d"},`, i)
	}
	fmt.Fprintf(&b, `{"id":"too-long","name":%q}]}`, strings.Repeat("n", 201))
	plan, err := planImport([]byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = applyImport(app, plan, false, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "import: save service too-long: name:") {
		t.Errorf("got %v, want the refused field named", err)
	}
	if got := countRecords(t, app, "services"); got != 0 {
		t.Errorf("services after a failed import: got %d, want 0", got)
	}
}
