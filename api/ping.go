package api

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/pocketbase/core"
)

// PingPathPrefix is where the ping URLs of Healthchecks' dialect live.
const PingPathPrefix = "/ping/"

// PingBodyLimit is how much of a ping's body is stored (Healthchecks' default for a
// self-hosted instance); a longer body is cut, never refused. Replies say it in the
// Ping-Body-Limit header.
const PingBodyLimit = 10000

// pingDrainLimit bounds how much more of a long body is read (and thrown away) so the
// connection can be kept; past it the connection is closed instead.
const pingDrainLimit = 1 << 20

// maxPingMessageChars bounds the message a finishing ping's body gives the service.
const maxPingMessageChars = 200

// The interval and grace (seconds) of a service a ping creates (?create=1).
const (
	createdInterval = 86400
	createdGrace    = 3600
)

// maxRunTimeout bounds a start's own ?timeout=.
const maxRunTimeout = 366 * 24 * time.Hour

// The replies of the ping dialect, as Healthchecks words them.
const (
	pingOK         = "OK"
	pingCreated    = "Created"
	pingNotFound   = "not found"
	pingBadURL     = "invalid url format"
	pingBadRID     = "invalid uuid format"
	pingBadTimeout = "invalid timeout"
	pingLimited    = "rate limited"
	pingBusy       = "Server busy, retry later"
	pingNotStored  = "Ping could not be stored, retry later"
)

// pingTarget is what a ping URL names: a service by its pingId, or by key and
// serviceId, and the ping's kind.
type pingTarget struct {
	uuid          [16]byte
	byUUID        bool
	key, sid      string
	kind          monitor.PingKind
	exit          int
	badExitStatus bool
}

// parsePingPath reads the path after /ping/: <uuid>[/<action>] or
// <key>/<serviceId>[/<action>], action being start, fail, log or an exit status. As in
// Healthchecks, a UUID followed by one more part is the UUID form when that part is an
// action, and the slug form otherwise. ok is false for a path of no such shape.
// "<uuid>/" is the success ping too, as Healthchecks routes it (no other form takes a
// trailing slash there).
func parsePingPath(rest string) (t pingTarget, ok bool) {
	if u, isUUID := ingest.ParseUUID(strings.TrimSuffix(rest, "/")); isUUID {
		return pingTarget{uuid: u, byUUID: true}, true
	}
	parts := strings.Split(rest, "/")
	if len(parts) == 0 || len(parts) > 3 || slices.Contains(parts, "") {
		return t, false
	}
	if u, isUUID := ingest.ParseUUID(parts[0]); isUUID && len(parts) <= 2 {
		if len(parts) == 1 {
			return pingTarget{uuid: u, byUUID: true}, true
		}
		if t, isAction := parseAction(parts[1]); isAction {
			t.uuid, t.byUUID = u, true
			return t, true
		}
	}
	if len(parts) == 1 {
		return t, false
	}
	t.key, t.sid = parts[0], parts[1]
	if len(parts) == 3 {
		a, isAction := parseAction(parts[2])
		if !isAction {
			return t, false
		}
		a.key, a.sid = t.key, t.sid
		t = a
	}
	return t, true
}

// parseAction reads the last part of a ping path. An exit status above 255 is an
// action, marked bad: the reply is 400, not 404.
func parseAction(s string) (pingTarget, bool) {
	switch s {
	case "start":
		return pingTarget{kind: monitor.PingStart}, true
	case "fail":
		return pingTarget{kind: monitor.PingFail}, true
	case "log":
		return pingTarget{kind: monitor.PingLog}, true
	}
	if len(s) == 0 {
		return pingTarget{}, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return pingTarget{}, false
		}
		if n <= 255 { // past it the number is bad whatever its length
			n = n*10 + int(s[i]-'0')
		}
	}
	return pingTarget{kind: monitor.PingExit, exit: n, badExitStatus: n > 255}, true
}

