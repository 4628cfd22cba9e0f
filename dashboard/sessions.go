package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// Dashboard sessions are rows of the sessions collection. The cookie holds a random
// session id, never a PocketBase auth token: PocketBase tokens cannot be revoked one by
// one (they live until they expire or the person's tokenKey changes, which ends every
// token of theirs, on every device), and the old cookie, a token, could be refreshed
// into new ones through auth-refresh for its whole life. With a row per session,
// logging out deletes that row and ends that session alone; "log out everywhere"
// deletes all of the person's rows and rotates their tokenKey, so the PocketBase tokens
// they were issued through the API die too.

// sessionIDBytes is the entropy of a session id: 256 bits, so the SHA-256 of it can be
// looked up by equality without the comparison's timing telling anything useful.
const sessionIDBytes = 32

// sessionTouchEvery bounds how often a session's lastSeenAt is written: at most one
// write a minute per active session, not one per request.
const sessionTouchEvery = time.Minute

// maxSessionUA bounds the user agent stored for display.
const maxSessionUA = 300

// hashSessionID is what the sessions collection stores of an id: a stolen database
// copy holds no working cookie.
func hashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// tokenKeyHash fingerprints the person's tokenKey, which PocketBase rotates when the
// password or email changes: a session started before that ends with it.
func tokenKeyHash(rec *core.Record) string {
	sum := sha256.Sum256([]byte("session:" + rec.TokenKey()))
	return hex.EncodeToString(sum[:16])
}

func newSessionID() (string, error) {
	b := make([]byte, sessionIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("dashboard: session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// startSession stores a new session for rec and returns its id (the cookie's value)
// and how long it lasts: as long as the collection's auth tokens. Expired sessions of
// everyone are cleared on the way, so the table does not grow without bound.
func (d *Dashboard) startSession(e *core.RequestEvent, rec *core.Record, now time.Time) (string, time.Duration, error) {
	id, err := newSessionID()
	if err != nil {
		return "", 0, err
	}
	ttl := rec.Collection().AuthToken.DurationTime()
	ua := e.Request.UserAgent()
	if len(ua) > maxSessionUA {
		ua = ua[:maxSessionUA]
	}
	at := store.DBDate(now)
	row := []any{ingest.NewID(now), hashSessionID(id), rec.Collection().Id, rec.Id, tokenKeyHash(rec), at, store.DBDate(now.Add(ttl)), ua, e.RealIP(), at, at}
	if err := store.StartSession(d.App.DB(), row, now); err != nil {
		return "", 0, err
	}
	return id, ttl, nil
}

// findSession returns the person whose live session id is, or nil: no such session,
// expired, the person gone, or their tokenKey changed since.
func (d *Dashboard) findSession(id string, now time.Time) (*core.Record, error) {
	row, ok, err := store.FindSession(d.App.DB(), hashSessionID(id))
	if err != nil || !ok {
		return nil, err
	}
	if !now.Before(store.ParseDate(row.ExpiresAt)) {
		return nil, nil
	}
	rec, err := d.App.FindRecordById(row.CollectionRef, row.RecordRef)
	if err != nil {
		return nil, nil // deleted since, or its collection is
	}
	if !rec.Collection().IsAuth() || subtle.ConstantTimeCompare([]byte(row.KeyHash), []byte(tokenKeyHash(rec))) != 1 {
		return nil, nil
	}
	if now.Sub(store.ParseDate(row.LastSeenAt)) >= sessionTouchEvery {
		if err := store.TouchSession(d.App.DB(), row.ID, now); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// endSession deletes the session with this id, if there is one.
func (d *Dashboard) endSession(id string) error {
	return store.DeleteSession(d.App.DB(), hashSessionID(id))
}

// endAllSessions ends every session of rec and rotates its tokenKey, which voids every
// PocketBase token it was issued (the admin UI's, the API's), on every device.
func (d *Dashboard) endAllSessions(rec *core.Record) error {
	return d.App.RunInTransaction(func(tx core.App) error {
		if err := store.DeleteSessionsOf(tx.DB(), rec.Id, rec.Collection().Id); err != nil {
			return err
		}
		fresh, err := tx.FindRecordById(rec.Collection(), rec.Id)
		if err != nil {
			return fmt.Errorf("dashboard: find session owner: %w", err)
		}
		fresh.RefreshTokenKey()
		if err := tx.Save(fresh); err != nil {
			return fmt.Errorf("dashboard: rotate token key: %w", err)
		}
		return nil
	})
}
