package app

import (
	"fmt"
	"strconv"

	"github.com/pocketbase/dbx"
)

// pageCacheKiB is each SQLite connection's page cache. PocketBase gives every connection
// 32 MB, and the reader pool keeps several open: after the start-up reads and a few
// pages, that cache alone took a server of 10,000 services past 64 MB. The hot path needs
// far less (the writer appends to time-ordered indexes; the pages read one page of rows),
// and what does not fit is still in the OS's page cache.
const pageCacheKiB = 4000

// The --sync settings: SQLite's synchronous pragma in WAL mode. With normal a commit is
// written to the log without an fsync (the log is synced at each checkpoint): it survives
// a crash of the process, not a power cut or a kernel panic, which can lose the last
// commits. With full each commit (one group commit of many beats) waits for an fsync of
// the log, and survives those too.
const (
	SyncNormal = "normal"
	SyncFull   = "full"
)

// DefaultSync is the --sync setting by default (see the README's durability section for
// the measurement that chose it).
const DefaultSync = SyncFull

// DBConnect opens a database as PocketBase's default does, with a smaller page cache per
// connection (see pageCacheKiB) and DefaultSync.
func DBConnect(dbPath string) (*dbx.DB, error) {
	return dbConnect(dbPath, DefaultSync)
}

// DBConnect opens a database as the package's DBConnect does, with c.Sync ("" means
// DefaultSync). main passes it to PocketBase; it runs after the flags are parsed.
func (c *Config) DBConnect(dbPath string) (*dbx.DB, error) {
	return dbConnect(dbPath, c.Sync)
}

func dbConnect(dbPath, sync string) (*dbx.DB, error) {
	if sync == "" {
		sync = DefaultSync
	}
	var pragma string
	switch sync {
	case SyncNormal:
		pragma = "NORMAL"
	case SyncFull:
		pragma = "FULL"
	default:
		return nil, fmt.Errorf("app: --sync %q: want %s or %s", sync, SyncFull, SyncNormal)
	}
	// busy_timeout first: a new connection must wait on a busy database before it sets
	// WAL mode (PocketBase's own order and values, but for cache_size and synchronous).
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
		"&_pragma=synchronous(" + pragma + ")&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)" +
		"&_pragma=cache_size(-" + strconv.Itoa(pageCacheKiB) + ")&_defensive=1"
	return dbx.Open("sqlite", dbPath+pragmas)
}