// The values of the ping replies' headers, made once: a reply sets them by their
// canonical keys without building them again (the header work was the biggest cost of
// a ping's own handler). They are never changed in place: Header.Add appends to a copy.
var (
	pingContentType = []string{"text/plain; charset=utf-8"}
	pingAnyOrigin   = []string{"*"}
	pingNoCache     = []string{"max-age=0, no-cache, no-store, must-revalidate, private"}
	pingExpires     = []string{"0"}
	pingLimit       = []string{strconv.Itoa(PingBodyLimit)}
	pingOKLength    = []string{strconv.Itoa(len(pingOK))}
)

// pingHeaders are the headers of every ping reply: plain text, readable from any
// origin (a browser's fetch), never cached, with the body limit.
func pingHeaders(h http.Header) {
	h["Content-Type"] = pingContentType
	h["Access-Control-Allow-Origin"] = pingAnyOrigin
	h["Cache-Control"] = pingNoCache
	h["Expires"] = pingExpires
	h["Ping-Body-Limit"] = pingLimit
}

// pingReply writes a ping reply (its body left out for HEAD).
func pingReply(e *core.RequestEvent, status int, text string) error {
	h := e.Response.Header()
	pingHeaders(h)
	if text == pingOK {
		h["Content-Length"] = pingOKLength
	} else {
		h.Set("Content-Length", strconv.Itoa(len(text)))
	}
	e.Response.WriteHeader(status)
	if e.Request.Method == http.MethodHead {
		return nil
	}
	if _, err := io.WriteString(e.Response, text); err != nil {
		return fmt.Errorf("api: ping reply: %w", err)
	}
	return nil
}

// refusePing answers a ping with an error and returns a *refusedBeat, counted by the
// route's CountRefusals middleware like a refused beat (no request log row each).
func refusePing(e *core.RequestEvent, status int, text string) error {
	if err := pingReply(e, status, text); err != nil {
		return err
	}
	return &refusedBeat{status: status, msg: text}
}

// runLocks serialise the pings that change one service's runs: each reads the runs,
// applies itself, commits, and only then lets the next one read. Pings of different
// services rarely share a lock.
type runLocks struct {
	seed  maphash.Seed
	locks [256]sync.Mutex
}

func (l *runLocks) of(recordID string) *sync.Mutex {
	return &l.locks[maphash.String(l.seed, recordID)%uint64(len(l.locks))]
}

var pingRunLocks = runLocks{seed: maphash.MakeSeed()}

// Ping serves GET, HEAD and POST /ping/...: the ping URLs of Healthchecks' dialect (see
// parsePingPath). A success or exit status 0 is an up beat, /fail or another exit
// status a down one, /start opens a run, /log is stored and changes nothing. It answers
// 2xx only after the ping is committed.
func (a *API) Ping(e *core.RequestEvent) error {
	t, ok := parsePingPath(strings.TrimPrefix(e.Request.URL.Path, PingPathPrefix))
	switch {
	case !ok:
		return refusePing(e, http.StatusNotFound, pingNotFound)
	case t.badExitStatus:
		return refusePing(e, http.StatusBadRequest, pingBadURL)
	}
	p := monitor.Ping{Kind: t.kind, Exit: t.exit}
	created := false
	var q url.Values // nil when there is no query: its Get is still safe
	if e.Request.URL.RawQuery != "" {
		q = e.Request.URL.Query()
	}
	if rid := q.Get("rid"); rid != "" {
		u, isUUID := ingest.ParseUUID(rid)
		if !isUUID {
			return refusePing(e, http.StatusBadRequest, pingBadRID)
		}
		p.RID = ingest.FormatUUID(u)
	}
	if s := q.Get("timeout"); s != "" && p.Kind == monitor.PingStart {
		d, ok := parseTimeout(s)
		if !ok {
			return refusePing(e, http.StatusBadRequest, pingBadTimeout)
		}
		p.Timeout = d
	}

	var grant ingest.Grant
	if t.byUUID {
		svc, found := a.Registry.ServiceByPing(t.uuid)
		if !found {
			return refusePing(e, http.StatusNotFound, pingNotFound)
		}
		grant.Service = svc
	} else {
		var refusal string
		grant, refusal = a.Registry.AuthorizeBeat(t.sid, t.key)
		switch {
		case refusal == monitor.ErrUnknownService && q.Get("create") == "1":
			if grant, ok = a.createForPing(e, t.sid, t.key); !ok {
				return refusePing(e, http.StatusNotFound, pingNotFound)
			}
			created = true
		case refusal != "":
			return refusePing(e, http.StatusNotFound, pingNotFound)
		}
	}

	now := a.Now().UTC().Truncate(time.Millisecond)
	p.At = now
	if ok, wait := a.Limiter.Allow(grant.LimitKey(), 1, now); !ok {
		retryAfter(e, wait)
		return refusePing(e, http.StatusTooManyRequests, pingLimited)
	}
	body, err := readPingBody(e.Request)
	if err != nil {
		return refusePing(e, http.StatusBadRequest, "could not read the body")
	}
	b := a.pingBeat(e, grant, p, body)
	if err := a.commitPing(e, grant.Service.RecordID, p, &b); err != nil {
		return err
	}
	if created {
		return pingReply(e, http.StatusCreated, pingCreated)
	}
	return pingReply(e, http.StatusOK, pingOK)
}

