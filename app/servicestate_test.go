package app

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
)

// serverFields are what the server computes for a service; people never set them.
var serverFields = []string{"lastSeen", "lastStatus", "lastMessage", "status", "statusChangedAt", "firstSeen"}

// adminFields lists the fields of collection name as the admin UI gets them.
func adminFields(t *testing.T, h *harness, super, name string) map[string]map[string]any {
	t.Helper()
	res := h.do("GET", "/api/collections/"+name, "", "Authorization: "+super)
	if res.Code != 200 {
		t.Fatalf("GET collection %s: %d %s", name, res.Code, body(res))
	}
	var col struct {
		Fields []map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &col); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, f := range col.Fields {
		out[f["name"].(string)] = f
	}
	return out
}

// TestServicesFormShowsOnlySettings: the admin UI's services form holds what a person
// sets; what the server computes lives in service_states, one record per service.
func TestServicesFormShowsOnlySettings(t *testing.T) {
	h := newHarness(t)
	super := h.authToken("_superusers")
	services := adminFields(t, h, super, "services")
	for _, f := range serverFields {
		if _, ok := services[f]; ok {
			t.Errorf("services has the server's field %s", f)
		}
	}
	for _, f := range []string{"serviceId", "apiKey", "interval", "stalenessThreshold", "paused"} {
		if _, ok := services[f]; !ok {
			t.Errorf("services lacks the setting %s", f)
		}
	}
	for _, f := range []string{"interval", "stalenessThreshold"} {
		if help, _ := services[f]["help"].(string); !strings.Contains(help, "usual") {
			t.Errorf("services.%s help %q does not give the usual value", f, help)
		}
	}
	states := adminFields(t, h, super, "service_states")
	for _, f := range append([]string{"service"}, serverFields...) {
		if _, ok := states[f]; !ok {
			t.Errorf("service_states lacks %s", f)
		}
	}
	if rel := states["service"]; rel["cascadeDelete"] != true || rel["required"] != true {
		t.Errorf("service_states.service: %v, want a required relation deleted with its service", rel)
	}
}

// stateRow reads the service_states row of record id; ok false when there is none.
func stateRow(t *testing.T, h *harness, id string) (row dbx.NullStringMap, ok bool) {
	t.Helper()
	row = dbx.NullStringMap{}
	err := h.app.DB().NewQuery("SELECT service, lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen FROM service_states WHERE id = {:id}").
		Bind(dbx.Params{"id": id}).One(&row)
	if err != nil {
		return nil, false
	}
	return row, true
}

// TestBeatWritesServiceState: a service's first beat creates its state record (keyed by
// the service's record id), the engine's decision lands there too, and deleting the
// service deletes its state.
func TestBeatWritesServiceState(t *testing.T) {
	h := newHarness(t)
	h.setClock(t0)
	svc := h.service("web-1", "k1-long-enough-key", nil)
	if _, ok := stateRow(t, h, svc.Id); ok {
		t.Fatal("a service that never beat has a state")
	}
	if got := h.beat("web-1", "k1-long-enough-key"); got != 200 {
		t.Fatalf("beat: %d", got)
	}
	row, ok := stateRow(t, h, svc.Id)
	if !ok {
		t.Fatal("no state after the first beat")
	}
	if row["service"].String != svc.Id || row["lastStatus"].String != "up" || row["lastSeen"].String == "" || row["firstSeen"].String != row["lastSeen"].String {
		t.Errorf("state after the first beat: %v", row)
	}
	if row["status"].String != "up" || row["statusChangedAt"].String == "" {
		t.Errorf("the engine's decision: status %q since %q, want up", row["status"].String, row["statusChangedAt"].String)
	}
	// A settings save leaves the state alone.
	fresh, err := h.app.FindRecordById("services", svc.Id)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Set("name", "Web One")
	if err := h.app.Save(fresh); err != nil {
		t.Fatal(err)
	}
	if after, _ := stateRow(t, h, svc.Id); after["lastSeen"].String != row["lastSeen"].String || after["status"].String != "up" {
		t.Errorf("state after a settings save: %v, want %v", after, row)
	}
	if err := h.app.Delete(fresh); err != nil {
		t.Fatal(err)
	}
	if n := h.count("service_states", "id = {:id}", dbx.Params{"id": svc.Id}); n != 0 {
		t.Errorf("states of the deleted service: %d, want 0", n)
	}
}

