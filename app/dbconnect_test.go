package app

import (
	"path/filepath"
	"testing"
)

// TestDBConnect: the server's connections keep PocketBase's settings (WAL, the busy
// timeout, foreign keys) with the smaller page cache.
func TestDBConnect(t *testing.T) {
	db, err := DBConnect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": "1", "synchronous": "1", "cache_size": "-4000",
	} {
		var got string
		if err := db.NewQuery("PRAGMA " + pragma).Row(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
