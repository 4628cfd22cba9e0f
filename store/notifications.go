package store

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
)

// NotificationColumns are a notifications row's columns, in the order of its values.
var NotificationColumns = []string{"id", "channel", "incident", "service", "alert", "event", "status", "attempts", "lastError",
	"sentAt", "nextAttemptAt", "message", "created", "updated"}

// channelColumns are a channel's columns for ChannelRow; a JSON field left empty is NULL.
const channelColumns = "c.id AS channelId, c.name, c.type, COALESCE(c.config, '') AS config, COALESCE(c.secrets, '') AS secrets, c.disabled, c.events"

// Queries of the channels and notifications.
const (
	// SQLDueNotifications lists pending notifications whose time has come, longest due
	// first, leaving out any queued behind a pending one of the same channel and incident
	// (so a recovery never overtakes its alert, however the alert's retries go).
	SQLDueNotifications = `SELECT n.id, n.attempts, n.message, ` + channelColumns + `
		FROM notifications n JOIN channels c ON c.id = n.channel
		WHERE n.status = 'pending' AND n.nextAttemptAt <= {:now}
		AND NOT EXISTS (SELECT 1 FROM notifications p WHERE n.incident != '' AND p.incident = n.incident
			AND p.channel = n.channel AND p.status = 'pending' AND p.rowid < n.rowid)
		ORDER BY n.nextAttemptAt, n.rowid LIMIT {:limit}`
	SQLRecordNotification = `UPDATE notifications SET status = {:status}, attempts = {:attempts},
		lastError = {:err}, sentAt = {:sent}, nextAttemptAt = {:next}, updated = {:now} WHERE id = {:id}`
	SQLChannel      = "SELECT " + channelColumns + " FROM channels c WHERE c.id = {:id}"
	SQLChannels     = "SELECT " + channelColumns + " FROM channels c ORDER BY c.rowid"
	SQLChannelNames = "SELECT id, name FROM channels"
)

// ChannelRow is a channels record.
type ChannelRow struct {
	ChannelID string `db:"channelId"`
	Name      string `db:"name"`
	Type      string `db:"type"`
	Config    string `db:"config"`
	Secrets   string `db:"secrets"`
	Disabled  bool   `db:"disabled"`
	Events    string `db:"events"`
}

// DueRow is a notification due to be sent, with its channel.
type DueRow struct {
	ID       string `db:"id"`
	Attempts int    `db:"attempts"`
	Message  string `db:"message"`
	ChannelRow
}

// DueNotifications reads up to limit notifications due at now (SQLDueNotifications).
func DueNotifications(ctx context.Context, db dbx.Builder, now time.Time, limit int) ([]DueRow, error) {
	var rows []DueRow
	err := db.NewQuery(SQLDueNotifications).Bind(dbx.Params{"now": DBDate(now), "limit": limit}).WithContext(ctx).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("store: due notifications: %w", err)
	}
	return rows, nil
}

// Attempt is the outcome of sending a notification, as its row stores it.
type Attempt struct {
	Status        string
	Attempts      int
	LastError     string
	SentAt        time.Time
	NextAttemptAt time.Time
}

// RecordNotification stores the outcome of an attempt at notification id.
func RecordNotification(ctx context.Context, db dbx.Builder, id string, a Attempt, now time.Time) error {
	_, err := db.NewQuery(SQLRecordNotification).
		Bind(dbx.Params{"status": a.Status, "attempts": a.Attempts, "err": a.LastError, "sent": DBDate(a.SentAt),
			"next": DBDate(a.NextAttemptAt), "now": DBDate(now), "id": id}).WithContext(ctx).Execute()
	if err != nil {
		return fmt.Errorf("store: record notification: %w", err)
	}
	return nil
}

// FindChannel reads one channel; sql.ErrNoRows when there is none.
func FindChannel(db dbx.Builder, id string) (ChannelRow, error) {
	var row ChannelRow
	err := db.NewQuery(SQLChannel).Bind(dbx.Params{"id": id}).One(&row)
	return row, err
}

// LoadChannels reads every channel, in the order they were made.
func LoadChannels(db dbx.Builder) ([]ChannelRow, error) {
	return queryAll[ChannelRow](db, SQLChannels, nil, "load channels")
}

// ChannelNames reads every channel's name by id.
func ChannelNames(db dbx.Builder) (map[string]string, error) {
	var rows []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := db.NewQuery(SQLChannelNames).All(&rows); err != nil {
		return nil, fmt.Errorf("store: channel names: %w", err)
	}
	names := make(map[string]string, len(rows))
	for _, r := range rows {
		names[r.ID] = r.Name
	}
	return names, nil
}

// InsertNotifications inserts rows of NotificationColumns.
func InsertNotifications(db dbx.Builder, rows [][]any) error {
	return InsertRows(db, "notifications", NotificationColumns, rows)
}
