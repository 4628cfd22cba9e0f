package app

import (
	"path/filepath"
	"testing"
)

// TestDBConnect: the server's connections keep PocketBase's settings (WAL, the busy
// timeout, foreign keys) with the smaller page cache, and --sync's synchronous setting:
// full by default (a commit survives a power cut), normal when asked.
func TestDBConnect(t *testing.T) {
	for _, tc := range []struct {
		sync, want string
	}{{"", "2"}, {SyncFull, "2"}, {SyncNormal, "1"}} {
		cfg := Config{Sync: tc.sync}
		db, err := cfg.DBConnect(filepath.Join(t.TempDir(), "data.db"))
		if err != nil {
			t.Fatal(err)
		}
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": "1", "synchronous": tc.want, "cache_size": "-4000",
		} {
			var got string
			if err := db.NewQuery("PRAGMA " + pragma).Row(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("--sync %q: PRAGMA %s = %s, want %s", tc.sync, pragma, got, want)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := (&Config{Sync: "fast"}).DBConnect(filepath.Join(t.TempDir(), "data.db")); err == nil {
		t.Error("--sync fast was accepted, want an error naming full and normal")
	}
}
