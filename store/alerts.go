package store

import (
	"github.com/pocketbase/dbx"
)

// Queries of the external alerts.
const (
	SQLRecentAlerts = `SELECT id, title, message, severity, source, status, format, url, labels, channels, created
		FROM alerts WHERE created > {:after} ORDER BY created DESC, rowid DESC LIMIT {:limit}`
)

// AlertColumns are an alerts row's columns, in the order of its values.
var AlertColumns = []string{"id", "title", "message", "severity", "source", "status", "format", "url", "labels", "annotations", "channels", "created"}

// AlertRow is a stored external alert.
type AlertRow struct {
	ID       string `db:"id"`
	Title    string `db:"title"`
	Message  string `db:"message"`
	Severity string `db:"severity"`
	Source   string `db:"source"`
	Status   string `db:"status"`
	Format   string `db:"format"`
	URL      string `db:"url"`
	Labels   string `db:"labels"`
	Channels string `db:"channels"`
	Created  string `db:"created"`
}

// RecentAlerts reads up to limit alerts created after after (a stored date; "" is
// every one), newest first.
func RecentAlerts(db dbx.Builder, after string, limit int) ([]AlertRow, error) {
	return queryAll[AlertRow](db, SQLRecentAlerts, dbx.Params{"after": after, "limit": limit}, "recent alerts")
}

// InsertAlert stores an alert (a row of AlertColumns) and its notifications (rows of
// NotificationColumns); run it in a transaction.
func InsertAlert(db dbx.Builder, alert []any, notes [][]any) error {
	if err := InsertRows(db, "alerts", AlertColumns, [][]any{alert}); err != nil {
		return err
	}
	return InsertNotifications(db, notes)
}
