package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// pauses are read by when they ended (the ones open or ended within the uptime window),
// which scanned every pause ever recorded: index endedAt, as incidents do.
func init() {
	m.Register(func(app core.App) error {
		pauses, err := app.FindCollectionByNameOrId("pauses")
		if err != nil {
			return err
		}
		pauses.AddIndex("idx_pauses_endedAt", false, "endedAt", "")
		return app.Save(pauses)
	}, func(app core.App) error {
		pauses, err := app.FindCollectionByNameOrId("pauses")
		if err != nil {
			return nil
		}
		pauses.RemoveIndex("idx_pauses_endedAt")
		return app.Save(pauses)
	})
}
