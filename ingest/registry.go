// Package ingest is the heartbeat hot path: an in-memory registry of services and keys,
// a per-key rate limiter, and the group-commit writer that makes a 2xx mean "committed".
package ingest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"unsafe"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/slotindex"
)

// Scope is a permission an api_keys key can carry.
type Scope string

// The scopes of api_keys records.
const (
	ScopeHeartbeat Scope = "heartbeat"
	ScopeRead      Scope = "read"
	ScopeAlert     Scope = "alert"
)

// Service is what the hot path knows about a service record.
type Service struct {
	RecordID  string
	ServiceID string
	keyDigest [sha256.Size]byte
	hasKey    bool
	hasPing   bool
	ping      [16]byte // the pingId's UUID, as bytes
}

// APIKey is an api_keys record as the hot path needs it.
type APIKey struct {
	ID       string
	Key      string
	Services []string // service record ids; empty means every service
	Scopes   []Scope
	Disabled bool
}

type apiKey struct {
	id       string
	digest   [sha256.Size]byte
	services map[string]struct{} // nil: every service
	scopes   map[Scope]bool
}

// Registry holds services and keys in memory so a beat is authorised without a query.
// Record hooks keep it current, so an admin edit applies to the next request.
type Registry struct {
	mu   sync.RWMutex
	set  *serviceSet
	keys []apiKey
}

// serviceSet is every service, compacted for a fleet of a million: one slice of
// fixed-size records (no pointer to each, the strings are the rows' own), found through
// two slot indexes of about 8 bytes a service each. A deleted service's slot is reused.
type serviceSet struct {
	svcs     []Service
	free     []int32         // slots of deleted services, reused first
	bySID    slotindex.Index // serviceId -> slot
	byRecord slotindex.Index // record id -> slot
	byPing   slotindex.Index // pingId's 16 bytes -> slot, of the services that have one
}

func newServiceSet(sizeHint int) *serviceSet {
	t := &serviceSet{svcs: make([]Service, 0, max(sizeHint, 0))}
	t.bySID = slotindex.New(sizeHint, func(s int32) string { return t.svcs[s].ServiceID })
	t.byRecord = slotindex.New(sizeHint, func(s int32) string { return t.svcs[s].RecordID })
	// The key is read in place, for as long as the index compares it (no copy per probe).
	t.byPing = slotindex.New(sizeHint, func(s int32) string { return unsafe.String(&t.svcs[s].ping[0], len(t.svcs[s].ping)) })
	return t
}

// NewUUID is a random (version 4) UUID in lower-case text, from crypto/rand: a pingId.
func NewUUID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand panics rather than return an error)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return FormatUUID(u)
}

// FormatUUID is u in lower-case text.
func FormatUUID(u [16]byte) string {
	const hexdigits = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexdigits[c>>4], hexdigits[c&15]
		j += 2
	}
	return string(b[:])
}

// ParseUUID reads a UUID in its 36-character text form (any case) as its 16 bytes.
func ParseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		i, j = i+2, j+1
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{set: newServiceSet(0)}
}

// newService keeps a service's key as its digest only; an empty key matches nothing.
// A pingId that is not a UUID (none is: the schema refuses it) matches nothing.
func newService(recordID, serviceID, key, pingID string) Service {
	s := Service{RecordID: recordID, ServiceID: serviceID, hasKey: key != ""}
	if key != "" {
		s.keyDigest = sha256.Sum256([]byte(key))
	}
	s.ping, s.hasPing = ParseUUID(pingID)
	return s
}

// put adds or replaces the service of v's record id. As with the two maps this replaced,
// the serviceId the record had is forgotten whichever record holds it, and v's serviceId
// is taken from any record that holds it.
func (t *serviceSet) put(v Service) {
	s, ok := t.byRecord.Get(v.RecordID)
	if ok {
		t.bySID.Delete(t.svcs[s].ServiceID)
		if t.svcs[s].hasPing {
			t.byPing.Remove(s)
		}
		// The record id is the same string (the index reads it), the rest is new.
		t.svcs[s] = v
	} else {
		if n := len(t.free); n > 0 {
			s, t.free = t.free[n-1], t.free[:n-1]
			t.svcs[s] = v
		} else {
			t.svcs = append(t.svcs, v)
			s = int32(len(t.svcs) - 1)
		}
		t.byRecord.Put(s)
	}
	t.bySID.Put(s)
	if v.hasPing {
		t.byPing.Put(s)
	}
}

// del forgets the service of record id rec, and the serviceId it had whichever record
// holds it (as the maps did); its slot is freed for the next new service.
func (t *serviceSet) del(rec string) {
	s, ok := t.byRecord.Get(rec)
	if !ok {
		return
	}
	t.bySID.Delete(t.svcs[s].ServiceID)
	t.byRecord.Remove(s)
	if t.svcs[s].hasPing {
		t.byPing.Remove(s)
	}
	t.svcs[s] = Service{} // drops the strings for the GC
	t.free = append(t.free, s)
}

// PutService adds or replaces a service (a rename of its serviceId or a new pingId
// included).
func (r *Registry) PutService(recordID, serviceID, key, pingID string) {
	s := newService(recordID, serviceID, key, pingID)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set.put(s)
}

