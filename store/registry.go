package store

import (
	"fmt"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/dbx"
)

// Queries of the hot-path registry: the keys of every service and api key.
const (
	SQLServiceKeys = "SELECT id, serviceId, apiKey, pingId FROM services"
	// SQLServiceKeysSince reads the keys of the services saved after a time (indexed):
	// what another process wrote since the last poll. After, not at: an import stamps
	// every row it writes with one time, which a poll must not read again and again.
	SQLServiceKeysSince = SQLServiceKeys + " WHERE updated > {:since}"
	// SQLServiceCountHint is about the number of services, from the table's b-tree edge
	// rather than a count of every row: enough to size the maps that hold them.
	SQLServiceCountHint = "SELECT IFNULL(MAX(rowid), 0) FROM services"
	SQLAPIKeys          = "SELECT id, [[key]], services, scopes, disabled FROM api_keys"
	// SQLRegistryVersion changes whenever a service or api key is created, changed or
	// deleted, by this process or another one: the newest `updated` of each table (both
	// indexed, and written by saves and imports only, never by beats or the engine), and
	// the deletion counters that the triggers of SQLChangeCounter keep. Every part is an
	// index lookup: the poll costs the same at 10 or 1,000,000 services.
	SQLRegistryVersion = `SELECT IFNULL((SELECT MAX(updated) FROM services), '') AS services,
		IFNULL((SELECT MAX(updated) FROM api_keys), '') AS keys,
		IFNULL((SELECT n FROM hm_deletions WHERE tbl = 'services'), 0) AS serviceDeletes,
		IFNULL((SELECT n FROM hm_deletions WHERE tbl = 'api_keys'), 0) AS keyDeletes`
	// SQLChangeCounter creates the deletion counters and their triggers where missing.
	// It runs at every start: PocketBase may rebuild a collection's table when its
	// fields change, and a rebuilt table has lost its triggers.
	SQLChangeCounter = `CREATE TABLE IF NOT EXISTS hm_deletions (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
		INSERT OR IGNORE INTO hm_deletions (tbl, n) VALUES ('services', 0), ('api_keys', 0);
		CREATE TRIGGER IF NOT EXISTS hm_services_deleted AFTER DELETE ON services
			BEGIN UPDATE hm_deletions SET n = n + 1 WHERE tbl = 'services'; END;
		CREATE TRIGGER IF NOT EXISTS hm_api_keys_deleted AFTER DELETE ON api_keys
			BEGIN UPDATE hm_deletions SET n = n + 1 WHERE tbl = 'api_keys'; END;`
)

// EachServiceKey streams every service's key to fn, row by row: a fleet of a million is
// not held twice (rows, then the registry) at start-up, and no reflection runs per row.
func EachServiceKey(db dbx.Builder, fn func(ingest.ServiceKey)) error {
	return eachServiceKey(db.NewQuery(SQLServiceKeys), fn)
}

// LoadServiceKeysSince reads the keys of the services saved after since.
func LoadServiceKeysSince(db dbx.Builder, since string) ([]ingest.ServiceKey, error) {
	var list []ingest.ServiceKey
	err := eachServiceKey(db.NewQuery(SQLServiceKeysSince).Bind(dbx.Params{"since": since}),
		func(k ingest.ServiceKey) { list = append(list, k) })
	return list, err
}

func eachServiceKey(q *dbx.Query, fn func(ingest.ServiceKey)) error {
	return eachRow(q, "load service keys", func(rows *dbx.Rows) error {
		var k ingest.ServiceKey
		if err := rows.Scan(&k.RecordID, &k.ServiceID, &k.Key, &k.PingID); err != nil {
			return fmt.Errorf("store: load service keys: %w", err)
		}
		fn(k)
		return nil
	})
}

// ServiceCountHint is about how many services there are (at least as many as exist
// unless rows were deleted); it sizes the registry's maps before a full load.
func ServiceCountHint(db dbx.Builder) (int, error) {
	var n int
	if err := db.NewQuery(SQLServiceCountHint).Row(&n); err != nil {
		return 0, fmt.Errorf("store: count services: %w", err)
	}
	return min(n, 4_000_000), nil // rowids left by deletions must not size a huge map
}

// LoadAPIKeys reads every api key (there are few).
func LoadAPIKeys(db dbx.Builder) ([]ingest.APIKey, error) {
	var rows []struct {
		ID       string `db:"id"`
		Key      string `db:"key"`
		Services string `db:"services"`
		Scopes   string `db:"scopes"`
		Disabled bool   `db:"disabled"`
	}
	if err := db.NewQuery(SQLAPIKeys).All(&rows); err != nil {
		return nil, fmt.Errorf("store: load api keys: %w", err)
	}
	keys := make([]ingest.APIKey, 0, len(rows))
	for _, r := range rows {
		k := ingest.APIKey{ID: r.ID, Key: r.Key, Disabled: r.Disabled}
		var scopes []string
		if err := JSONList(r.Services, &k.Services); err != nil {
			return nil, err
		}
		if err := JSONList(r.Scopes, &scopes); err != nil {
			return nil, err
		}
		for _, sc := range scopes {
			k.Scopes = append(k.Scopes, ingest.Scope(sc))
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// RegistryVersion reads the value of SQLRegistryVersion.
func RegistryVersion(db dbx.Builder) (Version, error) {
	var v Version
	err := db.NewQuery(SQLRegistryVersion).One(&v)
	return v, err
}

// Version tells whether services or api keys changed: the newest save of each, and how
// many of each were deleted (see SQLRegistryVersion).
type Version struct {
	Services       string `db:"services"` // the newest `updated` of services
	Keys           string `db:"keys"`
	ServiceDeletes int    `db:"serviceDeletes"`
	KeyDeletes     int    `db:"keyDeletes"`
}

// EnsureChangeCounter creates the deletion counters of SQLRegistryVersion and their
// triggers where they are missing.
func EnsureChangeCounter(db dbx.Builder) error {
	if _, err := db.NewQuery(SQLChangeCounter).Execute(); err != nil {
		return fmt.Errorf("store: change counter: %w", err)
	}
	return nil
}
