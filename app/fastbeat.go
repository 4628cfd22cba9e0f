package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// heartbeatPath is the path of POST /api/heartbeat; the fast path also serves the ping
// URLs (api.PingPathPrefix).
const heartbeatPath = "/api/heartbeat"

// logsMiddlewareID names the route table's /api/logs middleware, so the fast path can tell
// it from a router-level middleware it does not know.
const logsMiddlewareID = "heartbeatLogs"

// knownRouterMiddlewares are the router-level middlewares whose effect on a beat the fast
// path reproduces (or checks for and leaves the request to the router): PocketBase's
// defaults, the CORS and www redirect apis.Serve adds, and the route table's /api/logs
// middleware (which passes every other request on). With any other one bound, the fast
// path stays off: it would skip it.
var knownRouterMiddlewares = map[string]bool{
	apis.DefaultActivityLoggerMiddlewareId:         true, // errors logged below; successes skipped, as the route does
	apis.DefaultPanicRecoverMiddlewareId:           true, // recover below
	apis.DefaultRateLimitMiddlewareId:              true, // taken only while PocketBase's rate limits are off
	apis.DefaultLoadAuthTokenMiddlewareId:          true, // unbound from the route
	apis.DefaultSuperuserIPsWhitelistMiddlewareId:  true, // acts on superusers only; a beat has no auth
	apis.DefaultSecurityHeadersMiddlewareId:        true, // securityHeaders below
	apis.DefaultBodyLimitMiddlewareId:              true, // taken only under the limit; the handler reads 64 KiB at most
	apis.DefaultCorsMiddlewareId:                   true, // taken only without Origin: Vary below
	apis.DefaultWWWRedirectMiddlewareId:            true, // taken only for hosts not starting with www.
	logsMiddlewareID:                               true, // GET /api/logs only
	api.HealthMiddlewareID:                         true, // GET /api/health only
	apis.DefaultSkipSuccessActivityLogMiddlewareId: true,
}

// fastBeat serves POST /api/heartbeat ahead of PocketBase's router: the route's own
// middleware and handler (bound by the route table, bindRoutes) run on a RequestEvent
// built here, so a beat costs no ServeMux match and no chain of a dozen middlewares
// (about 40% of the server's CPU at 64 clients). It takes only the requests on which
// PocketBase's router-level middlewares would do nothing but add headers, and adds those
// headers itself; every other request (another method or path, a browser's with an
// Origin, a www host, a body over PocketBase's limit, PocketBase's rate limits on) goes
// to the router unchanged.
type fastBeat struct {
	app   core.App
	beat  fastRoute    // POST /api/heartbeat
	ping  fastRoute    // GET, HEAD and POST /ping/...
	taken atomic.Int64 // requests the fast path served (the tests read it)
}

// fastRoute is one route the fast path runs: its middlewares, then its action.
type fastRoute struct {
	chain  *hook.Hook[*core.RequestEvent]
	action func(*core.RequestEvent) error
}

func newFastRoute(action func(*core.RequestEvent) error, middlewares ...func(*core.RequestEvent) error) fastRoute {
	r := fastRoute{chain: &hook.Hook[*core.RequestEvent]{}, action: action}
	for _, m := range middlewares {
		r.chain.BindFunc(m)
	}
	return r
}

// bind sets what the fast path runs for a beat: middlewares in order, then action.
func (f *fastBeat) bind(action func(*core.RequestEvent) error, middlewares ...func(*core.RequestEvent) error) {
	f.beat = newFastRoute(action, middlewares...)
}

// bindPing sets what the fast path runs for a ping.
func (f *fastBeat) bindPing(action func(*core.RequestEvent) error, middlewares ...func(*core.RequestEvent) error) {
	f.ping = newFastRoute(action, middlewares...)
}

