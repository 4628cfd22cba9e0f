package app

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/dashboard"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const (
	dashOrigin   = "http://example.com" // httptest requests are for example.com
	dashPassword = "a-long-password-123"
)

// browser is a cookie-keeping client of the dashboard, as one person's browser.
type browser struct {
	t       testing.TB
	mux     http.Handler
	ip      string
	cookies map[string]*http.Cookie
}

func newBrowser(h *harness, ip string) *browser {
	return &browser{t: h.t, mux: h.mux, ip: ip, cookies: map[string]*http.Cookie{}}
}

// send makes a request with the browser's cookies and keeps the cookies it sets.
// Headers are "Name: value" strings; a form body is url-encoded.
func (b *browser) send(method, path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = b.ip + ":40000"
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	b.mux.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf is the CSRF token in a rendered form.
func csrfOf(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no csrf token in the page: %s", rec.Body.String())
	}
	return m[1]
}

// login opens the login form and posts the credentials, as a person would.
func (b *browser) login(email, password string, headers ...string) *httptest.ResponseRecorder {
	b.t.Helper()
	tok := csrfOf(b.t, b.send("GET", "/login", nil))
	return b.send("POST", "/login", url.Values{"email": {email}, "password": {password}, "csrf": {tok}},
		append([]string{"Origin: " + dashOrigin}, headers...)...)
}

// person creates a record in an auth collection ("users" or "_superusers").
func (h *harness) person(collection, email string) *core.Record {
	h.t.Helper()
	return newPerson(h.t, h.app, collection, email)
}

func newPerson(t testing.TB, app core.App, collection, email string) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.SetEmail(email)
	r.SetPassword(dashPassword)
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDashboardRedirectsWhenLoggedOut(t *testing.T) {
	h := newHarness(t)
	h.service("web-1", "k", nil)
	b := newBrowser(h, "10.0.0.1")
	cases := []struct {
		method, path string
		headers      []string
		status       int
		location     string // Location, or HX-Redirect for htmx
	}{
		{"GET", "/", nil, 303, "/login"},
		{"GET", "/services/web-1", nil, 303, "/login?next=%2Fservices%2Fweb-1"},
		{"GET", "/overview/live?status=down", nil, 303, "/login?next=%2Foverview%2Flive%3Fstatus%3Ddown"},
		{"GET", "/logout", nil, 303, "/login?next=%2Flogout"},
		{"POST", "/logout", nil, 303, "/login"},
		{"GET", "/overview/live", []string{"HX-Request: true", "HX-Current-URL: http://example.com/?q=web"}, 401, "/login?next=%2F%3Fq%3Dweb"},
		{"GET", "/services/web-1/state", []string{"HX-Request: true", "HX-Current-URL: http://example.com/services/web-1"}, 401, "/login?next=%2Fservices%2Fweb-1"},
	}
	for _, c := range cases {
		res := b.send(c.method, c.path, nil, c.headers...)
		loc := res.Header().Get("Location")
		if len(c.headers) > 0 {
			loc = res.Header().Get("HX-Redirect")
		}
		if res.Code != c.status || loc != c.location {
			t.Errorf("%s %s: got %d to %q, want %d to %q", c.method, c.path, res.Code, loc, c.status, c.location)
		}
		if strings.Contains(res.Body.String(), "web-1</a>") {
			t.Errorf("%s %s: a logged-out request saw the service list", c.method, c.path)
		}
	}
}

