package ingest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// TestRegistryReusesADeletedServicesSlot: a service added after one was deleted takes its
// place in the registry's one slice; the deleted one no longer authorises and the others
// are untouched.
func TestRegistryReusesADeletedServicesSlot(t *testing.T) {
	r := NewRegistry()
	r.PutService("ra", "a", "ka", "")
	r.PutService("rb", "b", "kb", "")
	r.PutService("rc", "c", "kc", "")
	r.DeleteService("rb")
	r.PutService("rd", "d", "kd", "")
	if got := len(r.set.svcs); got != 3 {
		t.Errorf("%d slots after a delete and an add, want 3 (the slot reused)", got)
	}
	if _, err := r.AuthorizeBeat("b", "kb"); err != monitor.ErrUnknownService {
		t.Errorf("deleted service: %q, want %q", err, monitor.ErrUnknownService)
	}
	for _, c := range []struct{ sid, key, rec string }{{"a", "ka", "ra"}, {"c", "kc", "rc"}, {"d", "kd", "rd"}} {
		if g, err := r.AuthorizeBeat(c.sid, c.key); err != "" || g.Service.RecordID != c.rec || g.Service.ServiceID != c.sid {
			t.Errorf("AuthorizeBeat(%q) = %+v %q, want record %q", c.sid, g.Service, err, c.rec)
		}
	}
	if _, err := r.AuthorizeBeat("d", "kb"); err != monitor.ErrInvalidKey {
		t.Errorf("the reused slot takes the deleted service's key: %q", err)
	}
	if r.Len() != 3 {
		t.Errorf("len %d, want 3", r.Len())
	}
}

// TestRegistryRenameKeepsTheSlot: renaming a serviceId updates the service in place: the
// old serviceId is unknown, the new one authorises with the new key, no slot is added.
func TestRegistryRenameKeepsTheSlot(t *testing.T) {
	r := NewRegistry()
	r.PutService("ra", "a", "ka", "")
	r.PutService("rb", "b", "kb", "")
	r.PutService("ra", "a2", "ka2", "")
	if got := len(r.set.svcs); got != 2 {
		t.Errorf("%d slots after a rename, want 2", got)
	}
	if _, err := r.AuthorizeBeat("a", "ka"); err != monitor.ErrUnknownService {
		t.Errorf("old serviceId: %q", err)
	}
	if g, err := r.AuthorizeBeat("a2", "ka2"); err != "" || g.Service.RecordID != "ra" {
		t.Errorf("renamed: %+v %q", g.Service, err)
	}
	r.DeleteService("ra")
	if _, err := r.AuthorizeBeat("a2", "ka2"); err != monitor.ErrUnknownService || r.Len() != 1 {
		t.Errorf("after delete: %q, len %d", err, r.Len())
	}
	if _, err := r.AuthorizeBeat("b", "kb"); err != "" {
		t.Errorf("the other service: %q", err)
	}
}

// mapRegistry is the registry as it was, two maps, the model the compact one must agree
// with on every sequence of calls (two records briefly sharing a serviceId included).
type mapRegistry struct {
	services map[string]ServiceKey // by serviceId
	byRecord map[string]string     // record id -> serviceId
}

func (m *mapRegistry) put(k ServiceKey) {
	if old, ok := m.byRecord[k.RecordID]; ok {
		delete(m.services, old)
	}
	m.services[k.ServiceID] = k
	m.byRecord[k.RecordID] = k.ServiceID
}

func (m *mapRegistry) del(rec string) {
	if old, ok := m.byRecord[rec]; ok {
		delete(m.services, old)
		delete(m.byRecord, rec)
	}
}

