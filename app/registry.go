package app

import (
	"fmt"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// loadRegistry fills the hot-path registry from the database.
func (s *server) loadRegistry() error {
	hint, err := store.ServiceCountHint(s.app.DB())
	if err != nil {
		return err
	}
	err = s.reg.ReplaceServicesFrom(hint, func(add func(ingest.ServiceKey)) error {
		return store.EachServiceKey(s.app.DB(), add)
	})
	if err != nil {
		return err
	}
	return s.reloadKeys(s.app)
}

// registryVersion changes whenever a service or api key is created, changed or deleted,
// by this process or another one (an `import` run against the same data directory).
func (s *server) registryVersion() (store.Version, error) {
	return store.RegistryVersion(s.app.DB())
}

// refreshRegistry brings the registry and the engine up to what another process wrote
// (record hooks only see this process's own saves). It runs every registryPoll and reads
// only what changed: the services saved since the last poll (an index range), or, after
// a deletion elsewhere, everything. Re-reading a fleet of a million for every admin edit
// held up beats for seconds.
func (s *server) refreshRegistry(last *store.Version) {
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
	if err := s.applyChanges(*last, v); err != nil {
		s.app.Logger().Error("reload registry", "error", err)
		return
	}
	*last = v
}

// applyChanges loads what changed between two versions into the registry and the engine.
func (s *server) applyChanges(last, v store.Version) error {
	if v.ServiceDeletes != last.ServiceDeletes || last.Services == "" {
		if err := s.loadRegistry(); err != nil {
			return err
		}
		// The engine too: an imported service's beats are then decided, listed and
		// alerted on from the next one, not from the next start.
		return s.alerts.SyncEngine()
	}
	if v.Services != last.Services {
		keys, err := store.LoadServiceKeysSince(s.app.DB(), last.Services)
		if err != nil {
			return err
		}
		for _, k := range keys {
			s.reg.PutService(k.RecordID, k.ServiceID, k.Key, k.PingID)
		}
		if err := s.alerts.PutStoredSince(last.Services); err != nil {
			return err
		}
	}
	if v.Keys != last.Keys || v.KeyDeletes != last.KeyDeletes {
		return s.reloadKeys(s.app)
	}
	return nil
}

// reloadKeys replaces the registry's api keys with those in the database (there are few).
func (s *server) reloadKeys(app core.App) error {
	keys, err := store.LoadAPIKeys(app.DB())
	if err != nil {
		return err
	}
	s.reg.SetAPIKeys(keys)
	return nil
}

// bindRegistryHooks keeps the registry current: an admin edit (a new service, a rotated
// or disabled key, a deleted service) applies to the very next request.
func bindRegistryHooks(app core.App, s *server) {
	putService := func(e *core.RecordEvent) error {
		s.regMu.Lock()
		s.reg.PutService(e.Record.Id, e.Record.GetString("serviceId"), e.Record.GetString("apiKey"), e.Record.GetString("pingId"))
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

// bindServiceDefaults stores a service's effective interval and threshold (never 0,
// whichever path saves it: the admin UI, the records API, an import) and regenerates a
// cleared key or pingId. What the server computes for a service is in service_states,
// which no record save of services touches.
func bindServiceDefaults(app core.App) {
	app.OnRecordValidate("services").BindFunc(func(e *core.RecordEvent) error {
		serviceDefaults(e.Record)
		return e.Next()
	})
	app.OnRecordUpdate("services").BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("apiKey") == "" {
			e.Record.Set("apiKey:autogenerate", "")
		}
		if e.Record.GetString("pingId") == "" {
			e.Record.Set("pingId:autogenerate", "") // rotating a ping URL is clearing it
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
	bindHandSetKeyRule(app)
	bindServiceStateRule(app)
}

// errComputedByServer refuses a hand edit of a service_states record.
const errComputedByServer = "A service's state is computed by the server from its beats; edit the service instead."

// bindServiceStateRule refuses a superuser's create or update of a service_states
// record through the records API (the admin UI): the heartbeat writer and the engine
// alone write them, and a hand-set lastSeen or status would be overwritten by the next
// beat or disagree with the engine until the next start.
func bindServiceStateRule(app core.App) {
	refuse := func(e *core.RecordRequestEvent) error {
		return e.BadRequestError(errComputedByServer, nil)
	}
	app.OnRecordCreateRequest("service_states").BindFunc(refuse)
	app.OnRecordUpdateRequest("service_states").BindFunc(refuse)
}

// bindHandSetKeyRule refuses a service key or api key shorter than monitor.MinHandSetKeyLen when
// a superuser sets it by hand, through the admin UI or the records API, with a field
// error under the key. Only those request hooks apply it: `import` saves the original
// worker's shorter keys on purpose (and warns about each), and a short key that is
// posted back unchanged (the admin UI sends every field) is not being set.
func bindHandSetKeyRule(app core.App) {
	rule := func(field string) func(e *core.RecordRequestEvent) error {
		return func(e *core.RecordRequestEvent) error {
			key := e.Record.GetString(field)
			if key == "" || key == e.Record.Original().GetString(field) {
				return e.Next() // empty: one is generated; unchanged: not set by hand
			}
			if monitor.KeyTooShort(key) {
				return e.BadRequestError(fmt.Sprintf("Field %s: a key set by hand needs at least %d characters.", field, monitor.MinHandSetKeyLen), map[string]router.SafeErrorItem{
					field: fieldError{code: "validation_key_too_short",
						msg: fmt.Sprintf("A key set by hand needs at least %d characters; leave it empty to generate one.", monitor.MinHandSetKeyLen)},
				})
			}
			return e.Next()
		}
	}
	app.OnRecordCreateRequest("services").BindFunc(rule("apiKey"))
	app.OnRecordUpdateRequest("services").BindFunc(rule("apiKey"))
	app.OnRecordCreateRequest("api_keys").BindFunc(rule("key"))
	app.OnRecordUpdateRequest("api_keys").BindFunc(rule("key"))
}

// fieldError is a validation error PocketBase shows under a field of the admin UI's form.
type fieldError struct{ code, msg string }

func (f fieldError) Code() string  { return f.code }
func (f fieldError) Error() string { return f.msg }

func serviceDefaults(r *core.Record) {
	if r.GetInt("interval") <= 0 {
		r.Set("interval", int(monitor.DefaultInterval.Seconds()))
	}
	if r.GetInt("stalenessThreshold") <= 0 {
		r.Set("stalenessThreshold", int(monitor.DefaultThreshold.Seconds()))
	}
}