func TestDashboardLogin(t *testing.T) {
	t.Run("a user logs in, sees the services, and the cookie is HttpOnly and Lax", func(t *testing.T) {
		h := newHarness(t)
		h.person("users", "ann@example.com")
		h.service("web-1", "k", map[string]any{"name": "Public web"})
		b := newBrowser(h, "10.0.0.1")
		res := b.login("ann@example.com", dashPassword)
		if res.Code != 303 || res.Header().Get("Location") != "/" {
			t.Fatalf("login: got %d to %q, want 303 to /", res.Code, res.Header().Get("Location"))
		}
		c := b.cookies[dashboard.SessionCookie]
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
			t.Fatalf("session cookie: got %+v, want HttpOnly, SameSite=Lax, not Secure over plain HTTP", c)
		}
		if _, ok := b.cookies[dashboard.LoginCookie]; ok {
			t.Error("the login nonce cookie should be dropped after login")
		}
		res = b.send("GET", "/", nil)
		if res.Code != 200 || !strings.Contains(body(res), `id="svc-web-1"`) || !strings.Contains(body(res), "Public web") || !strings.Contains(body(res), "ann@example.com") {
			t.Fatalf("overview after login: got %d %s", res.Code, body(res))
		}
		if csp := res.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP: got %q", csp)
		}
		if res.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("a private page must not be cached, got Cache-Control %q", res.Header().Get("Cache-Control"))
		}
		if res := b.send("GET", "/login", nil); res.Code != 303 || res.Header().Get("Location") != "/" {
			t.Errorf("GET /login when logged in: got %d to %q, want 303 to /", res.Code, res.Header().Get("Location"))
		}
	})

	t.Run("a superuser may log in too, and back to where they were going", func(t *testing.T) {
		h := newHarness(t)
		h.person("_superusers", "root@example.com")
		h.service("web-1", "k", nil)
		b := newBrowser(h, "10.0.0.1")
		form := b.send("GET", "/login?next=%2Fservices%2Fweb-1", nil)
		res := b.send("POST", "/login", url.Values{"email": {"root@example.com"}, "password": {dashPassword}, "csrf": {csrfOf(t, form)}, "next": {"/services/web-1"}},
			"Origin: "+dashOrigin)
		if res.Code != 303 || res.Header().Get("Location") != "/services/web-1" {
			t.Fatalf("login: got %d to %q", res.Code, res.Header().Get("Location"))
		}
		if res := b.send("GET", "/services/web-1", nil); res.Code != 200 || !strings.Contains(body(res), `id="state"`) {
			t.Fatalf("service page: got %d", res.Code)
		}
	})

	t.Run("Secure cookie behind TLS", func(t *testing.T) {
		h := newHarness(t)
		h.person("users", "ann@example.com")
		b := newBrowser(h, "10.0.0.1")
		b.login("ann@example.com", dashPassword, "X-Forwarded-Proto: https")
		if c := b.cookies[dashboard.SessionCookie]; c == nil || !c.Secure {
			t.Fatalf("session cookie over https: got %+v, want Secure", c)
		}
	})

	t.Run("htmx login answers with HX-Redirect", func(t *testing.T) {
		h := newHarness(t)
		h.person("users", "ann@example.com")
		b := newBrowser(h, "10.0.0.1")
		res := b.login("ann@example.com", dashPassword, "HX-Request: true")
		if res.Code != 200 || res.Header().Get("HX-Redirect") != "/" {
			t.Fatalf("htmx login: got %d HX-Redirect %q", res.Code, res.Header().Get("HX-Redirect"))
		}
	})

}

func TestDashboardLoginFailures(t *testing.T) {
	h := newHarness(t)
	h.person("users", "ann@example.com")
	cases := []struct {
		name, email, password string
		headers               []string
		wantFull              bool // the whole page, or only the form (htmx)
	}{
		{"wrong password", "ann@example.com", "nope-nope-nope", nil, true},
		{"unknown email", "bob@example.com", dashPassword, nil, true},
		{"empty password", "ann@example.com", "", nil, true},
		{"htmx: only the form comes back", "ann@example.com", "nope-nope-nope", []string{"HX-Request: true"}, false},
	}
	var bodies []string
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(h, "10.0.1."+itoa(i+1))
			res := b.login(c.email, c.password, c.headers...)
			if res.Code != http.StatusUnauthorized {
				t.Fatalf("got %d, want 401", res.Code)
			}
			if !strings.Contains(body(res), `id="login-error"`) || !strings.Contains(body(res), dashboard.MsgBadLogin) {
				t.Errorf("the form must come back with the message, got %s", body(res))
			}
			if full := strings.Contains(body(res), "<html"); full != c.wantFull {
				t.Errorf("whole page: got %v, want %v", full, c.wantFull)
			}
			if _, ok := b.cookies[dashboard.SessionCookie]; ok {
				t.Error("a failed login set a session cookie")
			}
			bodies = append(bodies, csrfRe.ReplaceAllString(body(res), ""))
		})
	}
	// Whether the account exists must not show: same status, same words.
	if strings.Replace(bodies[0], "ann@", "bob@", 1) != bodies[1] {
		t.Errorf("wrong password and unknown email answer differently:\n%s\n%s", bodies[0], bodies[1])
	}
}

