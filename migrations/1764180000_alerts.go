package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// channelTypes are the channel types when this migration was written (migrations import
// nothing of ours but PocketBase); at every start hooks set the field to notify.Types(),
// the registry's list (alerting.SyncChannelTypes).
var channelTypes = []string{"webhook", "slack", "discord", "teams", "telegram", "ntfy", "pushover", "pagerduty", "email"}

// Alerting: the services' alert settings (pause until, dependencies, reminders), the
// incidents' alert state, and the channels, notifications, external alerts and
// maintenance windows collections. Everything is superuser-only (nil rules).
func init() {
	m.Register(func(app core.App) error {
		services, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return err
		}
		services.Fields.Add(
			&core.DateField{Name: "pausedUntil",
				Help: "No alerts until then (the service shows as paused). 'paused' pauses indefinitely."},
			&core.RelationField{Name: "dependsOn", CollectionId: services.Id, MaxSelect: 1000,
				Help: "While one of these is down, this service's alerts are held back and counted in the parent's alert."},
			&core.NumberField{Name: "reminderMinutes", OnlyInt: true, Min: types.Pointer(0.0),
				Help: "Repeat the alert every N minutes while the service stays down (0 or empty: no reminders)."},
		)
		if err := app.Save(services); err != nil {
			return err
		}

		incidents, err := app.FindCollectionByNameOrId("incidents")
		if err != nil {
			return err
		}
		incidents.Fields.Add(
			&core.DateField{Name: "alertedAt", Help: "When its alert was queued; empty while held back (maintenance, dependency, flapping)."},
			&core.DateField{Name: "remindedAt"},
		)
		if err := app.Save(incidents); err != nil {
			return err
		}
		// Incidents open before alerting existed are taken as told: no channel existed to
		// tell, and an alert for an old outage on the first channel added would surprise.
		if _, err := app.DB().NewQuery("UPDATE incidents SET alertedAt = startedAt WHERE endedAt = ''").Execute(); err != nil {
			return err
		}

		channels := core.NewBaseCollection("channels")
		channels.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true,
				Help: "External alerts can ask for channels by this name."},
			&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: channelTypes},
			&core.JSONField{Name: "config", MaxSize: 64 << 10,
				Help: "Settings of the type, e.g. {\"chatId\":\"-100123\"}; see the README's Alerts section."},
			&core.JSONField{Name: "secrets", Hidden: true, MaxSize: 64 << 10,
				Help: "Webhook URLs, tokens and keys, e.g. {\"url\":\"https://hooks.slack.com/services/...\"}; merged over config."},
			&core.SelectField{Name: "events", MaxSelect: 5, Values: []string{"down", "up", "degraded", "late", "reminder"},
				Help: "What this channel is told. A recovery goes to every channel that got the alert."},
			&core.RelationField{Name: "services", CollectionId: services.Id, MaxSelect: 100000,
				Help: "Services this channel hears about; empty means every service."},
			&core.BoolField{Name: "disabled"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		channels.AddIndex("idx_channels_name", true, "name COLLATE NOCASE", "")
		if err := app.Save(channels); err != nil {
			return err
		}

		alerts := core.NewBaseCollection("alerts")
		alerts.Fields.Add(
			&core.TextField{Name: "title", Required: true, Max: 300, Presentable: true},
			&core.TextField{Name: "message", Max: 4000},
			&core.TextField{Name: "severity", Max: 50},
			&core.TextField{Name: "source", Max: 200},
			&core.TextField{Name: "status", Max: 50},
			&core.SelectField{Name: "format", MaxSelect: 1, Values: []string{"alertmanager", "grafana", "generic"}},
			&core.TextField{Name: "url", Max: 2000},
			&core.JSONField{Name: "labels", MaxSize: 64 << 10},
			&core.JSONField{Name: "annotations", MaxSize: 64 << 10},
			&core.RelationField{Name: "channels", CollectionId: channels.Id, MaxSelect: 1000},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		alerts.AddIndex("idx_alerts_created", false, "created", "")
		if err := app.Save(alerts); err != nil {
			return err
		}

		notifications := core.NewBaseCollection("notifications")
		notifications.Fields.Add(
			&core.RelationField{Name: "channel", CollectionId: channels.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
			&core.RelationField{Name: "incident", CollectionId: incidents.Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "service", CollectionId: services.Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "alert", CollectionId: alerts.Id, MaxSelect: 1, CascadeDelete: true},
			&core.SelectField{Name: "event", Required: true, MaxSelect: 1,
				Values: []string{"down", "degraded", "up", "late", "reminder", "flapping", "test", "external"}},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"pending", "sent", "failed"}},
			&core.NumberField{Name: "attempts", OnlyInt: true},
			&core.TextField{Name: "lastError", Max: 1000},
			&core.DateField{Name: "sentAt"},
			&core.DateField{Name: "nextAttemptAt"},
			&core.JSONField{Name: "message", MaxSize: 64 << 10, Help: "What the notification says, fixed when it was queued."},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		notifications.AddIndex("idx_notifications_due", false, "nextAttemptAt", "status = 'pending'")
		notifications.AddIndex("idx_notifications_incident", false, "incident, channel", "")
		notifications.AddIndex("idx_notifications_event_created", false, "event, created", "")
		notifications.AddIndex("idx_notifications_created", false, "created", "")
		if err := app.Save(notifications); err != nil {
			return err
		}

		maintenance := core.NewBaseCollection("maintenance")
		maintenance.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
			&core.RelationField{Name: "services", CollectionId: services.Id, MaxSelect: 100000,
				Help: "Services the window covers; empty means every service."},
			&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"once", "weekly"}},
			&core.DateField{Name: "startsAt", Help: "once: when the window opens."},
			&core.DateField{Name: "endsAt", Help: "once: when it closes."},
			&core.SelectField{Name: "weekdays", MaxSelect: 7, Values: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
				Help: "weekly: the days it opens on."},
			&core.TextField{Name: "startTime", Max: 5, Pattern: `^([01][0-9]|2[0-3]):[0-5][0-9]$`,
				Help: "weekly: HH:MM on the wall clock of the time zone."},
			&core.NumberField{Name: "durationMinutes", OnlyInt: true, Min: types.Pointer(1.0), Help: "weekly: how long it lasts."},
			&core.TextField{Name: "timezone", Max: 100, Help: "weekly: an IANA zone such as Europe/Berlin (default UTC)."},
			&core.BoolField{Name: "disabled"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		return app.Save(maintenance)
	}, func(app core.App) error {
		for _, name := range []string{"maintenance", "notifications", "alerts", "channels"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		for col, fields := range map[string][]string{"services": {"pausedUntil", "dependsOn", "reminderMinutes"}, "incidents": {"alertedAt", "remindedAt"}} {
			c, err := app.FindCollectionByNameOrId(col)
			if err != nil {
				continue
			}
			for _, f := range fields {
				c.Fields.RemoveByName(f)
			}
			if err := app.Save(c); err != nil {
				return err
			}
		}
		return nil
	})
}