// TestRegistryAgreesWithMaps: random adds, deletes, renames, key rotations and whole
// reloads leave the registry answering every beat as the map model does, and its slice
// never holds more slots than the most records it held at once.
func TestRegistryAgreesWithMaps(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	r := NewRegistry()
	r.SetAPIKeys([]APIKey{{ID: "all", Key: "k-all", Scopes: []Scope{ScopeHeartbeat}}})
	m := &mapRegistry{services: map[string]ServiceKey{}, byRecord: map[string]string{}}
	const recs, sids = 300, 400
	most := 0
	for op := range 30_000 {
		rec := fmt.Sprintf("rec%d", rnd.IntN(recs))
		switch n := rnd.IntN(100); {
		case n < 55: // add, rename or rotate a key; serviceIds collide now and then
			k := ServiceKey{RecordID: rec, ServiceID: fmt.Sprintf("svc%d", rnd.IntN(sids)), Key: fmt.Sprintf("k%d", rnd.IntN(3))}
			if rnd.IntN(10) == 0 {
				k.Key = ""
			}
			r.PutService(k.RecordID, k.ServiceID, k.Key, k.PingID)
			m.put(k)
		case n < 99:
			r.DeleteService(rec)
			m.del(rec)
		default:
			var list []ServiceKey
			for i := range rnd.IntN(recs) {
				list = append(list, ServiceKey{RecordID: fmt.Sprintf("rec%d", i), ServiceID: fmt.Sprintf("svc%d", rnd.IntN(sids)), Key: "k0"})
			}
			r.ReplaceServices(list)
			m = &mapRegistry{services: map[string]ServiceKey{}, byRecord: map[string]string{}}
			for _, k := range list {
				m.put(k)
			}
			most = 0
		}
		most = max(most, len(m.byRecord))
		if op%97 == 0 || op == 29_999 {
			checkAgainstMaps(t, r, m, sids)
			if held := r.set.byRecord.Len(); held != len(m.byRecord) {
				t.Fatalf("op %d: %d records indexed, want %d", op, held, len(m.byRecord))
			}
			if got := len(r.set.svcs); got > most {
				t.Fatalf("op %d: %d slots, more than the %d records held at most", op, got, most)
			}
		}
	}
}

func checkAgainstMaps(t *testing.T, r *Registry, m *mapRegistry, sids int) {
	t.Helper()
	if r.Len() != len(m.services) {
		t.Fatalf("len %d, want %d", r.Len(), len(m.services))
	}
	for i := range sids {
		sid := fmt.Sprintf("svc%d", i)
		want, known := m.services[sid]
		for _, key := range []string{"k0", "k1", "k2", "k-all", ""} {
			g, err := r.AuthorizeBeat(sid, key)
			var wantErr, wantKeyID string
			switch {
			case !known:
				wantErr = monitor.ErrUnknownService
			case key == "":
				wantErr = monitor.ErrInvalidKey
			case key == "k-all":
				wantKeyID = "all"
			case key != want.Key:
				wantErr = monitor.ErrInvalidKey
			}
			if err != wantErr || (err == "" && (g.APIKeyID != wantKeyID || g.Service.RecordID != want.RecordID || g.Service.ServiceID != sid)) {
				t.Fatalf("AuthorizeBeat(%q, %q) = %+v %q, want record %q key %q err %q", sid, key, g, err, want.RecordID, wantKeyID, wantErr)
			}
		}
	}
}

// TestRegistryReadsWhileWrites: beats are authorised from many goroutines while services
// are added, renamed, deleted and reloaded; run under -race, it fails on any unguarded
// access, and a service never touched keeps authorising throughout.
func TestRegistryReadsWhileWrites(t *testing.T) {
	r := NewRegistry()
	r.PutService("steady", "steady", "k", "")
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			var bad string
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- bad
					return
				default:
				}
				if _, err := r.AuthorizeBeat("steady", "k"); err != "" {
					bad = err
				}
				r.AuthorizeBeat(fmt.Sprintf("svc%d", i%50), "k")
				r.Len()
			}
		}()
	}
	for i := range 5_000 {
		rec := fmt.Sprintf("rec%d", i%40)
		switch i % 4 {
		case 0, 1:
			r.PutService(rec, fmt.Sprintf("svc%d", i%50), "k", "")
		case 2:
			r.DeleteService(rec)
		}
		if i%1000 == 999 {
			r.ReplaceServices([]ServiceKey{{RecordID: "steady", ServiceID: "steady", Key: "k"}, {RecordID: rec, ServiceID: "svc1", Key: "k"}})
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != "" {
			t.Errorf("the untouched service was refused: %q", err)
		}
	}
}