func TestDashboardCSRF(t *testing.T) {
	h := newHarness(t)
	h.person("users", "ann@example.com")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	creds := func(tok string) url.Values {
		return url.Values{"email": {"ann@example.com"}, "password": {dashPassword}, "csrf": {tok}}
	}
	cases := []struct {
		name    string
		form    func(b *browser, tok string) url.Values
		headers []string
		later   time.Duration // clock moved on between the form and the post
	}{
		{"no token", func(*browser, string) url.Values { return creds("") }, []string{"Origin: " + dashOrigin}, 0},
		{"forged token", func(*browser, string) url.Values {
			return creds("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA")
		}, []string{"Origin: " + dashOrigin}, 0},
		{"token of another browser", func(*browser, string) url.Values {
			other := newBrowser(h, "10.0.2.99")
			return creds(csrfOf(t, other.send("GET", "/login", nil)))
		}, []string{"Origin: " + dashOrigin}, 0},
		{"expired token", func(_ *browser, tok string) url.Values { return creds(tok) }, []string{"Origin: " + dashOrigin}, 3 * time.Hour},
		{"cross-site Origin", func(_ *browser, tok string) url.Values { return creds(tok) }, []string{"Origin: https://evil.example"}, 0},
		{"cross-site Referer, no Origin", func(_ *browser, tok string) url.Values { return creds(tok) }, []string{"Referer: https://evil.example/page"}, 0},
		{"neither Origin nor Referer", func(_ *browser, tok string) url.Values { return creds(tok) }, nil, 0},
		{"opaque Origin", func(_ *browser, tok string) url.Values { return creds(tok) }, []string{"Origin: null", "Referer: http://example.com/login"}, 0},
		{"Sec-Fetch-Site cross-site", func(_ *browser, tok string) url.Values { return creds(tok) }, []string{"Origin: " + dashOrigin, "Sec-Fetch-Site: cross-site"}, 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.setClock(now)
			b := newBrowser(h, "10.0.2."+itoa(i+1))
			tok := csrfOf(t, b.send("GET", "/login", nil))
			form := c.form(b, tok)
			h.setClock(now.Add(c.later))
			res := b.send("POST", "/login", form, c.headers...)
			if res.Code != http.StatusForbidden || !strings.Contains(body(res), dashboard.MsgExpired) {
				t.Fatalf("got %d, want 403 with the expired-form message; body %s", res.Code, body(res))
			}
			if _, ok := b.cookies[dashboard.SessionCookie]; ok {
				t.Error("a refused login set a session cookie")
			}
		})
	}
	t.Run("same-origin Referer without Origin is fine", func(t *testing.T) {
		h.setClock(now)
		b := newBrowser(h, "10.0.2.200")
		tok := csrfOf(t, b.send("GET", "/login", nil))
		if res := b.send("POST", "/login", creds(tok), "Referer: http://example.com/login"); res.Code != 303 {
			t.Fatalf("got %d, want 303", res.Code)
		}
	})
	t.Run("logout needs the session's token", func(t *testing.T) {
		h.setClock(now)
		b := newBrowser(h, "10.0.2.201")
		if res := b.login("ann@example.com", dashPassword); res.Code != 303 {
			t.Fatalf("login: %d", res.Code)
		}
		h.person("users", "bob@example.com")
		other := newBrowser(h, "10.0.2.202")
		other.login("bob@example.com", dashPassword)
		otherTok := csrfOf(t, other.send("GET", "/", nil)) // a valid token, of another session
		for _, tok := range []string{"", otherTok} {
			if res := b.send("POST", "/logout", url.Values{"csrf": {tok}}, "Origin: "+dashOrigin); res.Code != 403 {
				t.Errorf("logout with token %.10q: got %d, want 403", tok, res.Code)
			}
		}
		tok := csrfOf(t, b.send("GET", "/", nil))
		if res := b.send("POST", "/logout", url.Values{"csrf": {tok}}, "Origin: https://evil.example"); res.Code != 403 {
			t.Errorf("cross-site logout: got %d, want 403", res.Code)
		}
		if _, ok := b.cookies[dashboard.SessionCookie]; !ok {
			t.Fatal("a refused logout dropped the session")
		}
	})
}

