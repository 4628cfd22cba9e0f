package store

import (
	"fmt"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/dbx"
)

// Queries of the hot-path registry: the keys of every service and api key.
const (
	SQLServiceKeys = "SELECT id, serviceId, apiKey FROM services"
	// SQLServiceKeysSince reads the keys of the services saved after a time (indexed):
	// what another process wrote since the last poll. After, not at: an import stamps
	// every row it writes with one time, which a poll must not read again and again.
	SQLServiceKeysSince = SQLServiceKeys + " WHERE updated > {:since}"
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

// LoadServiceKeys reads every service's key.
func LoadServiceKeys(db dbx.Builder) ([]ingest.ServiceKey, error) {
	return loadServiceKeys(db.NewQuery(SQLServiceKeys))
}

// LoadServiceKeysSince reads the keys of the services saved after since.
func LoadServiceKeysSince(db dbx.Builder, since string) ([]ingest.ServiceKey, error) {
	return loadServiceKeys(db.NewQuery(SQLServiceKeysSince).Bind(dbx.Params{"since": since}))
}

func loadServiceKeys(q *dbx.Query) ([]ingest.ServiceKey, error) {
	var svcs []struct {
		ID        string `db:"id"`
		ServiceID string `db:"serviceId"`
		APIKey    string `db:"apiKey"`
	}
	if err := q.All(&svcs); err != nil {
		return nil, fmt.Errorf("store: load service keys: %w", err)
	}
	list := make([]ingest.ServiceKey, len(svcs))
	for i, r := range svcs {
		list[i] = ingest.ServiceKey{RecordID: r.ID, ServiceID: r.ServiceID, Key: r.APIKey}
	}
	return list, nil
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
