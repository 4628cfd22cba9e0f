// Package migrations holds the schema: every collection, field, index and API rule
// the server relies on. It is the only place the schema changes.
package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ServiceIDPattern is the shape of a serviceId: 1-100 chars of [A-Za-z0-9._-], starting
// alphanumeric. It is mirrored by monitor.ValidServiceID for the hot path.
const ServiceIDPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`

// keyPattern generates 40 random alphanumerics (~238 bits) for service and api keys.
const keyPattern = `[a-zA-Z0-9]{40}`

func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.CreateRule = nil // sign-up is closed: superusers create dashboard users
		if err := app.Save(users); err != nil {
			return err
		}

		services := core.NewBaseCollection("services")
		services.Fields.Add(
			&core.TextField{Name: "serviceId", Required: true, Max: 100, Pattern: ServiceIDPattern, Presentable: true},
			&core.TextField{Name: "name", Max: 200},
			&core.TextField{Name: "description", Max: 2000},
			&core.TextField{Name: "group", Max: 100},
			&core.TextField{Name: "apiKey", Hidden: true, Max: 200, AutogeneratePattern: keyPattern,
				Help: "Sent by clients as 'Authorization: Bearer <key>'. Clear it and save to rotate."},
			&core.NumberField{Name: "interval", OnlyInt: true, Min: types.Pointer(1.0),
				Help: "Seconds a healthy service waits between beats (default 120)."},
			&core.NumberField{Name: "stalenessThreshold", OnlyInt: true, Min: types.Pointer(1.0),
				Help: "Seconds without a beat before the service is down (default 300)."},
			&core.BoolField{Name: "paused"},
			&core.DateField{Name: "lastSeen"},
			&core.SelectField{Name: "lastStatus", MaxSelect: 1, Values: []string{"up", "down", "degraded"}},
			&core.TextField{Name: "lastMessage", Max: 1000},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"unknown", "up", "late", "degraded", "down", "paused"}},
			&core.DateField{Name: "statusChangedAt"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		services.AddIndex("idx_services_serviceId", true, "serviceId", "")
		if err := app.Save(services); err != nil {
			return err
		}

		apiKeys := core.NewBaseCollection("api_keys")
		apiKeys.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
			&core.TextField{Name: "key", Hidden: true, Max: 200, AutogeneratePattern: keyPattern,
				Help: "Clear it and save to rotate."},
			&core.RelationField{Name: "services", CollectionId: services.Id, MaxSelect: 100000,
				Help: "Services this key covers; empty means every service."},
			&core.SelectField{Name: "scopes", MaxSelect: 3, Values: []string{"heartbeat", "read", "alert"}},
			&core.BoolField{Name: "disabled"},
			&core.DateField{Name: "lastUsedAt"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		if err := app.Save(apiKeys); err != nil {
			return err
		}

		heartbeats := core.NewBaseCollection("heartbeats")
		heartbeats.Fields.Add(
			&core.RelationField{Name: "service", CollectionId: services.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"up", "down", "degraded"}},
			&core.TextField{Name: "message", Max: 1000},
			&core.JSONField{Name: "metadata", MaxSize: 8192},
			&core.TextField{Name: "sourceIp", Max: 100},
			&core.TextField{Name: "userAgent", Max: 500},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		heartbeats.AddIndex("idx_heartbeats_service_created", false, "service, created", "")
		if err := app.Save(heartbeats); err != nil {
			return err
		}

		statuses := []string{"unknown", "up", "late", "degraded", "down", "paused"}
		logs := core.NewBaseCollection("logs")
		logs.Fields.Add(
			&core.RelationField{Name: "service", CollectionId: services.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: statuses},
			&core.SelectField{Name: "previousStatus", MaxSelect: 1, Values: statuses},
			&core.DateField{Name: "lastSeen"},
			&core.NumberField{Name: "timeSinceLastHeartbeat", OnlyInt: true},
			&core.NumberField{Name: "stalenessThreshold", OnlyInt: true},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		logs.AddIndex("idx_logs_service_created", false, "service, created", "")
		if err := app.Save(logs); err != nil {
			return err
		}

		summaries := core.NewBaseCollection("summaries")
		summaries.Fields.Add(
			&core.NumberField{Name: "totalServices", OnlyInt: true},
			&core.NumberField{Name: "servicesUp", OnlyInt: true},
			&core.NumberField{Name: "servicesLate", OnlyInt: true},
			&core.NumberField{Name: "servicesDegraded", OnlyInt: true},
			&core.NumberField{Name: "servicesDown", OnlyInt: true},
			&core.NumberField{Name: "servicesUnknown", OnlyInt: true},
			&core.NumberField{Name: "servicesPaused", OnlyInt: true},
			&core.JSONField{Name: "results", MaxSize: 16 << 20},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		summaries.AddIndex("idx_summaries_created", false, "created", "")
		if err := app.Save(summaries); err != nil {
			return err
		}

		incidents := core.NewBaseCollection("incidents")
		incidents.Fields.Add(
			&core.RelationField{Name: "service", CollectionId: services.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
			&core.SelectField{Name: "status", MaxSelect: 1, Required: true, Values: []string{"down", "degraded"}},
			&core.SelectField{Name: "cause", MaxSelect: 1, Values: []string{"stale", "reported"}},
			&core.DateField{Name: "startedAt", Required: true},
			&core.DateField{Name: "endedAt"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		incidents.AddIndex("idx_incidents_service_startedAt", false, "service, startedAt", "")
		incidents.AddIndex("idx_incidents_open", false, "service", "endedAt = ''")
		incidents.AddIndex("idx_incidents_endedAt", false, "endedAt", "")
		return app.Save(incidents)
	}, func(app core.App) error {
		for _, name := range []string{"incidents", "summaries", "logs", "heartbeats", "api_keys", "services"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		return nil
	})
}