// commitPing commits b, with the runs p leaves when it changes them, and tells the
// engine; on a failure it answers the 503 to retry on.
func (a *API) commitPing(e *core.RequestEvent, recordID string, p monitor.Ping, b *ingest.Beat) error {
	eng := a.Alerts.Engine()
	runs, _ := eng.Runs(recordID)
	if p.Kind == monitor.PingStart || p.Ends() && (runs.Running() || runs.HasExit || p.Kind == monitor.PingExit) {
		lock := pingRunLocks.of(recordID)
		lock.Lock()
		defer lock.Unlock()
		runs, _ = eng.Runs(recordID) // as the last ping that held the lock left them
		next, started := runs.Apply(p)
		b.Started = started
		var changed *monitor.Runs
		if !next.Equal(runs) {
			enc := monitor.EncodeRuns(next)
			b.Runs, changed = &enc, &next
		}
		if err := a.submitPing(e, b); err != nil {
			return err
		}
		eng.Ping(recordID, p, changed, b.Message)
		return nil
	}
	if err := a.submitPing(e, b); err != nil {
		return err
	}
	eng.Ping(recordID, p, nil, b.Message)
	return nil
}

// submitPing commits one ping, or answers with the 503 the client should retry on.
func (a *API) submitPing(e *core.RequestEvent, b *ingest.Beat) error {
	err := a.Writer.Submit(e.Request.Context(), []ingest.Beat{*b})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ingest.ErrQueueFull), errors.Is(err, ingest.ErrClosed):
		retryAfter(e, time.Second)
		return refusePing(e, http.StatusServiceUnavailable, pingBusy)
	default:
		a.App.Logger().Error("ping commit failed", "error", err)
		retryAfter(e, 5*time.Second)
		return refusePing(e, http.StatusServiceUnavailable, pingNotStored)
	}
}

// pingBeat is the heartbeats row of a ping.
func (a *API) pingBeat(e *core.RequestEvent, g ingest.Grant, p monitor.Ping, body string) ingest.Beat {
	ua := monitor.CleanText(e.Request.UserAgent())
	if utf8.RuneCountInString(ua) > maxUserAgentChars {
		ua = string([]rune(ua)[:maxUserAgentChars])
	}
	b := ingest.Beat{ServiceRecordID: g.Service.RecordID, APIKeyID: g.APIKeyID, Status: p.Status(),
		SourceIP: e.RealIP(), UserAgent: ua, At: p.At, Kind: p.Kind.Kind(), RID: p.RID, Body: body}
	if p.Kind == monitor.PingExit {
		b.ExitStatus = p.Exit
	}
	if p.Ends() {
		b.Message = pingMessage(p, body)
	}
	return b
}

