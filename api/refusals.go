package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

const (
	// RefusalsLogMessage is the message of every heartbeat-refusals log line, so the admin
	// UI's Logs page finds them with the filter: message = "heartbeat refusals".
	RefusalsLogMessage = "heartbeat refusals"
	// RefusalsCronID is the minute job that logs the last minute's refusals.
	RefusalsCronID = "heartbeatRefusals"
	// maxRefusalEntries bounds the distinct (reason, ip, key) counts kept for one minute.
	// Past it, refusals are counted per reason under ip and key "other": a flood from many
	// addresses costs at most this many lines plus one per reason (a fixed set) a minute.
	maxRefusalEntries = 20
	// refusalOther names the overflow bucket.
	refusalOther = "other"
	// maxRefusalIPLen bounds the ip kept (a forwarded header can be long).
	maxRefusalIPLen = 64
)

// refusedBeat is what refuse returns once the reply is written. The heartbeat route's
// countRefusals middleware counts it and drops it, so PocketBase's request log never
// sees it: a flood of refused beats cost a log row each (auxiliary.db grew 1 MB/s).
type refusedBeat struct {
	status int
	msg    string
}

func (r *refusedBeat) Error() string {
	return fmt.Sprintf("api: beat refused: %d %s", r.status, r.msg)
}

// refusalKey is what refusals are counted by within a minute. Key is a fingerprint of
// the key the client sent, never the key itself.
type refusalKey struct {
	Status int
	Reason string
	IP     string
	Key    string
}

// refusalCounter counts refused beats per minute in memory and logs one line per
// (reason, ip, key) once the minute is over.
type refusalCounter struct {
	log func() *slog.Logger

	mu     sync.Mutex
	minute time.Time // the minute counts belong to
	counts map[refusalKey]int
}

func newRefusalCounter(log func() *slog.Logger) *refusalCounter {
	return &refusalCounter{log: log, counts: map[refusalKey]int{}}
}

// add counts one refusal at now. A refusal in a later minute than the counted ones logs
// those first.
func (c *refusalCounter) add(now time.Time, k refusalKey) {
	m := now.UTC().Truncate(time.Minute)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !m.Equal(c.minute) {
		c.flushLocked()
		c.minute = m
	}
	if _, ok := c.counts[k]; !ok && len(c.counts) >= maxRefusalEntries {
		k.IP, k.Key = refusalOther, refusalOther
	}
	c.counts[k]++
}

// flush logs the counts of a minute that is over by now; the minute job calls it, so a
// flood that stops is still logged within a minute.
func (c *refusalCounter) flush(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.UTC().Truncate(time.Minute).After(c.minute) {
		c.flushLocked()
	}
}

// flushAll logs whatever is counted, on shutdown.
func (c *refusalCounter) flushAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *refusalCounter) flushLocked() {
	if len(c.counts) == 0 {
		return
	}
	keys := make([]refusalKey, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return c.counts[keys[i]] > c.counts[keys[j]] })
	minute := c.minute.Format("2006-01-02T15:04Z")
	for _, k := range keys {
		c.log().Warn(RefusalsLogMessage, "minute", minute, "status", k.Status, "reason", k.Reason,
			"ip", k.IP, "key", k.Key, "count", c.counts[k])
	}
	clear(c.counts)
}

// keyFingerprint names a key in logs without disclosing it: the first 8 hex digits of
// its SHA-256, or "none" when the client sent none.
func keyFingerprint(key string) string {
	if key == "" {
		return "none"
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// CountRefusals is the heartbeat routes' middleware: a refused beat (already answered)
// is counted and kept out of the request log.
func (a *API) CountRefusals(e *core.RequestEvent) error {
	err := e.Next()
	var r *refusedBeat
	if !errors.As(err, &r) {
		return err
	}
	ip := e.RealIP()
	if len(ip) > maxRefusalIPLen {
		ip = ip[:maxRefusalIPLen]
	}
	a.refusals.add(a.Now(), refusalKey{Status: r.status, Reason: r.msg, IP: ip, Key: keyFingerprint(bearer(e.Request))})
	return nil
}

// FlushRefusals logs the counts of a minute that is over by now (the RefusalsCronID job).
func (a *API) FlushRefusals(now time.Time) { a.refusals.flush(now) }

// FlushAllRefusals logs every refusal counted, as the server stops.
func (a *API) FlushAllRefusals() { a.refusals.flushAll() }

// errMethodNotAllowed is the reply to a beat sent with another method than POST.
const errMethodNotAllowed = "Method not allowed"

// HeartbeatWrongMethod answers GET, PUT, PATCH and DELETE /api/heartbeat with a 405
// (a 404 read like a wrong URL), counted like any other refused beat.
func HeartbeatWrongMethod(e *core.RequestEvent) error {
	e.Response.Header().Set("Allow", http.MethodPost)
	return refuse(e, http.StatusMethodNotAllowed, errMethodNotAllowed)
}
