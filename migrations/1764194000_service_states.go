package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// serverComputed ends the Help text of every service_states field.
const serverComputed = " Computed by the server; not editable."

// stateFields are the service_states fields the server computes, in the order the
// copies between the two tables name them.
const stateFields = "lastSeen, lastStatus, lastMessage, status, statusChangedAt, firstSeen"

// Defaults stored for an interval or threshold of 0, as monitor.DefaultInterval and
// monitor.DefaultThreshold were when this migration was written: a migration is a fixed
// step, so a later change of the defaults does not rewrite what it stored.
const (
	defaultIntervalSeconds  = 120
	defaultThresholdSeconds = 300
)

// Help texts of the number settings. The admin UI shows an empty number as 0, so the
// text gives the usual value rather than promising a default the form cannot show.
const (
	intervalHelp  = "Seconds a healthy service waits between beats; the usual value is 120 (the original clients beat every 120 s)."
	thresholdHelp = "Seconds without a beat before the service is down; the usual value is 300."
	reminderHelp  = "Repeat the alert every N minutes while the service stays down; 0 means no reminders."
)

// The services form in the admin UI shows what a person sets; what the server computes
// for each service (its last beat, its state) moves to service_states, one record per
// service whose id is the service's record id. The heartbeat writer and the engine
// upsert it, so an admin's save can no longer post back a stale lastSeen, and a form
// shows no field nobody may change. An interval or threshold of 0 (read as the default)
// is stored as that default, so the form shows the value in effect.
func init() {
	m.Register(func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return fmt.Errorf("migrations: service_states: %w", err)
		}
		states := core.NewBaseCollection("service_states")
		states.Fields.Add(
			&core.RelationField{Name: "service", CollectionId: services.Id, MaxSelect: 1, Required: true, CascadeDelete: true,
				Help: "The service; this record's id is the service's id." + serverComputed},
			&core.DateField{Name: "lastSeen", Help: "When the newest beat arrived." + serverComputed},
			&core.SelectField{Name: "lastStatus", MaxSelect: 1, Values: []string{"up", "down", "degraded"},
				Help: "What the client reported in its newest beat." + serverComputed},
			&core.TextField{Name: "lastMessage", Max: 1000, Help: "The message of the newest beat." + serverComputed},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"unknown", "up", "late", "degraded", "down", "paused"},
				Help: "The state the server last decided." + serverComputed},
			&core.DateField{Name: "statusChangedAt", Help: "Since when the service is in that state." + serverComputed},
			&core.DateField{Name: "firstSeen", Help: "When the first beat arrived; uptime counts from here." + serverComputed},
		)
		states.AddIndex("idx_service_states_service", true, "service", "")
		if err := app.Save(states); err != nil {
			return fmt.Errorf("migrations: create service_states: %w", err)
		}
		_, err = app.DB().NewQuery("INSERT INTO service_states (id, service, " + stateFields + ") SELECT id, id, " + stateFields + " FROM services").Execute()
		if err != nil {
			return fmt.Errorf("migrations: copy service states: %w", err)
		}
		_, err = app.DB().NewQuery(fmt.Sprintf(`UPDATE services SET
			interval = iif(interval > 0, interval, %d), stalenessThreshold = iif(stalenessThreshold > 0, stalenessThreshold, %d)
			WHERE NOT (interval > 0 AND stalenessThreshold > 0)`, defaultIntervalSeconds, defaultThresholdSeconds)).Execute()
		if err != nil {
			return fmt.Errorf("migrations: store default intervals: %w", err)
		}
		for _, f := range []string{"lastSeen", "lastStatus", "lastMessage", "status", "statusChangedAt", "firstSeen"} {
			services.Fields.RemoveByName(f)
		}
		setHelp(services, "interval", intervalHelp)
		setHelp(services, "stalenessThreshold", thresholdHelp)
		setHelp(services, "reminderMinutes", reminderHelp)
		if err := app.Save(services); err != nil {
			return fmt.Errorf("migrations: remove state fields from services: %w", err)
		}
		return nil
	}, func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return fmt.Errorf("migrations: service_states down: %w", err)
		}
		services.Fields.Add(
			&core.DateField{Name: "lastSeen"},
			&core.SelectField{Name: "lastStatus", MaxSelect: 1, Values: []string{"up", "down", "degraded"}},
			&core.TextField{Name: "lastMessage", Max: 1000},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"unknown", "up", "late", "degraded", "down", "paused"}},
			&core.DateField{Name: "statusChangedAt"},
			&core.DateField{Name: "firstSeen",
				Help: "When the first beat arrived; uptime counts from here. Written by the server."},
		)
		setHelp(services, "interval", "Seconds a healthy service waits between beats (default 120).")
		setHelp(services, "stalenessThreshold", "Seconds without a beat before the service is down (default 300).")
		setHelp(services, "reminderMinutes", "Repeat the alert every N minutes while the service stays down (0 or empty: no reminders).")
		if err := app.Save(services); err != nil {
			return fmt.Errorf("migrations: add state fields to services: %w", err)
		}
		states, err := app.FindCollectionByNameOrId("service_states")
		if err != nil {
			return fmt.Errorf("migrations: service_states down: %w", err)
		}
		_, err = app.DB().NewQuery(`UPDATE services SET lastSeen = st.lastSeen, lastStatus = st.lastStatus, lastMessage = st.lastMessage,
			status = st.status, statusChangedAt = st.statusChangedAt, firstSeen = st.firstSeen
			FROM service_states AS st WHERE st.id = services.id`).Execute()
		if err != nil {
			return fmt.Errorf("migrations: copy service states back: %w", err)
		}
		if err := app.Delete(states); err != nil {
			return fmt.Errorf("migrations: drop service_states: %w", err)
		}
		return nil
	})
}

// setHelp sets the Help text of field name of col, if col has a number field by that name.
func setHelp(col *core.Collection, name, help string) {
	if f, ok := col.Fields.GetByName(name).(*core.NumberField); ok {
		f.Help = help
	}
}
