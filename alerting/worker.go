package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// Sender delivers through PocketBase's own mail settings (read at each send, so an SMTP
// change in the admin UI applies at once).
func (a *Alerting) Sender() *notify.Sender {
	return &notify.Sender{
		Client: &http.Client{Timeout: 15 * time.Second},
		Mailer: func() notify.Mailer { return a.App.NewMailClient() },
		From: func() mail.Address {
			meta := a.App.Settings().Meta
			return mail.Address{Name: meta.SenderName, Address: meta.SenderAddress}
		},
	}
}

// Channel loads a channels row as a channel to send to (see ChannelOf).
func (a *Alerting) Channel(row store.ChannelRow) (notify.Channel, error) { return ChannelOf(row) }

// Send sends msg through ch at once (the superusers' channel test).
func (a *Alerting) Send(ctx context.Context, ch notify.Channel, msg notify.Message) error {
	err := a.Sender().Send(ctx, ch, msg)
	if err == nil && a.canary != nil {
		a.canary.Delivered() // a channel fixed and tested clears the canary
	}
	return err
}

// NotificationStore is the delivery worker's view of the notifications collection.
type NotificationStore struct{ App core.App }

// ChannelOf loads a channels row; the error says why it cannot be sent to (a test of
// a disabled channel clears Disabled first).
func ChannelOf(c store.ChannelRow) (notify.Channel, error) {
	if c.Disabled {
		return notify.Channel{ID: c.ChannelID, Name: c.Name, Type: notify.Type(c.Type)}, errors.New("alerting: channel disabled")
	}
	ch, err := notify.Load(notify.Type(c.Type), []byte(c.Config), []byte(c.Secrets))
	ch.ID, ch.Name = c.ChannelID, c.Name
	return ch, err
}

// Due lists pending notifications whose time has come, longest due first, leaving out any
// queued behind a pending one of the same channel and incident (so a recovery never
// overtakes its alert, however the alert's retries go).
func (st NotificationStore) Due(ctx context.Context, now time.Time, limit int) ([]notify.Delivery, error) {
	rows, err := store.DueNotifications(ctx, st.App.DB(), now, limit)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		d := notify.Delivery{ID: r.ID, Attempts: r.Attempts}
		d.Channel, d.Err = ChannelOf(r.ChannelRow)
		if err := json.Unmarshal([]byte(r.Message), &d.Message); err != nil && d.Err == nil {
			d.Err = fmt.Errorf("alerting: notification message: %w", err)
		}
		out[i] = d
	}
	return out, nil
}

// Record stores the outcome of an attempt.
func (st NotificationStore) Record(ctx context.Context, id string, o notify.Outcome) error {
	a := store.Attempt{Status: o.Status, Attempts: o.Attempts, LastError: o.LastError, SentAt: o.SentAt, NextAttemptAt: o.NextAttemptAt}
	return store.RecordNotification(ctx, st.App.NonconcurrentDB(), id, a, time.Now())
}
