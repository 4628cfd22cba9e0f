// Package dashboard serves the HTML pages: the overview, a service's page and their
// live partials, the login with its CSRF tokens and rate limit, the dashboard's own
// sessions (a row per session, revocable one by one), and the embedded static assets.
// The app's route table binds the exported handlers.
package dashboard

import (
	"bytes"
	"database/sql"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/static"
	"github.com/heartbeat-monitor/heartbeat-monitor/views"
	"github.com/pocketbase/pocketbase/core"
)

// Engines gives the engine that holds every service's live state (the alerting's,
// which is rebuilt on a reload).
type Engines interface {
	Engine() *engine.Engine
}

// Dashboard serves the HTML pages, the login and the dashboard's sessions: the app, the
// engine, the clock, how often pages refresh, the CSRF key and the login limiter.
type Dashboard struct {
	App     core.App
	Alerts  Engines
	Now     func() time.Time
	Refresh time.Duration // how often pages refresh their live regions; 0 means 30 s
	// Canary, when set, is the header's warning that notifications are failing ("": none).
	Canary func() string

	key    []byte          // HMAC key of the CSRF tokens, from pb_data
	logins *ingest.Limiter // login attempts per client IP
}

// New returns the dashboard of app; Open it once the data directory is known.
func New(app core.App, alerts Engines, now func() time.Time) *Dashboard {
	return &Dashboard{App: app, Alerts: alerts, Now: now, logins: ingest.NewLimiter(LoginAttemptsPerMinute)}
}

// Open reads the CSRF key from the data directory, making one the first time.
func (d *Dashboard) Open() error {
	key, err := loadSecret(d.App.DataDir())
	if err != nil {
		return err
	}
	d.key = key
	return nil
}

// contentSecurityPolicy allows nothing but this server: no inline script or style, no
// eval (htmx is configured without it), no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// PageHeaders are the security headers of every dashboard page. Pages are private and
// live, so nothing is cached.
func PageHeaders(e *core.RequestEvent) error {
	h := e.Response.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	return e.Next()
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a component as the whole response. It renders into a buffer first so a
// failed render is a clean 500 rather than half a page.
func render(e *core.RequestEvent, status int, c templ.Component) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := c.Render(e.Request.Context(), buf); err != nil {
		return e.InternalServerError("", err)
	}
	e.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
	e.Response.WriteHeader(status)
	_, err := e.Response.Write(buf.Bytes())
	return err
}

// StaticGet serves an embedded asset. With the right ?v= content hash it may be cached
// for a year; without, it is revalidated.
func StaticGet(e *core.RequestEvent) error {
	name := e.Request.PathValue("path")
	v := static.Version(name)
	if v == "" {
		return e.NotFoundError("", nil)
	}
	b, err := fs.ReadFile(static.FS, name)
	if err != nil {
		return e.InternalServerError("", err)
	}
	h := e.Response.Header()
	if e.Request.URL.Query().Get("v") == v {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+v+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(e.Response, e.Request, name, time.Time{}, bytes.NewReader(b))
	return nil
}

// OverviewGet is GET /: the whole page.
func (d *Dashboard) OverviewGet(e *core.RequestEvent) error {
	o, err := d.overviewFor(e)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return render(e, http.StatusOK, views.OverviewPage(o))
}

// OverviewLive is GET /overview/live: the list and the cards, for the 30 s refresh, the
// filter form and the pager. The address bar follows the filter and the page so a
// reload keeps them.
func (d *Dashboard) OverviewLive(e *core.RequestEvent) error {
	o, err := d.overviewFor(e)
	if err != nil {
		return e.InternalServerError("", err)
	}
	e.Response.Header().Set("HX-Replace-Url", views.OverviewURL(o.Query, o.Filter, o.Page))
	return render(e, http.StatusOK, views.OverviewLive(o))
}

func (d *Dashboard) overviewFor(e *core.RequestEvent) (views.Overview, error) {
	c, err := d.chrome(e, "Overview")
	if err != nil {
		return views.Overview{}, err
	}
	q := e.Request.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	if len(query) > 100 {
		query = query[:100]
	}
	page, _ := strconv.Atoi(q.Get("page")) // anything but a number is page 1
	o, err := loadOverview(d.App, d.Alerts.Engine(), d.Now().UTC(), query, q.Get("status"), page)
	o.Chrome = c
	return o, err
}

// ServiceGet is GET /services/{serviceId}.
func (d *Dashboard) ServiceGet(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partAll)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.ServicePage(svc))
}

// ServiceState is GET /services/{serviceId}/state: the live header of the page.
func (d *Dashboard) ServiceState(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partHeader)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.ServiceState(svc))
}

// ServiceRuns is GET /services/{serviceId}/runs: the runs panel, which refreshes itself.
func (d *Dashboard) ServiceRuns(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partRuns)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.RunsPanel(svc))
}

// ServiceBeats is GET /services/{serviceId}/heartbeats?page=N: one page of beats.
func (d *Dashboard) ServiceBeats(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partBeats)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.BeatsTable(svc.Beats))
}

// serviceFor loads the part of the page of the request's service; when there is no
// such service it answers 404 and reports false.
func (d *Dashboard) serviceFor(e *core.RequestEvent, part servicePart) (views.Service, bool, error) {
	sid := e.Request.PathValue("serviceId")
	c, err := d.chrome(e, sid)
	if err != nil {
		return views.Service{}, false, e.InternalServerError("", err)
	}
	if !monitor.ValidServiceID(sid) {
		return views.Service{}, false, d.notFound(e, c)
	}
	page, _ := strconv.Atoi(e.Request.URL.Query().Get("page"))
	svc, err := loadService(d.App, d.Alerts.Engine(), d.Now().UTC(), sid, page, part)
	if errors.Is(err, sql.ErrNoRows) {
		return views.Service{}, false, d.notFound(e, c)
	} else if err != nil {
		return views.Service{}, false, e.InternalServerError("", err)
	}
	c.Title = svc.Name
	svc.Chrome = c
	svc.Curl = curlCommand(e, sid)
	return svc, true, nil
}

func (d *Dashboard) notFound(e *core.RequestEvent, c views.Chrome) error {
	c.Title = "Not found"
	return render(e, http.StatusNotFound, views.ErrorPage(c, "No such service", "There is no service with this id. It may have been renamed or deleted."))
}

// curlCommand is a ready-to-copy beat for a service, sent to the address the page was
// loaded from; the key stays a placeholder (the dashboard never shows keys).
func curlCommand(e *core.RequestEvent, serviceID string) string {
	scheme := "http"
	if secureCookies(e) {
		scheme = "https"
	}
	host := e.Request.Host
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			host = "your-monitor.example.com"
			break
		}
	}
	if host == "" {
		host = "your-monitor.example.com"
	}
	return "curl -fsS -X POST '" + scheme + "://" + host + "/api/heartbeat' \\\n" +
		"  -H 'Authorization: Bearer YOUR_API_KEY' \\\n" +
		"  -H 'Content-Type: application/json' \\\n" +
		`  -d '{"serviceId":"` + serviceID + `","status":"up","message":"ok"}'`
}
