package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// services.firstSeen is when the server first received a beat from the service. Uptime
// counts from there: time between creating a service and its first beat is no data,
// not up time. Heartbeats are pruned to the newest few per service, so the first beat
// itself does not survive; this field does. The heartbeat writer sets it once.
func init() {
	m.Register(func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return err
		}
		services.Fields.Add(&core.DateField{Name: "firstSeen",
			Help: "When the first beat arrived; uptime counts from here. Written by the server."})
		if err := app.Save(services); err != nil {
			return err
		}
		// Services heard from before this field existed: the earliest sign of life still
		// stored (a kept heartbeat, an incident, kept for 400 days, or a staleness log).
		// Beats pruned before that are lost; their time becomes no data, never up.
		_, err = app.DB().NewQuery(`UPDATE services SET firstSeen = (
			SELECT MIN(t) FROM (
				SELECT MIN(created) AS t FROM heartbeats WHERE service = services.id
				UNION ALL SELECT MIN(startedAt) FROM incidents WHERE service = services.id
				UNION ALL SELECT MIN(lastSeen) FROM logs WHERE service = services.id AND lastSeen != ''
				UNION ALL SELECT lastSeen WHERE lastSeen != ''
			) WHERE t IS NOT NULL AND t != '')
			WHERE firstSeen = '' AND lastSeen != ''`).Execute()
		return err
	}, func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return err
		}
		services.Fields.RemoveByName("firstSeen")
		return app.Save(services)
	})
}
