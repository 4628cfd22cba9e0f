package app

import (
	"strconv"

	"github.com/pocketbase/dbx"
)

// pageCacheKiB is each SQLite connection's page cache. PocketBase gives every connection
// 32 MB, and the reader pool keeps several open: after the start-up reads and a few
// pages, that cache alone took a server of 10,000 services past 64 MB. The hot path needs
// far less (the writer appends to time-ordered indexes; the pages read one page of rows),
// and what does not fit is still in the OS's page cache.
const pageCacheKiB = 4000

// DBConnect opens a database as PocketBase's default does, with a smaller page cache per
// connection (see pageCacheKiB). main passes it to PocketBase.
func DBConnect(dbPath string) (*dbx.DB, error) {
	// busy_timeout first: a new connection must wait on a busy database before it sets
	// WAL mode (PocketBase's own order and values, but for cache_size).
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)" +
		"&_pragma=cache_size(-" + strconv.Itoa(pageCacheKiB) + ")&_defensive=1"
	return dbx.Open("sqlite", dbPath+pragmas)
}
