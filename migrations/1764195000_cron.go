package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// PingIDPattern is the shape of a pingId: a UUID in lower-case hex, as Healthchecks
// prints its checks' ping URLs.
const PingIDPattern = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`

// pingIDGenerate makes a random (version 4) UUID for a service whose pingId is empty.
const pingIDGenerate = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`

// newUUIDSQL is a random version-4 UUID in SQLite's SQL, for the services that exist
// before their pingId does.
const newUUIDSQL = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
	substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`

// Help texts of the cron-job settings.
const (
	pingIDHelp     = "The secret of the service's ping URL, /ping/<pingId>. Clear it and save to rotate it."
	scheduleHelp   = "Empty: the service beats every interval. Otherwise a cron expression (5 fields, or @hourly, @daily, @weekly, @monthly, @yearly) of when it is expected to ping; check one with `heartbeat-monitor schedule`."
	timezoneHelp   = "The IANA time zone the schedule is read in, e.g. Europe/Riga; empty means UTC."
	graceHelp      = "With a schedule: seconds after an expected run before the service is down; 0 or empty means 3600."
	maxRuntimeHelp = "Seconds a run may take from its /start ping; a run still going after that is down. 0 or empty: no bound."
)

// Cron jobs: every service gets a secret ping URL (Healthchecks' dialect), a schedule in
// a time zone with a grace, and a bound on how long a run may take. Each ping row says
// what kind of ping it was, the exit status it carried, its run id and body, and for a
// finish, when the run it ends started. The service's open runs, its last duration and
// exit status are server state, kept with the rest of it in service_states.
func init() {
	m.Register(func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return fmt.Errorf("migrations: cron: %w", err)
		}
		services.Fields.Add(
			&core.TextField{Name: "pingId", Hidden: true, Max: 36, Pattern: PingIDPattern,
				AutogeneratePattern: pingIDGenerate, Help: pingIDHelp},
			&core.TextField{Name: "schedule", Max: 100, Help: scheduleHelp},
			&core.TextField{Name: "timezone", Max: 64, Help: timezoneHelp},
			&core.NumberField{Name: "grace", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(31536000.0), Help: graceHelp},
			&core.NumberField{Name: "maxRuntime", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(31536000.0), Help: maxRuntimeHelp},
		)
		if err := app.Save(services); err != nil {
			return fmt.Errorf("migrations: add cron fields to services: %w", err)
		}
		if _, err := app.DB().NewQuery("UPDATE services SET pingId = " + newUUIDSQL + " WHERE pingId = ''").Execute(); err != nil {
			return fmt.Errorf("migrations: give services a pingId: %w", err)
		}
		services, err = app.FindCollectionByNameOrId("services")
		if err != nil {
			return fmt.Errorf("migrations: cron: %w", err)
		}
		services.AddIndex("idx_services_pingId", true, "pingId", "pingId != ''")
		if err := app.Save(services); err != nil {
			return fmt.Errorf("migrations: index pingId: %w", err)
		}

		beats, err := app.FindCollectionByNameOrId("heartbeats")
		if err != nil {
			return fmt.Errorf("migrations: cron: %w", err)
		}
		beats.Fields.Add(
			&core.SelectField{Name: "kind", MaxSelect: 1, Values: []string{"start", "log", "fail", "exit"},
				Help: "Empty: a beat (or a success ping). start, log and fail are the ping's suffix; exit carries exitStatus."},
			&core.NumberField{Name: "exitStatus", OnlyInt: true, Help: "The exit status a ping carried (kind exit)."},
			&core.TextField{Name: "rid", Max: 36, Help: "The run id (a UUID) the ping carried."},
			&core.TextField{Name: "body", Max: 10000, Help: "The ping's body, cut at 10,000 bytes."},
			&core.DateField{Name: "started", Help: "For a ping that ended a run: when the run started."},
		)
		if err := app.Save(beats); err != nil {
			return fmt.Errorf("migrations: add ping fields to heartbeats: %w", err)
		}

		states, err := app.FindCollectionByNameOrId("service_states")
		if err != nil {
			return fmt.Errorf("migrations: cron: %w", err)
		}
		states.Fields.Add(&core.JSONField{Name: "runs", MaxSize: 16384,
			Help: "Open runs, the last run's duration and exit status." + serverComputed})
		if err := app.Save(states); err != nil {
			return fmt.Errorf("migrations: add runs to service_states: %w", err)
		}

		incidents, err := app.FindCollectionByNameOrId("incidents")
		if err != nil {
			return fmt.Errorf("migrations: cron: %w", err)
		}
		if f, ok := incidents.Fields.GetByName("cause").(*core.SelectField); ok {
			f.Values = []string{"stale", "reported", "overrun"}
		}
		if err := app.Save(incidents); err != nil {
			return fmt.Errorf("migrations: add the overrun cause: %w", err)
		}
		return nil
	}, func(app core.App) error {
		for _, c := range []struct {
			col    string
			fields []string
		}{
			{"services", []string{"pingId", "schedule", "timezone", "grace", "maxRuntime"}},
			{"heartbeats", []string{"kind", "exitStatus", "rid", "body", "started"}},
			{"service_states", []string{"runs"}},
		} {
			col, err := app.FindCollectionByNameOrId(c.col)
			if err != nil {
				return fmt.Errorf("migrations: cron down: %w", err)
			}
			col.RemoveIndex("idx_services_pingId")
			for _, f := range c.fields {
				col.Fields.RemoveByName(f)
			}
			if err := app.Save(col); err != nil {
				return fmt.Errorf("migrations: cron down %s: %w", c.col, err)
			}
		}
		if _, err := app.DB().NewQuery("UPDATE incidents SET cause = 'stale' WHERE cause = 'overrun'").Execute(); err != nil {
			return fmt.Errorf("migrations: cron down: %w", err)
		}
		incidents, err := app.FindCollectionByNameOrId("incidents")
		if err != nil {
			return fmt.Errorf("migrations: cron down: %w", err)
		}
		if f, ok := incidents.Fields.GetByName("cause").(*core.SelectField); ok {
			f.Values = []string{"stale", "reported"}
		}
		return app.Save(incidents)
	})
}