// TestServiceStateEditRefused: a superuser cannot set what the server computes through
// the records API (the admin UI uses it): 400, and nothing changes.
func TestServiceStateEditRefused(t *testing.T) {
	h := newHarness(t)
	h.setClock(t0)
	super := h.authToken("_superusers")
	svc := h.service("web-1", "k1-long-enough-key", nil)
	if got := h.beat("web-1", "k1-long-enough-key"); got != 200 {
		t.Fatalf("beat: %d", got)
	}
	before, _ := stateRow(t, h, svc.Id)
	res := h.do("PATCH", "/api/collections/service_states/records/"+svc.Id, `{"lastSeen":"2020-01-01 00:00:00.000Z","status":"down"}`,
		"Authorization: "+super, "Content-Type: application/json")
	if res.Code != 400 || !strings.Contains(body(res), "computed by the server") {
		t.Errorf("PATCH a state: %d %s, want 400 computed by the server", res.Code, body(res))
	}
	if after, _ := stateRow(t, h, svc.Id); after["lastSeen"].String != before["lastSeen"].String || after["status"].String != before["status"].String {
		t.Errorf("state after a refused PATCH: %v, want %v", after, before)
	}
	other := h.service("web-2", "k2-long-enough-key", nil)
	res = h.do("POST", "/api/collections/service_states/records", `{"id":"`+other.Id+`","service":"`+other.Id+`","status":"up"}`,
		"Authorization: "+super, "Content-Type: application/json")
	if res.Code != 400 || !strings.Contains(body(res), "computed by the server") {
		t.Errorf("POST a state: %d %s, want 400 computed by the server", res.Code, body(res))
	}
	if _, ok := stateRow(t, h, other.Id); ok {
		t.Error("a refused POST created a state")
	}
}

// TestServiceZeroNumbersStoreDefaults: a save from any path stores the effective
// interval and threshold, never 0.
func TestServiceZeroNumbersStoreDefaults(t *testing.T) {
	h := newHarness(t)
	super := h.authToken("_superusers")
	res := h.do("POST", "/api/collections/services/records", `{"serviceId":"web-1","interval":0,"stalenessThreshold":0}`,
		"Authorization: "+super, "Content-Type: application/json")
	if res.Code != 200 {
		t.Fatalf("create: %d %s", res.Code, body(res))
	}
	svc, err := h.app.FindFirstRecordByData("services", "serviceId", "web-1")
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		var n struct {
			Interval  int `db:"interval"`
			Threshold int `db:"stalenessThreshold"`
		}
		if err := h.app.DB().NewQuery("SELECT interval, stalenessThreshold FROM services WHERE id = {:id}").Bind(dbx.Params{"id": svc.Id}).One(&n); err != nil {
			t.Fatal(err)
		}
		if n.Interval != 120 || n.Threshold != 300 {
			t.Errorf("%s: stored interval %d threshold %d, want 120 and 300", when, n.Interval, n.Threshold)
		}
	}
	check("created with 0")
	svc.Set("interval", 0)
	svc.Set("stalenessThreshold", 0)
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	check("saved with 0")
}

// setState stores fields of the state of the service with serviceID (lastSeen,
// status, ...) directly, as the server's writer and engine would: an upsert of its
// service_states row.
func setState(t testing.TB, db dbx.Builder, serviceID string, fields dbx.Params) {
	t.Helper()
	var cols, vals, sets []string
	params := dbx.Params{"sid": serviceID}
	for _, c := range slices.Sorted(maps.Keys(fields)) {
		cols, vals, sets = append(cols, c), append(vals, "{:"+c+"}"), append(sets, c+" = excluded."+c)
		params[c] = fields[c]
	}
	_, err := db.NewQuery("INSERT INTO service_states (id, service, " + strings.Join(cols, ", ") + ") SELECT id, id, " + strings.Join(vals, ", ") +
		" FROM services WHERE serviceId = {:sid} ON CONFLICT(id) DO UPDATE SET " + strings.Join(sets, ", ")).Bind(params).Execute()
	if err != nil {
		t.Fatal(err)
	}
}
