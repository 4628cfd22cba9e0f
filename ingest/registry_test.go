package ingest

import (
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

func TestRegistryAuthorizeBeat(t *testing.T) {
	r := NewRegistry()
	r.PutService("rec-web", "web-1", "k-web", "")
	r.PutService("rec-db", "db-1", "k-db", "")
	r.PutService("rec-nokey", "nokey", "", "")
	r.SetAPIKeys([]APIKey{
		{ID: "all", Key: "k-all", Scopes: []Scope{ScopeHeartbeat}},
		{ID: "group", Key: "k-group", Scopes: []Scope{ScopeHeartbeat, ScopeRead}, Services: []string{"rec-db"}},
		{ID: "reader", Key: "k-read", Scopes: []Scope{ScopeRead}},
		{ID: "off", Key: "k-off", Scopes: []Scope{ScopeHeartbeat}, Disabled: true},
		{ID: "empty", Key: "", Scopes: []Scope{ScopeHeartbeat}},
	})
	cases := []struct {
		service, key string
		wantErr      string
		wantKeyID    string
	}{
		{"web-1", "k-web", "", ""},
		{"web-1", "k-db", monitor.ErrInvalidKey, ""},
		{"web-1", "", monitor.ErrInvalidKey, ""},
		{"web-1", "k-web ", monitor.ErrInvalidKey, ""},
		{"ghost", "k-all", monitor.ErrUnknownService, ""},
		{"web-1", "k-all", "", "all"},
		{"db-1", "k-group", "", "group"},
		{"web-1", "k-group", monitor.ErrInvalidKey, ""},
		{"web-1", "k-read", monitor.ErrInvalidKey, ""},
		{"web-1", "k-off", monitor.ErrInvalidKey, ""},
		{"nokey", "", monitor.ErrInvalidKey, ""},
		{"nokey", "k-all", "", "all"},
	}
	for _, c := range cases {
		g, err := r.AuthorizeBeat(c.service, c.key)
		if err != c.wantErr || (err == "" && g.APIKeyID != c.wantKeyID) {
			t.Errorf("AuthorizeBeat(%q, %q) = %+v %q, want key %q err %q", c.service, c.key, g, err, c.wantKeyID, c.wantErr)
		}
	}
	if g, _ := r.AuthorizeBeat("web-1", "k-web"); g.LimitKey() == "" {
		t.Error("empty limit key")
	}
	if g1, _ := r.AuthorizeBeat("web-1", "k-all"); g1.LimitKey() == "rec-web" {
		t.Error("an api key shares the service key's rate limit")
	}
	if id, ok := r.AuthorizeScope("k-read", ScopeRead); !ok || id != "reader" {
		t.Errorf("read scope: %q %v", id, ok)
	}
	if _, ok := r.AuthorizeScope("k-all", ScopeRead); ok {
		t.Error("a heartbeat-only key has the read scope")
	}
	if _, ok := r.AuthorizeScope("", ScopeRead); ok {
		t.Error("the empty key matched")
	}
}

func TestRegistryRenameAndDelete(t *testing.T) {
	r := NewRegistry()
	r.PutService("rec", "old", "k", "")
	r.PutService("rec", "new", "k2", "")
	if _, err := r.AuthorizeBeat("old", "k"); err != monitor.ErrUnknownService {
		t.Errorf("old serviceId after rename: %q", err)
	}
	if _, err := r.AuthorizeBeat("new", "k"); err != monitor.ErrInvalidKey {
		t.Errorf("old key after rotation: %q", err)
	}
	if _, err := r.AuthorizeBeat("new", "k2"); err != "" {
		t.Errorf("new key: %q", err)
	}
	r.DeleteService("rec")
	if _, err := r.AuthorizeBeat("new", "k2"); err != monitor.ErrUnknownService || r.Len() != 0 {
		t.Errorf("after delete: %q, %d services", err, r.Len())
	}
}