func TestDashboardLogout(t *testing.T) {
	h := newHarness(t)
	h.person("users", "ann@example.com")
	b := newBrowser(h, "10.0.0.1")
	b.login("ann@example.com", dashPassword)
	page := b.send("GET", "/logout", nil)
	if page.Code != 200 || !strings.Contains(body(page), `action="/logout"`) {
		t.Fatalf("GET /logout: got %d", page.Code)
	}
	res := b.send("POST", "/logout", url.Values{"csrf": {csrfOf(t, page)}}, "Origin: "+dashOrigin)
	if res.Code != 303 || res.Header().Get("Location") != "/login" {
		t.Fatalf("logout: got %d to %q, want 303 to /login", res.Code, res.Header().Get("Location"))
	}
	if _, ok := b.cookies[dashboard.SessionCookie]; ok {
		t.Fatal("the session cookie survived logout")
	}
	if res := b.send("GET", "/", nil); res.Code != 303 {
		t.Errorf("after logout: got %d, want a redirect to /login", res.Code)
	}
}

func TestDashboardLoginRateLimit(t *testing.T) {
	h := newHarness(t)
	h.person("users", "ann@example.com")
	h.setClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	b := newBrowser(h, "10.0.3.1")
	for i := range dashboard.LoginAttemptsPerMinute {
		if res := b.login("ann@example.com", "wrong-password"); res.Code != 401 {
			t.Fatalf("attempt %d: got %d, want 401", i+1, res.Code)
		}
	}
	res := b.login("ann@example.com", dashPassword)
	if res.Code != http.StatusTooManyRequests || res.Header().Get("Retry-After") == "" || !strings.Contains(body(res), dashboard.MsgTooMany) {
		t.Fatalf("attempt over the limit: got %d Retry-After %q, want 429 with the form and a message", res.Code, res.Header().Get("Retry-After"))
	}
	if _, ok := b.cookies[dashboard.SessionCookie]; ok {
		t.Fatal("the right password over the limit still logged in")
	}
	if res := newBrowser(h, "10.0.3.2").login("ann@example.com", dashPassword); res.Code != 303 {
		t.Errorf("another address: got %d, want to log in", res.Code)
	}
	h.setClock(time.Date(2026, 11, 26, 12, 1, 0, 0, time.UTC))
	if res := b.login("ann@example.com", dashPassword); res.Code != 303 {
		t.Errorf("a minute later: got %d, want to log in", res.Code)
	}
}

func TestDashboardCookieScope(t *testing.T) {
	h := newHarness(t)
	h.person("_superusers", "root@example.com")
	h.service("web-1", "k", nil)
	b := newBrowser(h, "10.0.0.1")
	b.login("root@example.com", dashPassword)
	// Our read routes accept the cookie...
	for _, path := range []string{"/api/status", "/api/services", "/api/uptime?serviceId=web-1"} {
		if res := b.send("GET", path, nil); res.Code != 200 {
			t.Errorf("GET %s with the dashboard cookie: got %d, want 200", path, res.Code)
		}
	}
	// ...PocketBase's own API never does, not even a superuser's.
	res := b.send("GET", "/api/collections/services/records", nil)
	if res.Code == 200 {
		t.Errorf("the PocketBase record API accepted the dashboard cookie: %d %s", res.Code, body(res))
	}
	if res := b.send("GET", "/api/collections/_superusers/records", nil); res.Code == 200 {
		t.Errorf("the PocketBase superusers API accepted the dashboard cookie")
	}
}