// ServiceKey is a service as ReplaceServices takes it.
type ServiceKey struct {
	RecordID, ServiceID, Key, PingID string
}

// ReplaceServices swaps in a whole new set of services at once.
func (r *Registry) ReplaceServices(list []ServiceKey) {
	t := newServiceSet(len(list))
	for _, k := range list {
		t.put(newService(k.RecordID, k.ServiceID, k.Key, k.PingID))
	}
	r.mu.Lock()
	r.set = t
	r.mu.Unlock()
}

// ReplaceServicesFrom replaces every service with those each hands to add, row by row as
// they are read (sizeHint sizes the slice and indexes; a repeated record id replaces).
// It keeps the rows' strings, not copies. On an error the registry is left as it was.
func (r *Registry) ReplaceServicesFrom(sizeHint int, each func(add func(ServiceKey)) error) error {
	t := newServiceSet(sizeHint)
	err := each(func(k ServiceKey) {
		t.put(newService(k.RecordID, k.ServiceID, k.Key, k.PingID))
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.set = t
	r.mu.Unlock()
	return nil
}

// DeleteService forgets a service.
func (r *Registry) DeleteService(recordID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set.del(recordID)
}

// SetAPIKeys replaces every api key; disabled and empty keys are left out.
func (r *Registry) SetAPIKeys(keys []APIKey) {
	list := make([]apiKey, 0, len(keys))
	for _, k := range keys {
		if k.Disabled || k.Key == "" {
			continue
		}
		ak := apiKey{id: k.ID, digest: sha256.Sum256([]byte(k.Key)), scopes: map[Scope]bool{}}
		for _, s := range k.Scopes {
			ak.scopes[s] = true
		}
		if len(k.Services) > 0 {
			ak.services = make(map[string]struct{}, len(k.Services))
			for _, id := range k.Services {
				ak.services[id] = struct{}{}
			}
		}
		list = append(list, ak)
	}
	r.mu.Lock()
	r.keys = list
	r.mu.Unlock()
}

// Len is the number of services known.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.set.bySID.Len()
}

// Grant is the outcome of authorising a beat: the service and which key allowed it.
type Grant struct {
	Service  Service
	APIKeyID string // the api_keys record used; empty for the service's own key
}

// LimitKey identifies the (key, service) pair the rate limit counts against.
func (g Grant) LimitKey() string {
	if g.APIKeyID == "" {
		return g.Service.RecordID
	}
	return g.APIKeyID + "/" + g.Service.RecordID
}

// AuthorizeBeat checks key for a beat to serviceID. It answers with one of the seed's
// error strings (monitor.ErrUnknownService, monitor.ErrInvalidKey) when it refuses.
// Keys are compared as SHA-256 digests in constant time, and every api key is compared
// whatever matched before, so timing says nothing about a key's content.
func (r *Registry) AuthorizeBeat(serviceID, key string) (Grant, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	slot, ok := r.set.bySID.Get(serviceID)
	if !ok {
		return Grant{}, monitor.ErrUnknownService
	}
	s := &r.set.svcs[slot]
	if key == "" {
		return Grant{}, monitor.ErrInvalidKey
	}
	d := sha256.Sum256([]byte(key))
	if s.hasKey && subtle.ConstantTimeCompare(d[:], s.keyDigest[:]) == 1 {
		return Grant{Service: *s}, ""
	}
	if k := r.matchKey(d, ScopeHeartbeat); k != nil {
		if _, covered := k.services[s.RecordID]; k.services == nil || covered {
			return Grant{Service: *s, APIKeyID: k.id}, ""
		}
	}
	return Grant{}, monitor.ErrInvalidKey
}

// ServiceByPing is the service whose pingId is the UUID u (its 16 bytes): a ping URL's
// secret is its own authorisation.
func (r *Registry) ServiceByPing(u [16]byte) (Service, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	slot, ok := r.set.byPing.Get(unsafe.String(&u[0], len(u)))
	if !ok {
		return Service{}, false
	}
	return r.set.svcs[slot], true
}

// CoversEvery reports whether key is an enabled api key with the heartbeat scope that
// covers every service (its services list is empty): what a ping that creates a missing
// service needs.
func (r *Registry) CoversEvery(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(key))
	r.mu.RLock()
	defer r.mu.RUnlock()
	if k := r.matchKey(d, ScopeHeartbeat); k != nil && k.services == nil {
		return k.id, true
	}
	return "", false
}

// AuthorizeScope reports the id of the enabled api key equal to key with scope, if any.
func (r *Registry) AuthorizeScope(key string, scope Scope) (string, bool) {
	if key == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(key))
	r.mu.RLock()
	defer r.mu.RUnlock()
	if k := r.matchKey(d, scope); k != nil {
		return k.id, true
	}
	return "", false
}

// matchKey compares d with every key's digest; the caller holds r.mu.
func (r *Registry) matchKey(d [sha256.Size]byte, scope Scope) *apiKey {
	var found *apiKey
	for i := range r.keys {
		if subtle.ConstantTimeCompare(d[:], r.keys[i].digest[:]) == 1 && r.keys[i].scopes[scope] {
			found = &r.keys[i]
		}
	}
	return found
}
