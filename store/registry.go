package store

import (
	"fmt"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/dbx"
)

// Queries of the hot-path registry: the keys of every service and api key.
const (
	SQLServiceKeys = "SELECT id, serviceId, apiKey FROM services"
	SQLAPIKeys     = "SELECT id, [[key]], services, scopes, disabled FROM api_keys"
	// SQLRegistryVersion changes whenever a service or api key is created, changed or
	// deleted, by this process or another one.
	SQLRegistryVersion = `SELECT
		(SELECT COUNT(*) || '/' || IFNULL(MAX(updated), '') FROM services) || '|' ||
		(SELECT COUNT(*) || '/' || IFNULL(MAX(updated), '') FROM api_keys)`
)

// LoadServiceKeys reads every service's key.
func LoadServiceKeys(db dbx.Builder) ([]ingest.ServiceKey, error) {
	var svcs []struct {
		ID        string `db:"id"`
		ServiceID string `db:"serviceId"`
		APIKey    string `db:"apiKey"`
	}
	if err := db.NewQuery(SQLServiceKeys).All(&svcs); err != nil {
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
func RegistryVersion(db dbx.Builder) (string, error) {
	var v string
	err := db.NewQuery(SQLRegistryVersion).Row(&v)
	return v, err
}