func TestDashboardPages(t *testing.T) {
	h := newHarness(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	h.person("users", "ann@example.com")
	h.service("api", "k1", map[string]any{"group": "core"})
	h.service("db", "k2", map[string]any{"group": "core"})
	h.service("cron", "k3", nil)
	setSeen(t, h, "api", now.Add(-10*time.Minute), "up") // past the 5 min threshold: down
	setSeen(t, h, "db", now.Add(-10*time.Second), "up")
	b := newBrowser(h, "10.0.0.1")
	b.login("ann@example.com", dashPassword)

	page := body(b.send("GET", "/", nil))
	api, db := strings.Index(page, `id="svc-api" data-status="down"`), strings.Index(page, `id="svc-db" data-status="up"`)
	if api < 0 || db < 0 || api > db {
		t.Fatalf("want api (down) listed before db (up): %d %d", api, db)
	}
	if !strings.Contains(page, `id="svc-cron" data-status="unknown"`) {
		t.Error("a service never seen is unknown")
	}

	live := b.send("GET", "/overview/live?status=down&q=a", nil, "HX-Request: true")
	if live.Code != 200 || strings.Contains(body(live), "<html") || !strings.Contains(body(live), `id="svc-api"`) || strings.Contains(body(live), `id="svc-db"`) {
		t.Fatalf("live partial filtered to down: got %d %s", live.Code, body(live))
	}
	if got := live.Header().Get("HX-Replace-Url"); got != "/?q=a&status=down" {
		t.Errorf("HX-Replace-Url: got %q", got)
	}
	if strings.Contains(body(live), `name="csrf"`) {
		t.Error("the live partial carries no form and no token")
	}

	svc := b.send("GET", "/services/api", nil)
	if svc.Code != 200 || !strings.Contains(body(svc), `id="state" class="panel" data-status="down"`) || !strings.Contains(body(svc), `&#34;serviceId&#34;:&#34;api&#34;`) {
		t.Fatalf("service page: got %d %s", svc.Code, body(svc))
	}
	if !regexp.MustCompile(`Down since <time[^>]*>2026-11-26 11:55:00 UTC</time>`).MatchString(body(svc)) {
		t.Error("the service page says since when it is down (lastSeen + threshold)")
	}
	if !regexp.MustCompile(`<td class="t" data-label="Started">2026-11-26 11:55:00 UTC</td><td class="t" data-label="Ended"><strong>ongoing</strong>`).MatchString(body(svc)) {
		t.Error("the incident the header speaks of is in the list, ongoing, before any check has stored it")
	}
	if res := b.send("GET", "/services/ghost", nil); res.Code != 404 || !strings.Contains(body(res), "No such service") {
		t.Errorf("unknown service: got %d", res.Code)
	}
	if res := b.send("GET", "/services/api/state", nil, "HX-Request: true"); res.Code != 200 || !strings.HasPrefix(body(res), `<section id="state"`) {
		t.Errorf("state partial: got %d %.60s", res.Code, body(res))
	}
}

func TestServicePageHeartbeats(t *testing.T) {
	h := newHarness(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	h.person("users", "ann@example.com")
	svc := h.service("api", "k1", nil)
	rows := make([][]any, 45)
	for i := range rows {
		at := store.DBDate(now.Add(-time.Duration(i) * time.Minute))
		rows[i] = []any{"beat" + itoa(100000000+i) + "xx", svc.Id, "up", "beat " + itoa(i), `{"n":` + itoa(i) + `}`, "10.1.1.1", "curl", at}
	}
	if err := store.InsertRows(h.app.DB(), "heartbeats", []string{"id", "service", "status", "message", "metadata", "sourceIp", "userAgent", "created"}, rows); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(h, "10.0.0.1")
	b.login("ann@example.com", dashPassword)
	first := body(b.send("GET", "/services/api", nil))
	if !strings.Contains(first, "beat 0<") || strings.Contains(first, "beat 20<") || !strings.Contains(first, "Page 1 of 3") {
		t.Fatalf("first page: want the 20 newest beats of 45")
	}
	third := b.send("GET", "/services/api/heartbeats?page=3", nil, "HX-Request: true")
	if !strings.HasPrefix(body(third), `<section id="beats"`) || !strings.Contains(body(third), "beat 44<") || strings.Contains(body(third), "beat 39<") {
		t.Fatalf("third page: got %s", body(third))
	}
	if got := body(b.send("GET", "/services/api/heartbeats?page=99", nil)); !strings.Contains(got, "Page 3 of 3") {
		t.Error("a page past the end shows the last page")
	}
}

func TestDashboardStatic(t *testing.T) {
	h := newHarness(t)
	res := h.do("GET", "/static/app.css?v=nope", "")
	if res.Code != 200 || res.Header().Get("Cache-Control") != "no-cache" || !strings.HasPrefix(res.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("app.css: got %d %q %q", res.Code, res.Header().Get("Cache-Control"), res.Header().Get("Content-Type"))
	}
	page := h.do("GET", "/login", "")
	m := regexp.MustCompile(`/static/htmx-2\.0\.\d+\.min\.js\?v=\w+`).FindString(body(page))
	if m == "" {
		t.Fatal("the login page does not load the vendored htmx")
	}
	res = h.do("GET", m, "")
	if res.Code != 200 || !strings.Contains(res.Header().Get("Cache-Control"), "immutable") || !strings.Contains(body(res), "htmx") {
		t.Errorf("versioned htmx: got %d %q", res.Code, res.Header().Get("Cache-Control"))
	}
	zipped := h.do("GET", m, "", "Accept-Encoding: gzip")
	size := zipped.Body.Len()
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatalf("gzip htmx: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, res.Body.Bytes()) || size > len(plain)/2 {
		t.Errorf("gzip htmx: %d bytes for %d (%v), want the same file, smaller", size, len(plain), err)
	}
	for _, path := range []string{"/static/nope.js", "/static/../main.go", "/static/..%2fmain.go", "/static/"} {
		if res := h.do("GET", path, ""); res.Code == 200 || strings.Contains(body(res), "package main") {
			t.Errorf("GET %s: got %d, want no file", path, res.Code)
		}
	}
}

// spanRow is a pauses row as TestPausesAreRecorded reads it.
type spanRow struct {
	Service   string `db:"service"`
	Status    string `db:"status"`
	StartedAt string `db:"startedAt"`
	EndedAt   string `db:"endedAt"`
}

func TestPausesAreRecorded(t *testing.T) {
	h := newHarness(t)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(t0)
	svc := h.service("api", "k", nil)
	paused := h.service("batch", "k2", map[string]any{"paused": true})
	spans := func(id string) []spanRow {
		var rows []spanRow
		if err := h.app.DB().NewQuery("SELECT service, '' AS status, startedAt, endedAt FROM pauses WHERE service = {:id} ORDER BY startedAt").
			Bind(dbx.Params{"id": id}).All(&rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if got := spans(paused.Id); len(got) != 1 || got[0].StartedAt != store.DBDate(t0) || got[0].EndedAt != "" {
		t.Errorf("created paused: got %+v, want one open pause from creation", got)
	}
	h.setClock(t0.Add(time.Hour))
	svc.Set("paused", true)
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	svc.Set("description", "edited while paused")
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	h.setClock(t0.Add(3 * time.Hour))
	svc.Set("paused", false)
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	got := spans(svc.Id)
	if len(got) != 1 || got[0].StartedAt != store.DBDate(t0.Add(time.Hour)) || got[0].EndedAt != store.DBDate(t0.Add(3*time.Hour)) {
		t.Errorf("paused then resumed: got %+v, want one pause from 13:00 to 15:00", got)
	}

	// A timed pause ends by itself; clearing it early ends it then.
	h.setClock(t0.Add(4 * time.Hour))
	svc.Set("pausedUntil", t0.Add(6*time.Hour))
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	if got := spans(svc.Id); len(got) != 2 || got[1].StartedAt != store.DBDate(t0.Add(4*time.Hour)) || got[1].EndedAt != store.DBDate(t0.Add(6*time.Hour)) {
		t.Errorf("paused until 18:00: got %+v, want a pause from 16:00 to 18:00", got)
	}
	h.setClock(t0.Add(5 * time.Hour))
	svc.Set("pausedUntil", "")
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	if got := spans(svc.Id); len(got) != 2 || got[1].EndedAt != store.DBDate(t0.Add(5*time.Hour)) {
		t.Errorf("timed pause cleared at 17:00: got %+v", got)
	}
}

// replayCookie is a browser that sends a session cookie copied from another: what an
// attacker holding a stolen or logged-out cookie would do.
func replayCookie(h *harness, ip, value string) *browser {
	b := newBrowser(h, ip)
	b.cookies[dashboard.SessionCookie] = &http.Cookie{Name: dashboard.SessionCookie, Value: value}
	return b
}

// authRefresh posts a token to PocketBase's own auth-refresh route and returns the code.
func (h *harness) authRefresh(collection, token string) int {
	h.t.Helper()
	return h.do("POST", "/api/collections/"+collection+"/auth-refresh", "", "Authorization: "+token).Code
}

// TestDashboardLogoutEndsSession: after logging out, the old cookie opens nothing,
// refreshes into no PocketBase token, and the same person's other sessions go on.
func TestDashboardLogoutEndsSession(t *testing.T) {
	h := newHarness(t)
	h.person("users", "ann@example.com")
	h.service("web-1", "k", nil)
	laptop, phone := newBrowser(h, "10.0.5.1"), newBrowser(h, "10.0.5.2")
	laptop.login("ann@example.com", dashPassword)
	phone.login("ann@example.com", dashPassword)
	old := laptop.cookies[dashboard.SessionCookie].Value
	if res := replayCookie(h, "10.0.5.3", old).send("GET", "/", nil); res.Code != 200 {
		t.Fatalf("the cookie before logout: got %d, want the dashboard", res.Code)
	}
	if code := h.authRefresh("users", old); code == 200 {
		t.Error("the dashboard cookie refreshes into a PocketBase token even before logout")
	}

	res := laptop.send("POST", "/logout", url.Values{"csrf": {csrfOf(t, laptop.send("GET", "/", nil))}}, "Origin: "+dashOrigin)
	if res.Code != 303 || res.Header().Get("Location") != "/login" {
		t.Fatalf("logout: got %d to %q", res.Code, res.Header().Get("Location"))
	}
	replay := replayCookie(h, "10.0.5.3", old)
	if res := replay.send("GET", "/", nil); res.Code != 303 || !strings.HasPrefix(res.Header().Get("Location"), "/login") {
		t.Errorf("the old cookie after logout: got %d to %q, want a redirect to /login", res.Code, res.Header().Get("Location"))
	}
	if res := replay.send("GET", "/services/web-1", nil, "HX-Request: true"); res.Code != 401 || res.Header().Get("HX-Redirect") == "" {
		t.Errorf("the old cookie on an htmx refresh: got %d", res.Code)
	}
	if res := replay.send("GET", "/api/status", nil); res.Code != 401 {
		t.Errorf("the old cookie on /api/status: got %d, want 401", res.Code)
	}
	if code := h.authRefresh("users", old); code != 401 {
		t.Errorf("the old cookie on auth-refresh: got %d, want 401", code)
	}
	if res := phone.send("GET", "/", nil); res.Code != 200 {
		t.Errorf("the other session after logging out of one: got %d, want the dashboard", res.Code)
	}
	if n := h.count("sessions", "idHash = {:v}", dbx.Params{"v": phone.cookies[dashboard.SessionCookie].Value}); n != 0 {
		t.Error("the session id is stored in the clear")
	}
}

// TestDashboardLogoutEverywhere: one button ends every session of the person, and the
// PocketBase tokens they were issued through the API; other people stay logged in.
func TestDashboardLogoutEverywhere(t *testing.T) {
	h := newHarness(t)
	h.person("users", "ann@example.com")
	h.person("users", "bob@example.com")
	laptop, phone, bob := newBrowser(h, "10.0.6.1"), newBrowser(h, "10.0.6.2"), newBrowser(h, "10.0.6.3")
	laptop.login("ann@example.com", dashPassword)
	phone.login("ann@example.com", dashPassword)
	bob.login("bob@example.com", dashPassword)
	phoneCookie := phone.cookies[dashboard.SessionCookie].Value
	res := h.do("POST", "/api/collections/users/auth-with-password", `{"identity":"ann@example.com","password":"`+dashPassword+`"}`, "Content-Type: application/json")
	var auth struct{ Token string }
	if err := json.Unmarshal(res.Body.Bytes(), &auth); err != nil || auth.Token == "" {
		t.Fatalf("auth-with-password: %d %s", res.Code, body(res))
	}
	if code := h.authRefresh("users", auth.Token); code != 200 {
		t.Fatalf("a fresh API token: auth-refresh got %d", code)
	}

	page := laptop.send("GET", "/", nil)
	if !regexp.MustCompile(`<form method="post" action="/logout/everywhere"[^>]*><input type="hidden" name="csrf" value="[^"]+"`).MatchString(body(page)) {
		t.Fatalf("the header has no log-out-everywhere form: %s", body(page))
	}
	tok := csrfOf(t, page)
	for _, c := range []struct {
		name, csrf, origin string
	}{{"no token", "", dashOrigin}, {"cross-site", tok, "https://evil.example"}} {
		if res := laptop.send("POST", "/logout/everywhere", url.Values{"csrf": {c.csrf}}, "Origin: "+c.origin); res.Code != 403 {
			t.Errorf("%s: got %d, want 403", c.name, res.Code)
		}
	}
	if res := phone.send("GET", "/", nil); res.Code != 200 {
		t.Fatal("a refused log-out-everywhere ended a session")
	}

	res = laptop.send("POST", "/logout/everywhere", url.Values{"csrf": {tok}}, "Origin: "+dashOrigin)
	if res.Code != 303 || res.Header().Get("Location") != "/login" {
		t.Fatalf("log out everywhere: got %d to %q", res.Code, res.Header().Get("Location"))
	}
	if _, ok := laptop.cookies[dashboard.SessionCookie]; ok {
		t.Error("the cookie survived")
	}
	if res := replayCookie(h, "10.0.6.2", phoneCookie).send("GET", "/", nil); res.Code != 303 {
		t.Errorf("the phone's session: got %d, want a redirect to /login", res.Code)
	}
	if code := h.authRefresh("users", auth.Token); code != 401 {
		t.Errorf("the API token issued before: auth-refresh got %d, want 401", code)
	}
	if res := bob.send("GET", "/", nil); res.Code != 200 {
		t.Errorf("another person's session: got %d, want the dashboard", res.Code)
	}
	if n := h.count("sessions", "recordRef = (SELECT id FROM users WHERE email = 'ann@example.com')", nil); n != 0 {
		t.Errorf("%d session rows left", n)
	}
	if res := laptop.login("ann@example.com", dashPassword); res.Code != 303 || laptop.send("GET", "/", nil).Code != 200 {
		t.Errorf("logging in again: got %d", res.Code)
	}
}

// TestDashboardSessionEnds: a session ends when it expires and when the password
// changes, and the sessions collection is the server's alone.
func TestDashboardSessionEnds(t *testing.T) {
	h := newHarness(t)
	ann := h.person("users", "ann@example.com")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h.setClock(now)
	b := newBrowser(h, "10.0.7.1")
	b.login("ann@example.com", dashPassword)
	cookie := b.cookies[dashboard.SessionCookie]
	if cookie.MaxAge <= 0 {
		t.Fatalf("the cookie has no lifetime: %+v", cookie)
	}
	h.setClock(now.Add(time.Duration(cookie.MaxAge)*time.Second - time.Minute))
	if res := b.send("GET", "/", nil); res.Code != 200 {
		t.Fatalf("a minute before expiry: got %d", res.Code)
	}
	h.setClock(now.Add(time.Duration(cookie.MaxAge)*time.Second + time.Second))
	if res := b.send("GET", "/", nil); res.Code != 303 {
		t.Errorf("after expiry: got %d, want a redirect to /login", res.Code)
	}

	h.setClock(now)
	b = newBrowser(h, "10.0.7.2")
	b.login("ann@example.com", dashPassword)
	if res := b.send("GET", "/", nil); res.Code != 200 {
		t.Fatalf("logged in again: got %d", res.Code)
	}
	ann.SetPassword("another-long-password-456")
	if err := h.app.Save(ann); err != nil {
		t.Fatal(err)
	}
	if res := b.send("GET", "/", nil); res.Code != 303 {
		t.Errorf("after a password change: got %d, want a redirect to /login", res.Code)
	}

	for _, tok := range []string{h.authToken("users"), ""} {
		if res := h.do("GET", "/api/collections/sessions/records", "", "Authorization: "+tok); res.Code == 200 {
			t.Errorf("the sessions collection is readable without a superuser (token %.8q): %s", tok, body(res))
		}
	}
}
