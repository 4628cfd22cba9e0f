package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The pauses collection records the periods a service was paused, so uptime can leave
// paused time out (it is neither up nor down). The server writes it when an admin flips
// a service's paused flag; people only read it.
func init() {
	m.Register(func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return err
		}
		pauses := core.NewBaseCollection("pauses")
		pauses.Fields.Add(
			&core.RelationField{Name: "service", CollectionId: services.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
			&core.DateField{Name: "startedAt", Required: true},
			&core.DateField{Name: "endedAt"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		pauses.AddIndex("idx_pauses_service_startedAt", false, "service, startedAt", "")
		if err := app.Save(pauses); err != nil {
			return err
		}
		// Services paused before this collection existed: their pause starts when their
		// status became paused, or when they were last edited.
		_, err = app.DB().NewQuery(`INSERT INTO pauses (id, service, startedAt, endedAt, created, updated)
			SELECT substr(lower(hex(randomblob(8))), 1, 15), id,
				CASE WHEN status = 'paused' AND statusChangedAt != '' THEN statusChangedAt ELSE updated END,
				'', strftime('%Y-%m-%d %H:%M:%fZ'), strftime('%Y-%m-%d %H:%M:%fZ')
			FROM services WHERE paused = TRUE`).Execute()
		return err
	}, func(app core.App) error {
		pauses, err := app.FindCollectionByNameOrId("pauses")
		if err != nil {
			return nil
		}
		return app.Delete(pauses)
	})
}
