package ingest

import (
	"strings"
	"testing"
)

// TestServiceByPing: a service is found by its pingId in any case; a rotated pingId
// stops working at once, a deleted service's too, and a text that is not a UUID finds
// nothing.
func TestServiceByPing(t *testing.T) {
	const p1, p2 = "0b6a07c5-a3f4-4c4b-9a54-3c2a9f8a1d01", "8e0b3f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
	r := NewRegistry()
	r.PutService("rec-a", "a", "ka", p1)
	r.PutService("rec-b", "b", "kb", "")
	find := func(s string) (string, bool) {
		u, ok := ParseUUID(s)
		if !ok {
			return "", false
		}
		svc, ok := r.ServiceByPing(u)
		return svc.RecordID, ok
	}
	if rec, ok := find(p1); !ok || rec != "rec-a" {
		t.Fatalf("by pingId: %q %v", rec, ok)
	}
	if rec, ok := find("0B6A07C5-A3F4-4C4B-9A54-3C2A9F8A1D01"); !ok || rec != "rec-a" {
		t.Errorf("upper case: %q %v", rec, ok)
	}
	r.PutService("rec-a", "a", "ka", p2) // rotated
	if _, ok := find(p1); ok {
		t.Error("the old pingId still finds the service")
	}
	if rec, ok := find(p2); !ok || rec != "rec-a" {
		t.Errorf("the new pingId: %q %v", rec, ok)
	}
	r.DeleteService("rec-a")
	if _, ok := find(p2); ok {
		t.Error("a deleted service is still found by its pingId")
	}
	for _, bad := range []string{"", "not-a-uuid", "0b6a07c5a3f44c4b9a543c2a9f8a1d01", "0b6a07c5-a3f4-4c4b-9a54-3c2a9f8a1d0g"} {
		if _, ok := ParseUUID(bad); ok {
			t.Errorf("%q parsed as a UUID", bad)
		}
	}
}

// TestNewUUID: a pingId made here is a random version-4 UUID in lower case, as the
// field's pattern allows, and two are never the same.
func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := NewUUID()
		u, ok := ParseUUID(s)
		if !ok || FormatUUID(u) != s || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
			t.Fatalf("%q is not a lower-case v4 UUID", s)
		}
		if seen[s] {
			t.Fatalf("%q made twice", s)
		}
		seen[s] = true
	}
}
