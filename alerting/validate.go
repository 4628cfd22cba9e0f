package alerting

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/schedule"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

func validateWindow(r *core.Record) error {
	fail := func(field, msg string) error {
		return validation.Errors{field: validation.NewError("validation_maintenance", msg)}
	}
	if r.GetString("kind") != "weekly" {
		start, end := r.GetDateTime("startsAt"), r.GetDateTime("endsAt")
		if start.IsZero() {
			return fail("startsAt", "A one-off window needs a start.")
		}
		if end.IsZero() || !end.Time().After(start.Time()) {
			return fail("endsAt", "A one-off window needs an end after its start.")
		}
		return nil
	}
	row := store.WindowRow{Kind: "weekly", StartTime: r.GetString("startTime"), DurationMinutes: r.GetFloat("durationMinutes"), Timezone: r.GetString("timezone")}
	days, _ := json.Marshal(r.GetStringSlice("weekdays"))
	row.Weekdays = string(days)
	switch _, err := row.Window(); {
	case len(r.GetStringSlice("weekdays")) == 0:
		return fail("weekdays", "A weekly window needs at least one day.")
	case row.DurationMinutes <= 0:
		return fail("durationMinutes", "A weekly window needs a duration.")
	case err != nil && strings.Contains(err.Error(), "time zone"):
		return fail("timezone", "Unknown time zone; use an IANA name such as Europe/Berlin.")
	case err != nil:
		return fail("startTime", "A weekly window needs a start time as HH:MM.")
	}
	return nil
}

// validateSchedule refuses a schedule that does not parse or never fires, and a time
// zone that is not an IANA name, each under its own field.
func validateSchedule(r *core.Record, now time.Time) error {
	tz := r.GetString("timezone")
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return validation.Errors{"timezone": validation.NewError("validation_timezone",
			"Unknown time zone "+strconv.Quote(tz)+"; use an IANA name such as Europe/Riga, or leave it empty for UTC.")}
	}
	expr := strings.TrimSpace(r.GetString("schedule"))
	if expr == "" {
		return nil
	}
	s, err := schedule.Parse(expr)
	if err != nil {
		return validation.Errors{"schedule": validation.NewError("validation_schedule", "Not a cron expression: "+err.Error()+".")}
	}
	if s.Next(now, loc).IsZero() {
		return validation.Errors{"schedule": validation.NewError("validation_schedule", "This schedule never fires.")}
	}
	return nil
}

// validateDependencies refuses a service that depends on itself, directly or through
// others: in a cycle every member would wait for the others to alert.
func validateDependencies(app core.App, r *core.Record) error {
	parents := r.GetStringSlice("dependsOn")
	if len(parents) == 0 {
		return nil
	}
	graph, err := store.LoadDependencies(app.DB())
	if err != nil {
		return err
	}
	graph[r.Id] = parents
	seen := map[string]bool{}
	stack := slices.Clone(parents)
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur == r.Id {
			return errors.New("A service cannot depend on itself, directly or through others.")
		}
		if !seen[cur] {
			seen[cur] = true
			stack = append(stack, graph[cur]...)
		}
	}
	return nil
}
