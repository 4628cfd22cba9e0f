package hooks

import (
	"encoding/json"
	"fmt"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// loadRegistry fills the hot-path registry from the database.
func (s *server) loadRegistry() error {
	var svcs []struct {
		ID        string `db:"id"`
		ServiceID string `db:"serviceId"`
		APIKey    string `db:"apiKey"`
	}
	if err := s.app.DB().NewQuery("SELECT id, serviceId, apiKey FROM services").All(&svcs); err != nil {
		return err
	}
	list := make([]ingest.ServiceKey, len(svcs))
	for i, r := range svcs {
		list[i] = ingest.ServiceKey{RecordID: r.ID, ServiceID: r.ServiceID, Key: r.APIKey}
	}
	s.reg.ReplaceServices(list)
	return s.reloadKeys(s.app)
}

// registryVersion changes whenever a service or api key is created, changed or deleted,
// by this process or another one (an `import` run against the same data directory).
func (s *server) registryVersion() (string, error) {
	var v string
	err := s.app.DB().NewQuery(`SELECT
		(SELECT COUNT(*) || '/' || IFNULL(MAX(updated), '') FROM services) || '|' ||
		(SELECT COUNT(*) || '/' || IFNULL(MAX(updated), '') FROM api_keys)`).Row(&v)
	return v, err
}

// refreshRegistry reloads the registry when another process changed services or keys;
// record hooks only see this process's own saves. It runs every registryPoll.
func (s *server) refreshRegistry(last *string) {
	v, err := s.registryVersion()
	if err != nil {
		s.app.Logger().Error("registry version", "error", err)
		return
	}
	if v == *last {
		return
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if err := s.loadRegistry(); err != nil {
		s.app.Logger().Error("reload registry", "error", err)
		return
	}
	*last = v
}

// reloadKeys replaces the registry's api keys with those in the database (there are few).
func (s *server) reloadKeys(app core.App) error {
	var rows []struct {
		ID       string `db:"id"`
		Key      string `db:"key"`
		Services string `db:"services"`
		Scopes   string `db:"scopes"`
		Disabled bool   `db:"disabled"`
	}
	if err := app.DB().NewQuery("SELECT id, [[key]], services, scopes, disabled FROM api_keys").All(&rows); err != nil {
		return fmt.Errorf("hooks: load api keys: %w", err)
	}
	keys := make([]ingest.APIKey, 0, len(rows))
	for _, r := range rows {
		k := ingest.APIKey{ID: r.ID, Key: r.Key, Disabled: r.Disabled}
		var scopes []string
		if err := jsonList(r.Services, &k.Services); err != nil {
			return err
		}
		if err := jsonList(r.Scopes, &scopes); err != nil {
			return err
		}
		for _, sc := range scopes {
			k.Scopes = append(k.Scopes, ingest.Scope(sc))
		}
		keys = append(keys, k)
	}
	s.reg.SetAPIKeys(keys)
	return nil
}

func jsonList(raw string, into *[]string) error {
	if raw == "" || raw == "null" {
		return nil
	}
	if err := json.Unmarshal([]byte(raw), into); err != nil {
		return fmt.Errorf("hooks: decode list %q: %w", raw, err)
	}
	return nil
}

// bindRegistryHooks keeps the registry current: an admin edit (a new service, a rotated
// or disabled key, a deleted service) applies to the very next request.
func bindRegistryHooks(app core.App, s *server) {
	putService := func(e *core.RecordEvent) error {
		s.regMu.Lock()
		s.reg.PutService(e.Record.Id, e.Record.GetString("serviceId"), e.Record.GetString("apiKey"))
		s.regMu.Unlock()
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess("services").BindFunc(putService)
	app.OnRecordAfterUpdateSuccess("services").BindFunc(putService)
	app.OnRecordAfterDeleteSuccess("services").BindFunc(func(e *core.RecordEvent) error {
		s.regMu.Lock()
		s.reg.DeleteService(e.Record.Id)
		s.regMu.Unlock()
		return e.Next()
	})
	reload := func(e *core.RecordEvent) error {
		s.regMu.Lock()
		defer s.regMu.Unlock()
		if err := s.reloadKeys(e.App); err != nil {
			e.App.Logger().Error("reload api keys", "error", err)
		}
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess("api_keys").BindFunc(reload)
	app.OnRecordAfterUpdateSuccess("api_keys").BindFunc(reload)
	app.OnRecordAfterDeleteSuccess("api_keys").BindFunc(reload)
}

// serverFields are written by the server alone (the writer and the staleness check).
var serverFields = []string{"lastSeen", "lastStatus", "lastMessage", "status", "statusChangedAt", "firstSeen"}

// bindServiceDefaults fills defaults, regenerates cleared keys, and keeps the server's
// own fields out of reach of a record save: the admin UI posts back the lastSeen it
// loaded, which would otherwise overwrite a newer one written since.
func bindServiceDefaults(app core.App) {
	app.OnRecordCreate("services").BindFunc(func(e *core.RecordEvent) error {
		serviceDefaults(e.Record)
		if e.Record.GetString("status") == "" {
			e.Record.Set("status", string(monitor.Unknown))
		}
		return e.Next()
	})
	app.OnRecordUpdate("services").BindFunc(func(e *core.RecordEvent) error {
		serviceDefaults(e.Record)
		if e.Record.GetString("apiKey") == "" {
			e.Record.Set("apiKey:autogenerate", "")
		}
		var current dbx.NullStringMap
		err := e.App.DB().NewQuery("SELECT lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen FROM services WHERE id = {:id}").
			Bind(dbx.Params{"id": e.Record.Id}).One(&current)
		if err != nil {
			return fmt.Errorf("hooks: read service state: %w", err)
		}
		for _, f := range serverFields {
			e.Record.Set(f, current[f].String)
		}
		return e.Next()
	})
	app.OnRecordCreate("api_keys").BindFunc(func(e *core.RecordEvent) error {
		if len(e.Record.GetStringSlice("scopes")) == 0 {
			e.Record.Set("scopes", []string{string(ingest.ScopeHeartbeat)})
		}
		return e.Next()
	})
	app.OnRecordUpdate("api_keys").BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("key") == "" {
			e.Record.Set("key:autogenerate", "")
		}
		return e.Next()
	})
}

func serviceDefaults(r *core.Record) {
	if r.GetInt("interval") <= 0 {
		r.Set("interval", int(monitor.DefaultInterval.Seconds()))
	}
	if r.GetInt("stalenessThreshold") <= 0 {
		r.Set("stalenessThreshold", int(monitor.DefaultThreshold.Seconds()))
	}
}
