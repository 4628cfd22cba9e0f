package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The sessions collection holds one row per dashboard login. The dashboard cookie is a
// random session id, never a PocketBase token; the row holds the SHA-256 of that id and
// whose session it is. Logging out deletes the row, so the cookie is dead at once;
// "log out everywhere" deletes every row of the person and rotates their tokenKey.
// Superuser-only (nil rules): the server reads and writes it, people only look.
func init() {
	m.Register(func(app core.App) error {
		sessions := core.NewBaseCollection("sessions")
		sessions.Fields.Add(
			&core.TextField{Name: "idHash", Required: true, Hidden: true, Max: 64,
				Help: "SHA-256 of the session id in the cookie; the id itself is never stored."},
			&core.TextField{Name: "collectionRef", Required: true, Max: 100,
				Help: "Collection of the person: users or _superusers."},
			&core.TextField{Name: "recordRef", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "keyHash", Hidden: true, Max: 64,
				Help: "Fingerprint of the person's tokenKey at login: a password change or a log-out-everywhere ends the session."},
			&core.DateField{Name: "lastSeenAt"},
			&core.DateField{Name: "expiresAt", Required: true},
			&core.TextField{Name: "userAgent", Max: 300},
			&core.TextField{Name: "ip", Max: 64},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		sessions.AddIndex("idx_sessions_idHash", true, "idHash", "")
		sessions.AddIndex("idx_sessions_record", false, "recordRef, collectionRef", "")
		sessions.AddIndex("idx_sessions_expiresAt", false, "expiresAt", "")
		return app.Save(sessions)
	}, func(app core.App) error {
		sessions, err := app.FindCollectionByNameOrId("sessions")
		if err != nil {
			return nil
		}
		return app.Delete(sessions)
	})
}