// wrap returns next with the fast path in front of it, or next alone when the router has
// a router-level middleware the fast path does not know.
func (f *fastBeat) wrap(next http.Handler, r *router.Router[*core.RequestEvent]) http.Handler {
	if f.beat.action == nil {
		return next
	}
	for _, m := range r.Middlewares {
		if !knownRouterMiddlewares[m.Id] {
			f.app.Logger().Warn("heartbeat fast path off: unknown router middleware", "id", m.Id)
			return next
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.takes(r) {
			f.serve(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// takes reports whether r is a beat or a ping PocketBase's router-level middlewares
// would pass straight to the route.
func (f *fastBeat) takes(r *http.Request) bool {
	return f.route(r) != nil &&
		r.Header.Get("Origin") == "" && !strings.HasPrefix(r.Host, "www.") &&
		r.ContentLength <= apis.DefaultMaxBodySize && !f.app.Settings().RateLimits.Enabled
}

// route is the route r is for, or nil when it is for none the fast path runs.
func (f *fastBeat) route(r *http.Request) *fastRoute {
	switch {
	case r.URL.Path == heartbeatPath && r.Method == http.MethodPost:
		return &f.beat
	case f.ping.action != nil && strings.HasPrefix(r.URL.Path, api.PingPathPrefix) && len(r.URL.Path) > len(api.PingPathPrefix) &&
		(r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodPost):
		return &f.ping
	}
	return nil
}

// serve answers a beat as the route would: the headers of PocketBase's CORS (for a
// request without Origin) and securityHeaders middlewares, the route's chain, and, for an
// error the chain returns, the request log row and the router's error reply.
func (f *fastBeat) serve(w http.ResponseWriter, r *http.Request) {
	f.taken.Add(1)
	started := time.Now()
	rw := &router.ResponseWriter{ResponseWriter: w}
	e := &core.RequestEvent{App: f.app}
	e.Response, e.Request = rw, r
	h := rw.Header()
	h.Add("Vary", "Origin")
	h.Set("X-XSS-Protection", "1; mode=block")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if err := f.run(e, f.route(r)); err != nil {
		f.logError(e, rw, started, err)
		router.ErrorHandler(rw, r, err)
	}
}

// run runs the chain, turning a panic into a 500 as PocketBase's panicRecover does (an
// http.ErrAbortHandler panic still aborts the reply).
func (f *fastBeat) run(e *core.RequestEvent, route *fastRoute) (err error) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		recErr, ok := rec.(error)
		if !ok {
			recErr = fmt.Errorf("%v", rec)
		} else if errors.Is(recErr, http.ErrAbortHandler) {
			panic(rec)
		}
		stack := make([]byte, 2<<10)
		n := runtime.Stack(stack, false)
		err = e.InternalServerError("", fmt.Errorf("app: heartbeat: [PANIC RECOVER] %w %s", recErr, stack[:n]))
	}()
	return route.chain.Trigger(e, route.action)
}

// logError writes the request log row PocketBase's activity logger writes for a failed
// request (successful beats are kept out of it, as the route's SkipSuccessActivityLog
// does).
func (f *fastBeat) logError(e *core.RequestEvent, rw *router.ResponseWriter, started time.Time, err error) {
	settings := f.app.Settings()
	if settings.Logs.MaxDays == 0 {
		return
	}
	attrs := make([]any, 0, 12)
	attrs = append(attrs, slog.String("type", "request"),
		slog.Float64("execTime", float64(time.Since(started))/float64(time.Millisecond)))
	status := rw.Status()
	apiErr, plain := err.(*router.ApiError)
	if plain || errors.As(err, &apiErr) {
		if status == 0 {
			status = apiErr.Status
		}
		msg := err.Error()
		if plain {
			msg = apiErr.Message
		}
		attrs = append(attrs, slog.String("error", msg), slog.Any("details", apiErr.RawData()))
	} else {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	uri := cut(e.Request.URL.RequestURI(), 3000)
	if strings.HasPrefix(e.Request.URL.Path, api.PingPathPrefix) {
		uri = api.PingPathPrefix + "(secret)" // a ping URL is its own key
	}
	attrs = append(attrs,
		slog.String("url", uri),
		slog.String("method", e.Request.Method),
		slog.Int("status", status),
		slog.String("referer", cut(e.Request.Referer(), 2000)),
		slog.String("userAgent", cut(e.Request.UserAgent(), 2000)),
		slog.String("auth", ""))
	if settings.Logs.LogIP {
		attrs = append(attrs, slog.String("userIP", e.RealIP()), slog.String("remoteIP", e.RemoteIP()))
	}
	if unescaped, uerr := url.PathUnescape(uri); uerr == nil {
		uri = unescaped
	}
	f.app.Logger().Error(e.Request.Method+" "+uri, attrs...)
}

// cut shortens s to n bytes, as PocketBase's request log does.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
