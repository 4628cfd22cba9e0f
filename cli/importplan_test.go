package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func specByID(plan importPlan, id string) (serviceSpec, bool) {
	for _, s := range plan.Services {
		if s.ServiceID == id {
			return s, true
		}
	}
	return serviceSpec{}, false
}

func TestPlanImportEarlyForm(t *testing.T) {
	plan, err := planImport(readTestdata(t, "services.init.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []serviceSpec{
		{ServiceID: "service-1", Name: "Internal API", Threshold: 300, Paused: ptr(false), APIKey: "your-secret-key-1"},
		{ServiceID: "service-2", Name: "Database Service", Threshold: 300, Paused: ptr(false), APIKey: "your-secret-key-2"},
	}
	if !reflect.DeepEqual(plan.Services, want) {
		t.Errorf("services: got %+v, want %+v", plan.Services, want)
	}
	if len(plan.Notes) != 0 || len(plan.Keys) != 0 {
		t.Errorf("notes %q keys %+v: want none", plan.Notes, plan.Keys)
	}
}

func TestPlanImportGroups(t *testing.T) {
	plan, err := planImport(readTestdata(t, "services.head-example.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id        string
		group     string
		threshold int
		paused    bool
	}{
		{"production-api", "production", 300, false},      // the group's threshold
		{"production-database", "production", 180, false}, // its own overrides the group's
		{"staging-api", "staging", 600, false},
		{"backup-service", "infrastructure", 3600, false},
		{"monitoring-agent", "infrastructure", 600, false},
		{"dev-service", "development", 900, false},
		{"test-service", "development", 900, true}, // enabled:false
	}
	for _, tt := range tests {
		s, ok := specByID(plan, tt.id)
		if !ok {
			t.Errorf("%s: not planned", tt.id)
			continue
		}
		if s.Group == nil || *s.Group != tt.group || s.Threshold != tt.threshold || s.Paused == nil || *s.Paused != tt.paused {
			t.Errorf("%s: got group %v threshold %d paused %v, want %s %d %t", tt.id, deref(s.Group), s.Threshold, deref(s.Paused), tt.group, tt.threshold, tt.paused)
		}
	}
	notes := strings.Join(plan.Notes, "\n")
	for _, want := range []string{
		"group production: notifications not imported (alerts not configured by import)",
		"service production-database: notifications not imported (alerts not configured by import)",
		"group infrastructure: auth.required=false not imported",
		"group development: auth.required=false not imported",
		`group production: uptimeThresholdSet "strict" not imported`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes: missing %q in\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "group production: auth") {
		t.Errorf("notes: auth.required=true needs no note:\n%s", notes)
	}
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestPlanImportKeys(t *testing.T) {
	plan, err := planImport(readTestdata(t, "services.head.json"), readTestdata(t, "api_keys.head.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []keySpec{
		{Name: "imported key: every service (*)", Key: "key-wildcard-0123456789"},
		{Name: "imported key: group k3s-cluster", Key: "key-k3s-cluster-0123456789", Services: []string{"gmk-m6", "raspi4-8g", "um760"}},
		{Name: "imported key: service unraid-n1", Key: "key-unraid-n1-0123456789", Services: []string{"unraid-n1"}},
	}
	if !reflect.DeepEqual(plan.Keys, want) {
		t.Errorf("keys: got %+v, want %+v", plan.Keys, want)
	}
	if s, _ := specByID(plan, "unraid-n1"); s.Group == nil || *s.Group != "" || s.Threshold != 300 {
		t.Errorf("unraid-n1 (no group): got %+v", s)
	}
	if s, _ := specByID(plan, "um760"); s.Group == nil || *s.Group != "k3s-cluster" || s.Threshold != 900 {
		t.Errorf("um760: got %+v", s)
	}
}

func TestPlanImportNotes(t *testing.T) {
	tests := []struct {
		name, services, keys string
		wantNotes            []string
	}{
		{"unknown fields are reported",
			`{"version":2,"services":[{"id":"a","color":"red","auth":{"required":true,"mode":"x"}}]}`, "",
			[]string{`services.json: unknown field "version" not imported: 2`, `service a: unknown field "color" not imported: "red"`,
				`service a.auth: unknown field "mode" not imported: "x"`}},
		{"a group member that is not a service",
			`{"groups":[{"id":"g","services":["a","ghost"]}],"services":[{"id":"a"}]}`, "",
			[]string{`group g: member "ghost" is not in services: not imported`}},
		{"a service in two groups stays in the first",
			`{"groups":[{"id":"g1","services":["a"]},{"id":"g2","services":["a"]}],"services":[{"id":"a"}]}`, "",
			[]string{`group g2: member "a" already belongs to group "g1": kept there`}},
		{"an unusable threshold",
			`{"services":[{"id":"a","stalenessThreshold":2.5}]}`, "",
			[]string{`service a: stalenessThreshold 2.5 not imported: not a whole number of seconds >= 1`}},
		{"a key for nothing known",
			`{"services":[{"id":"a"}]}`, `{"nope":"k"}`,
			[]string{`API_KEYS: "nope" is neither a service nor a group of services.json: not imported`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := planImport([]byte(tt.services), []byte(tt.keys))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.Notes, tt.wantNotes) {
				t.Errorf("notes: got %q, want %q", plan.Notes, tt.wantNotes)
			}
			if len(plan.Warnings) != 0 { // a short key that is not imported is not warned about
				t.Errorf("warnings: got %q, want none", plan.Warnings)
			}
		})
	}
}

func TestPlanImportErrors(t *testing.T) {
	tests := []struct {
		name, services, keys, wantErr string
	}{
		{"not JSON", `services:`, "", "not a JSON object"},
		{"no services", `{"groups":[]}`, "", `no "services" list`},
		{"bad id", `{"services":[{"id":"has space"}]}`, "", "not a valid serviceId"},
		{"duplicate id", `{"services":[{"id":"a"},{"id":"a"}]}`, "", "defined twice"},
		{"keys not an object", `{"services":[{"id":"a"}]}`, `["k"]`, "API_KEYS is not a JSON object"},
		{"key not a string", `{"services":[{"id":"a"}]}`, `{"a":1}`, "non-empty string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planImport([]byte(tt.services), []byte(tt.keys))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
