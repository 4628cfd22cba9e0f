package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// sender delivers through PocketBase's own mail settings (read at each send, so an SMTP
// change in the admin UI applies at once).
func (s *server) sender() *notify.Sender {
	return &notify.Sender{
		Client: &http.Client{Timeout: 15 * time.Second},
		Mailer: func() notify.Mailer { return s.app.NewMailClient() },
		From: func() mail.Address {
			meta := s.app.Settings().Meta
			return mail.Address{Name: meta.SenderName, Address: meta.SenderAddress}
		},
	}
}

// notificationStore is the delivery worker's view of the notifications collection.
type notificationStore struct{ app core.App }

// channelOf loads a channels row; the error says why it cannot be sent to.
func channelOf(c store.ChannelRow) (notify.Channel, error) {
	if c.Disabled {
		return notify.Channel{ID: c.ChannelID, Name: c.Name, Type: notify.Type(c.Type)}, errors.New("hooks: channel disabled")
	}
	ch, err := notify.Load(notify.Type(c.Type), []byte(c.Config), []byte(c.Secrets))
	ch.ID, ch.Name = c.ChannelID, c.Name
	return ch, err
}

// Due lists pending notifications whose time has come, longest due first, leaving out any
// queued behind a pending one of the same channel and incident (so a recovery never
// overtakes its alert, however the alert's retries go).
func (st notificationStore) Due(ctx context.Context, now time.Time, limit int) ([]notify.Delivery, error) {
	rows, err := store.DueNotifications(ctx, st.app.DB(), now, limit)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		d := notify.Delivery{ID: r.ID, Attempts: r.Attempts}
		d.Channel, d.Err = channelOf(r.ChannelRow)
		if err := json.Unmarshal([]byte(r.Message), &d.Message); err != nil && d.Err == nil {
			d.Err = fmt.Errorf("hooks: notification message: %w", err)
		}
		out[i] = d
	}
	return out, nil
}

// Record stores the outcome of an attempt.
func (st notificationStore) Record(ctx context.Context, id string, o notify.Outcome) error {
	a := store.Attempt{Status: o.Status, Attempts: o.Attempts, LastError: o.LastError, SentAt: o.SentAt, NextAttemptAt: o.NextAttemptAt}
	return store.RecordNotification(ctx, st.app.NonconcurrentDB(), id, a, time.Now())
}

// defaultEvents are what a new channel is told when the admin picks none.
var defaultEvents = []string{"down", "up", "degraded", "reminder"}

// bindAlertHooks keeps the channels' type dropdown in step with the notify registry at
// start-up, and checks what admins save: a channel's settings against its type, a
// maintenance window's schedule, and services' dependencies (no cycles).
func bindAlertHooks(app core.App, s *server) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := syncChannelTypes(se.App, notify.Types()); err != nil {
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
		return e.Next()
	})
}

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

// testReply is the answer of POST /api/channels/{id}/test.
type testReply struct {
	Success bool   `json:"success"`
	Channel string `json:"channel"`
	Type    string `json:"type"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

// channelTest is POST /api/channels/{id}/test (superusers): it sends a test message
// through the channel at once, records it, and answers with the outcome.
func (s *server) channelTest(e *core.RequestEvent) error {
	row, err := store.FindChannel(e.App.DB(), e.Request.PathValue("id"))
	if errors.Is(err, sql.ErrNoRows) {
		return writeJSON(e, http.StatusNotFound, testReply{Message: "Unknown channel"})
	}
	if err != nil {
		return e.InternalServerError("", err)
	}
	reply := testReply{Channel: row.Name, Type: row.Type}
	row.Disabled = false // a test of a disabled channel is how one checks it before enabling it
	ch, err := channelOf(row)
	if err != nil {
		reply.Message, reply.Error = "The channel's settings are not valid", strings.TrimPrefix(err.Error(), "notify: ")
		return writeJSON(e, http.StatusBadRequest, reply)
	}
	now := s.now().UTC()
	msg := notify.Message{Event: notify.EventTest, At: now, URL: strings.TrimRight(e.App.Settings().Meta.AppURL, "/")}
	ctx, cancel := context.WithTimeout(e.Request.Context(), 20*time.Second)
	defer cancel()
	sendErr := s.sender().Send(ctx, ch, msg)
	status, sentAt := notify.StatusSent, store.DBDate(now)
	if sendErr != nil {
		status, sentAt = notify.StatusFailed, ""
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return e.InternalServerError("", err)
	}
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	err = store.InsertNotifications(e.App.NonconcurrentDB(), [][]any{{ingest.NewID(now), ch.ID, "", "", "",
		notify.EventTest, status, 1, errText, sentAt, "", string(body), store.DBDate(now), store.DBDate(now)}})
	if err != nil {
		return e.InternalServerError("", err)
	}
	if sendErr != nil {
		reply.Message, reply.Error = "The test notification was not delivered", errText
		return writeJSON(e, http.StatusBadGateway, reply)
	}
	reply.Success, reply.Message = true, "Test notification sent"
	return writeJSON(e, http.StatusOK, reply)
}

// routeExternal picks the channels of an external alert: the enabled ones it names
// (case-insensitive), or else those subscribed to its severity's event that take
// external alerts. unknown lists names it asked for that no enabled channel has.
func routeExternal(rows []store.ChannelRow, a monitor.ExternalAlert) (picked []store.ChannelRow, unknown, available []string) {
	for _, r := range rows {
		if !r.Disabled {
			available = append(available, r.Name)
		}
	}
	if len(a.Channels) > 0 {
		for _, name := range a.Channels {
			i := slices.IndexFunc(rows, func(r store.ChannelRow) bool { return !r.Disabled && strings.EqualFold(r.Name, name) })
			if i < 0 {
				unknown = append(unknown, name)
			} else if !slices.ContainsFunc(picked, func(p store.ChannelRow) bool { return p.ChannelID == rows[i].ChannelID }) {
				picked = append(picked, rows[i])
			}
		}
		return picked, unknown, available
	}
	ev := string(monitor.SeverityEvent(a.Severity))
	for _, r := range rows {
		if r.Disabled {
			continue
		}
		ch, _ := channelOf(r) // a broken channel still gets its notification, which fails visibly
		var events []string
		if store.JSONList(r.Events, &events) == nil && slices.Contains(events, ev) && ch.TakesExternal() {
			picked = append(picked, r)
		}
	}
	return picked, nil, available
}
