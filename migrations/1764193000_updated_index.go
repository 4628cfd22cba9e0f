package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The server notices services and keys written by another process (an import into a
// running server) by the newest `updated` of each table, every few seconds: without an
// index that read every row, 100,000 of them every 10 s on an idle server. Nothing on the
// hot path writes `updated` (beats move lastSeen, the engine moves status), so the index
// costs the ingest nothing.
func init() {
	m.Register(func(app core.App) error {
		for _, name := range []string{"services", "api_keys"} {
			col, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			col.AddIndex("idx_"+name+"_updated", false, "updated", "")
			if err := app.Save(col); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, name := range []string{"services", "api_keys"} {
			col, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			col.RemoveIndex("idx_" + name + "_updated")
			if err := app.Save(col); err != nil {
				return err
			}
		}
		return nil
	})
}
