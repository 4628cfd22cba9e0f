package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
)

// Queries of the dashboard's sessions.
const (
	SQLDeleteExpiredSessions = "DELETE FROM sessions WHERE expiresAt <= {:now}"
	SQLFindSession           = "SELECT id, collectionRef, recordRef, keyHash, lastSeenAt, expiresAt FROM sessions WHERE idHash = {:h}"
	SQLTouchSession          = "UPDATE sessions SET lastSeenAt = {:now}, updated = {:now} WHERE id = {:id}"
	SQLDeleteSession         = "DELETE FROM sessions WHERE idHash = {:h}"
	SQLDeleteSessionsOf      = "DELETE FROM sessions WHERE recordRef = {:rec} AND collectionRef = {:col}"
)

// SessionColumns are a sessions row's columns, in the order of its values.
var SessionColumns = []string{"id", "idHash", "collectionRef", "recordRef", "keyHash", "lastSeenAt", "expiresAt", "userAgent", "ip", "created", "updated"}

// SessionRow is a dashboard session.
type SessionRow struct {
	ID            string `db:"id"`
	CollectionRef string `db:"collectionRef"`
	RecordRef     string `db:"recordRef"`
	KeyHash       string `db:"keyHash"`
	LastSeenAt    string `db:"lastSeenAt"`
	ExpiresAt     string `db:"expiresAt"`
}

// StartSession clears everyone's sessions expired at now, then stores row (a row of
// SessionColumns).
func StartSession(db dbx.Builder, row []any, now time.Time) error {
	if _, err := db.NewQuery(SQLDeleteExpiredSessions).Bind(dbx.Params{"now": DBDate(now)}).Execute(); err != nil {
		return fmt.Errorf("store: clear expired sessions: %w", err)
	}
	if err := InsertRows(db, "sessions", SessionColumns, [][]any{row}); err != nil {
		return fmt.Errorf("store: start session: %w", err)
	}
	return nil
}

// FindSession reads the session whose id hashes to idHash; ok is false when there is none.
func FindSession(db dbx.Builder, idHash string) (row SessionRow, ok bool, err error) {
	err = db.NewQuery(SQLFindSession).Bind(dbx.Params{"h": idHash}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	} else if err != nil {
		return row, false, fmt.Errorf("store: find session: %w", err)
	}
	return row, true, nil
}

// TouchSession sets session id's lastSeenAt to now.
func TouchSession(db dbx.Builder, id string, now time.Time) error {
	if _, err := db.NewQuery(SQLTouchSession).Bind(dbx.Params{"now": DBDate(now), "id": id}).Execute(); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession deletes the session whose id hashes to idHash, if there is one.
func DeleteSession(db dbx.Builder, idHash string) error {
	if _, err := db.NewQuery(SQLDeleteSession).Bind(dbx.Params{"h": idHash}).Execute(); err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	return nil
}

// DeleteSessionsOf deletes every session of record recordID of collection collectionID.
func DeleteSessionsOf(db dbx.Builder, recordID, collectionID string) error {
	if _, err := db.NewQuery(SQLDeleteSessionsOf).Bind(dbx.Params{"rec": recordID, "col": collectionID}).Execute(); err != nil {
		return fmt.Errorf("store: end sessions: %w", err)
	}
	return nil
}
