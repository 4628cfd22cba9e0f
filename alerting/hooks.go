package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Bind binds the record hooks of the alerting to app: the checks of what admins save,
// the pauses the uptime maths leaves out, and the reactions that keep the engine
// current. They run from the first save; the engine's start only if it is running.
func (a *Alerting) Bind(app core.App) {
	a.bindPauseHooks(app)
	bindAlertHooks(app)
	a.bindEngineHooks(app)
}

// defaultEvents are what a new channel is told when the admin picks none.
var defaultEvents = []string{"down", "up", "degraded", "reminder"}

// bindAlertHooks keeps the channels' type dropdown in step with the notify registry at
// start-up, and checks what admins save: a channel's settings against its type, a
// maintenance window's schedule, and services' dependencies (no cycles).
func bindAlertHooks(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := SyncChannelTypes(se.App, notify.Types()); err != nil {
			return err
		}
		return se.Next()
	})
	app.OnRecordCreate("channels").BindFunc(func(e *core.RecordEvent) error {
		if len(e.Record.GetStringSlice("events")) == 0 {
			e.Record.Set("events", defaultEvents)
		}
		return e.Next()
	})
	app.OnRecordValidate("channels").BindFunc(func(e *core.RecordEvent) error {
		_, err := notify.Parse(notify.Type(e.Record.GetString("type")), []byte(e.Record.GetString("config")), []byte(e.Record.GetString("secrets")))
		if err != nil {
			return validation.Errors{"config": validation.NewError("validation_channel_config", strings.TrimPrefix(err.Error(), "notify: "))}
		}
		return e.Next()
	})
	app.OnRecordValidate("maintenance").BindFunc(func(e *core.RecordEvent) error {
		if err := validateWindow(e.Record); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordValidate("services").BindFunc(func(e *core.RecordEvent) error {
		if err := validateDependencies(e.App, e.Record); err != nil {
			return validation.Errors{"dependsOn": validation.NewError("validation_dependency_cycle", err.Error())}
		}
		if err := validateSchedule(e.Record, time.Now()); err != nil {
			return err
		}
		return e.Next()
	})
}

// bindEngineHooks keeps the engine current with what admins save: a service's settings
// (a pause included), the channels alerts go to and the maintenance windows.
func (a *Alerting) bindEngineHooks(app core.App) {
	putService := func(e *core.RecordEvent) error {
		if eng := a.eng; eng != nil {
			r, err := store.LoadEngineService(e.App.DB(), e.Record.Id)
			if err != nil {
				e.App.Logger().Error("engine: reload service", "error", err)
			} else {
				eng.Put(EngineService(r))
			}
		}
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess("services").BindFunc(putService)
	app.OnRecordAfterUpdateSuccess("services").BindFunc(putService)
	app.OnRecordAfterDeleteSuccess("services").BindFunc(func(e *core.RecordEvent) error {
		if eng := a.eng; eng != nil {
			eng.Remove(e.Record.Id)
		}
		return e.Next()
	})
	channels := func(e *core.RecordEvent) error {
		if eng := a.eng; eng != nil {
			subs, err := store.LoadSubscribers(e.App.DB())
			if err != nil {
				e.App.Logger().Error("engine: reload channels", "error", err)
			} else {
				eng.SetChannels(subs)
			}
		}
		return e.Next()
	}
	windows := func(e *core.RecordEvent) error {
		if eng := a.eng; eng != nil {
			wins, err := store.LoadWindows(e.App.DB(), a.Now().UTC())
			if err != nil {
				e.App.Logger().Error("engine: reload maintenance", "error", err)
			} else {
				eng.SetWindows(wins)
			}
		}
		return e.Next()
	}
	for _, bind := range []func(...string) *hook.TaggedHook[*core.RecordEvent]{app.OnRecordAfterCreateSuccess, app.OnRecordAfterUpdateSuccess, app.OnRecordAfterDeleteSuccess} {
		bind("channels").BindFunc(channels)
		bind("maintenance").BindFunc(windows)
	}
}

// bindPauseHooks records when a service is paused and resumed, so the uptime maths can
// leave paused time out. A service is paused by its paused flag (until cleared) or by
// pausedUntil (until then); saving the record (the admin UI) is the only way either
// changes. The hooks compare with the stored pauses, not with the record's previous
// values, so saving a paused service again does not open a second pause.
func (a *Alerting) bindPauseHooks(app core.App) {
	sync := func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		now := a.Now()
		until := e.Record.GetDateTime("pausedUntil").Time()
		switch {
		case e.Record.GetBool("paused"):
			return store.SyncPause(e.App.DB(), e.Record.Id, true, time.Time{}, now)
		case until.After(now):
			return store.SyncPause(e.App.DB(), e.Record.Id, true, until, now)
		}
		return store.SyncPause(e.App.DB(), e.Record.Id, false, time.Time{}, now)
	}
	app.OnRecordCreate("services").BindFunc(sync)
	app.OnRecordUpdate("services").BindFunc(sync)
}

// SyncChannelTypes makes the admin UI's type dropdown of channels list types, the
// notify registry's names, in its order. The migration that made the collection listed
// the types of its day; this runs at every start, so a type added to the registry is
// offered without a migration. It saves only when the list differs. Channels of a type
// no longer registered keep their record; loading them fails with "unknown channel
// type", visibly, in their notifications.
func SyncChannelTypes(app core.App, types []string) error {
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		return fmt.Errorf("alerting: channel types: %w", err)
	}
	f, ok := col.Fields.GetByName("type").(*core.SelectField)
	if !ok {
		return errors.New("alerting: channel types: channels.type is not a select field")
	}
	if slices.Equal(f.Values, types) {
		return nil
	}
	f.Values = slices.Clone(types)
	if err := app.Save(col); err != nil {
		return fmt.Errorf("alerting: channel types: %w", err)
	}
	app.Logger().Info("channel types updated", "types", types)
	return nil
}