// pingMessage is what a finishing ping says as the service's last message: the last
// line of its body, after the exit status when that is not 0.
func pingMessage(p monitor.Ping, body string) string {
	body = strings.TrimRight(body, " \t\r\n")
	line := body[strings.LastIndexByte(body, '\n')+1:]
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > maxPingMessageChars {
		line = string([]rune(line)[:maxPingMessageChars-1]) + "…"
	}
	if p.Kind == monitor.PingExit && p.Exit != 0 {
		if line == "" {
			return "exit status " + strconv.Itoa(p.Exit)
		}
		return "exit status " + strconv.Itoa(p.Exit) + ": " + line
	}
	return line
}

// readPingBody reads the first PingBodyLimit bytes of a POST's body, cut at a character
// and with invalid UTF-8 and NULs replaced, and drains the rest up to pingDrainLimit.
func readPingBody(r *http.Request) (string, error) {
	if r.Method != http.MethodPost || r.Body == nil {
		return "", nil
	}
	buf := make([]byte, PingBodyLimit+1)
	n, err := io.ReadFull(r.Body, buf)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	case err != nil:
		return "", fmt.Errorf("api: ping body: %w", err)
	}
	long := n > PingBodyLimit
	body := buf[:min(n, PingBodyLimit)]
	if long {
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, pingDrainLimit)); err != nil {
			return "", fmt.Errorf("api: ping body: %w", err)
		}
		// Cut at a character: a rune split by the limit is dropped, not replaced.
		for i := 0; i < utf8.UTFMax && len(body) > 0; i++ {
			if rr, size := utf8.DecodeLastRune(body); rr != utf8.RuneError || size != 1 {
				break
			}
			body = body[:len(body)-1]
		}
	}
	return monitor.CleanText(string(body)), nil
}

// parseTimeout reads a start's ?timeout=: a Go duration (90s, 2h30m) or seconds.
func parseTimeout(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			return 0, false
		}
		d = time.Duration(n * float64(time.Second))
	}
	return d, d > 0 && d <= maxRunTimeout
}

// createForPing creates the service sid for a ping with ?create=1, when key is an api
// key with the heartbeat scope covering every service (Healthchecks' auto-provisioning;
// a service's own key or a key for some services creates nothing).
func (a *API) createForPing(e *core.RequestEvent, sid, key string) (ingest.Grant, bool) {
	keyID, ok := a.Registry.CoversEvery(key)
	if !ok || !monitor.ValidServiceID(sid) {
		return ingest.Grant{}, false
	}
	col, err := e.App.FindCachedCollectionByNameOrId("services")
	if err != nil {
		a.App.Logger().Error("ping create: services collection", "error", err)
		return ingest.Grant{}, false
	}
	rec := core.NewRecord(col)
	rec.Set("serviceId", sid)
	// Healthchecks' defaults for a new check (a period of a day, an hour's grace): a
	// service made by its first ping is most often a daily job, which the beat defaults
	// (120 s, 300 s) would call down the same morning.
	rec.Set("interval", createdInterval)
	rec.Set("stalenessThreshold", createdInterval+createdGrace)
	if err := e.App.Save(rec); err != nil {
		// Another ping may have created it meanwhile.
		if grant, refusal := a.Registry.AuthorizeBeat(sid, key); refusal == "" {
			return grant, true
		}
		a.App.Logger().Warn("ping create: service not saved", "serviceId", sid, "error", err)
		return ingest.Grant{}, false
	}
	grant, refusal := a.Registry.AuthorizeBeat(sid, key)
	if refusal != "" {
		return ingest.Grant{Service: ingest.Service{RecordID: rec.Id, ServiceID: sid}, APIKeyID: keyID}, true
	}
	return grant, true
}
