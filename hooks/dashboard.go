package hooks

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
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/static"
	"github.com/heartbeat-monitor/heartbeat-monitor/views"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// dashboard serves the HTML pages. It shares the server's app and clock and adds the
// CSRF key and the login limiter.
type dashboard struct {
	*server
	key    []byte          // HMAC key of the CSRF tokens, from pb_data
	logins *ingest.Limiter // login attempts per client IP
}

// contentSecurityPolicy allows nothing but this server: no inline script or style, no
// eval (htmx is configured without it), no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// bindDashboardApi registers the login, the pages and their htmx partials, the static
// assets and GET /api/uptime. The session cookie is read by these routes only.
func bindDashboardApi(se *core.ServeEvent, s *server) error {
	key, err := loadSecret(s.app.DataDir())
	if err != nil {
		return err
	}
	d := &dashboard{server: s, key: key, logins: ingest.NewLimiter(loginAttemptsPerMinute)}

	se.Router.GET("/static/{path...}", staticGet).Bind(apis.Gzip(), apis.SkipSuccessActivityLog())

	se.Router.GET("/login", d.loginGet).BindFunc(pageHeaders)
	se.Router.POST("/login", d.loginPost).BindFunc(pageHeaders).Bind(apis.BodyLimit(maxFormBytes))

	pages := se.Router.Group("")
	pages.BindFunc(pageHeaders, d.requireSession)
	pages.GET("/{$}", d.overviewGet)
	pages.GET("/overview/live", d.overviewLive)
	pages.GET("/services/{serviceId}", d.serviceGet)
	pages.GET("/services/{serviceId}/state", d.serviceState)
	pages.GET("/services/{serviceId}/heartbeats", d.serviceBeats)
	pages.GET("/logout", d.logoutGet)
	pages.POST("/logout", d.logoutPost).Bind(apis.BodyLimit(maxFormBytes))
	pages.POST("/logout/everywhere", d.logoutEverywherePost).Bind(apis.BodyLimit(maxFormBytes))
	return nil
}

// pageHeaders are the security headers of every dashboard page. Pages are private and
// live, so nothing is cached.
func pageHeaders(e *core.RequestEvent) error {
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

// staticGet serves an embedded asset. With the right ?v= content hash it may be cached
// for a year; without, it is revalidated.
func staticGet(e *core.RequestEvent) error {
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

// overviewGet is GET /: the whole page.
func (d *dashboard) overviewGet(e *core.RequestEvent) error {
	o, err := d.overviewFor(e)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return render(e, http.StatusOK, views.OverviewPage(o))
}

// overviewLive is GET /overview/live: the list and the cards, for the 30 s refresh, the
// filter form and the pager. The address bar follows the filter and the page so a
// reload keeps them.
func (d *dashboard) overviewLive(e *core.RequestEvent) error {
	o, err := d.overviewFor(e)
	if err != nil {
		return e.InternalServerError("", err)
	}
	e.Response.Header().Set("HX-Replace-Url", views.OverviewURL(o.Query, o.Filter, o.Page))
	return render(e, http.StatusOK, views.OverviewLive(o))
}

func (d *dashboard) overviewFor(e *core.RequestEvent) (views.Overview, error) {
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
	o, err := loadOverview(d.app, d.alerts.Engine(), d.now().UTC(), query, q.Get("status"), page)
	o.Chrome = c
	return o, err
}

// serviceGet is GET /services/{serviceId}.
func (d *dashboard) serviceGet(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partAll)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.ServicePage(svc))
}

// serviceState is GET /services/{serviceId}/state: the live header of the page.
func (d *dashboard) serviceState(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partHeader)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.ServiceState(svc))
}

// serviceBeats is GET /services/{serviceId}/heartbeats?page=N: one page of beats.
func (d *dashboard) serviceBeats(e *core.RequestEvent) error {
	svc, ok, err := d.serviceFor(e, partBeats)
	if err != nil || !ok {
		return err
	}
	return render(e, http.StatusOK, views.BeatsTable(svc.Beats))
}

// serviceFor loads the part of the page of the request's service; when there is no
// such service it answers 404 and reports false.
func (d *dashboard) serviceFor(e *core.RequestEvent, part servicePart) (views.Service, bool, error) {
	sid := e.Request.PathValue("serviceId")
	c, err := d.chrome(e, sid)
	if err != nil {
		return views.Service{}, false, e.InternalServerError("", err)
	}
	if !monitor.ValidServiceID(sid) {
		return views.Service{}, false, d.notFound(e, c)
	}
	page, _ := strconv.Atoi(e.Request.URL.Query().Get("page"))
	svc, err := loadService(d.app, d.alerts.Engine(), d.now().UTC(), sid, page, part)
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

func (d *dashboard) notFound(e *core.RequestEvent, c views.Chrome) error {
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
