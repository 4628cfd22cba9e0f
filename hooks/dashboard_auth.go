package hooks

import (
	"crypto/rand"
	"encoding/base64"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/views"
	"github.com/pocketbase/pocketbase/core"
	"golang.org/x/crypto/bcrypt"
)

const (
	// sessionCookie holds the id of the dashboard session (see dashboard_sessions.go),
	// never a PocketBase token. It is read by the dashboard routes and our read routes
	// only; PocketBase's own API never looks at cookies.
	sessionCookie    = "hb_session"
	maxSessionCookie = 64
	// loginCookie is a random nonce the login form's CSRF token is bound to, as there is
	// no session yet to bind it to.
	loginCookie = "hb_login"

	// loginAttemptsPerMinute bounds password guessing per client IP (a burst of that
	// many, then one every 60/n seconds).
	loginAttemptsPerMinute = 10
	maxEmailLen            = 254
	maxPasswordLen         = 256
	maxFormBytes           = 16 << 10

	msgBadLogin  = "Wrong email or password."
	msgTooMany   = "Too many login attempts from your address. Wait a minute and try again."
	msgExpired   = "This form has expired or was sent from another site. Please try again."
	msgNoMFA     = "This account must log in with multi-factor authentication, which the dashboard does not offer. Use the admin UI."
	msgForbidden = "This account may not log in here."
)

// dummyHash is compared against when no account has the email, so a wrong email costs
// as much time as a wrong password and timing does not tell whether an account exists.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("no account has this password"), bcrypt.DefaultCost)
	if err != nil {
		panic(err) // bcrypt only fails on a cost out of range or a password over 72 bytes
	}
	return h
})

// sessionRecord is the person logged in with the dashboard cookie (a users record or a
// superuser) and their session id, or nil when the session has ended or never was.
func (s *server) sessionRecord(e *core.RequestEvent) (*core.Record, string) {
	c, err := e.Request.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > maxSessionCookie {
		return nil, ""
	}
	rec, err := s.findSession(c.Value, s.now())
	if err != nil {
		s.app.Logger().Error("dashboard session", "error", err)
		return nil, ""
	}
	if rec == nil || !(rec.IsSuperuser() || rec.Collection().Name == "users") {
		return nil, ""
	}
	return rec, c.Value
}

// requireSession lets logged-in people through and sends everyone else to /login;
// an htmx request gets HX-Redirect, as htmx would swap a 302's target into the page.
func (d *dashboard) requireSession(e *core.RequestEvent) error {
	rec, tok := d.sessionRecord(e)
	if rec == nil {
		return toLogin(e)
	}
	e.Auth = rec
	e.Set(sessionTokenKey, tok)
	return e.Next()
}

const sessionTokenKey = "hbSessionToken"

func toLogin(e *core.RequestEvent) error {
	next := "/"
	if isHTMX(e) {
		if u, err := url.Parse(e.Request.Header.Get("HX-Current-URL")); err == nil {
			next = safeNext(u.RequestURI())
		}
		e.Response.Header().Set("HX-Redirect", loginURL(next))
		return e.NoContent(http.StatusUnauthorized)
	}
	if e.Request.Method == http.MethodGet {
		next = safeNext(e.Request.URL.RequestURI())
	}
	return e.Redirect(http.StatusSeeOther, loginURL(next))
}

func loginURL(next string) string {
	if next == "/" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(next)
}

// safeNext keeps a post-login destination on this site: a path, never "//host" or
// "/\host" (both leave the site in browsers), never control characters.
func safeNext(next string) string {
	if next == "" || len(next) > 1024 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	return next
}

func isHTMX(e *core.RequestEvent) bool { return e.Request.Header.Get("HX-Request") == "true" }

// secureCookies reports whether cookies should be Secure: served over TLS, directly or
// behind a proxy that says so.
func secureCookies(e *core.RequestEvent) bool {
	return e.IsTLS() || strings.EqualFold(e.Request.Header.Get("X-Forwarded-Proto"), "https")
}

func (d *dashboard) setCookie(e *core.RequestEvent, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: secureCookies(e), SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	e.SetCookie(c)
}

// loginGet is GET /login.
func (d *dashboard) loginGet(e *core.RequestEvent) error {
	next := safeNext(e.Request.URL.Query().Get("next"))
	if rec, _ := d.sessionRecord(e); rec != nil {
		return e.Redirect(http.StatusSeeOther, next)
	}
	return d.loginForm(e, http.StatusOK, "", next, "")
}

// loginForm answers with the login form (the whole page, or the form alone for htmx),
// with a fresh CSRF token bound to the login nonce cookie.
func (d *dashboard) loginForm(e *core.RequestEvent, status int, email, next, msg string) error {
	nonce := ""
	if c, err := e.Request.Cookie(loginCookie); err == nil && len(c.Value) == 22 {
		nonce = c.Value
	} else {
		nonce = randomToken()
		d.setCookie(e, loginCookie, nonce, "/login", csrfTTL)
	}
	tok, err := newCSRF(d.key, csrfBinding("login", nonce), d.now())
	if err != nil {
		return e.InternalServerError("", err)
	}
	f := views.Login{Email: email, Next: next, CSRF: tok, Error: msg}
	if isHTMX(e) {
		return render(e, status, views.LoginForm(f))
	}
	return render(e, status, views.LoginPage(f))
}

// loginPost is POST /login: rate limit, CSRF, then the password. Every refusal of a
// credential says the same thing, whether or not the email has an account.
func (d *dashboard) loginPost(e *core.RequestEvent) error {
	now := d.now()
	if ok, wait := d.logins.Allow(e.RealIP(), 1, now); !ok {
		e.Response.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return d.loginForm(e, http.StatusTooManyRequests, "", "/", msgTooMany)
	}
	if err := e.Request.ParseForm(); err != nil {
		return d.loginForm(e, http.StatusBadRequest, "", "/", msgExpired)
	}
	form := e.Request.PostForm
	email, password, next := strings.TrimSpace(form.Get("email")), form.Get("password"), safeNext(form.Get("next"))
	if len(email) > maxEmailLen {
		email = ""
	}
	nonce := ""
	if c, err := e.Request.Cookie(loginCookie); err == nil {
		nonce = c.Value
	}
	if !sameOrigin(e.Request) || nonce == "" || !checkCSRF(d.key, form.Get("csrf"), csrfBinding("login", nonce), now) {
		return d.loginForm(e, http.StatusForbidden, email, next, msgExpired)
	}
	rec := d.authenticate(email, password)
	if rec == nil {
		return d.loginForm(e, http.StatusUnauthorized, email, next, msgBadLogin)
	}
	if msg := d.mayLogIn(e, rec); msg != "" {
		return d.loginForm(e, http.StatusForbidden, email, next, msg)
	}
	id, ttl, err := d.startSession(e, rec, now)
	if err != nil {
		return e.InternalServerError("", err)
	}
	d.setCookie(e, sessionCookie, id, "/", ttl)
	d.setCookie(e, loginCookie, "", "/login", -1)
	if isHTMX(e) {
		e.Response.Header().Set("HX-Redirect", next)
		return e.NoContent(http.StatusOK)
	}
	return e.Redirect(http.StatusSeeOther, next)
}

// authenticate returns the users record, or else the superuser, with this email and
// password, or nil. It costs one bcrypt comparison whether or not the email exists.
func (d *dashboard) authenticate(email, password string) *core.Record {
	if email == "" || password == "" || len(password) > maxPasswordLen {
		spendBcrypt(password)
		return nil
	}
	found := false
	for _, col := range []string{"users", core.CollectionNameSuperusers} {
		rec, err := d.app.FindAuthRecordByEmail(col, email)
		if err != nil {
			continue
		}
		found = true
		if rec.ValidatePassword(password) {
			return rec
		}
	}
	if !found {
		spendBcrypt(password)
	}
	return nil
}

// mayLogIn applies what PocketBase's own password login would: the collection allows
// password login and its auth rule passes, the superuser IP allow-list, and no MFA
// (which the dashboard does not offer). It returns the refusal, or "".
func (d *dashboard) mayLogIn(e *core.RequestEvent, rec *core.Record) string {
	col := rec.Collection()
	if col.MFA.Enabled {
		return msgNoMFA
	}
	if !col.PasswordAuth.Enabled || col.AuthRule == nil {
		return msgForbidden
	}
	if rec.IsSuperuser() {
		if ips := d.app.Settings().SuperuserIPs; len(ips) > 0 && !ipAllowed(ips, e.RealIP()) {
			return msgForbidden
		}
	}
	info, err := e.RequestInfo()
	if err != nil {
		return msgForbidden
	}
	if ok, _ := d.app.CanAccessRecord(rec, info, col.AuthRule); !ok {
		return msgForbidden
	}
	return ""
}

// logoutGet is GET /logout: a page with the button, since logging out is a POST.
func (d *dashboard) logoutGet(e *core.RequestEvent) error {
	c, err := d.chrome(e, "Log out")
	if err != nil {
		return e.InternalServerError("", err)
	}
	return render(e, http.StatusOK, views.LogoutPage(c))
}

// logoutPost is POST /logout: end this session (the person's others go on), drop the
// cookie and go to the login page.
func (d *dashboard) logoutPost(e *core.RequestEvent) error {
	if err := e.Request.ParseForm(); err != nil || !d.validForm(e) {
		return d.formExpired(e)
	}
	id, _ := e.Get(sessionTokenKey).(string)
	if err := d.endSession(id); err != nil {
		return e.InternalServerError("", err)
	}
	return loggedOut(e, d)
}

// logoutEverywherePost is POST /logout/everywhere: end every session of the person,
// and every PocketBase token they hold (by rotating their tokenKey).
func (d *dashboard) logoutEverywherePost(e *core.RequestEvent) error {
	if err := e.Request.ParseForm(); err != nil || !d.validForm(e) {
		return d.formExpired(e)
	}
	if err := d.endAllSessions(e.Auth); err != nil {
		return e.InternalServerError("", err)
	}
	return loggedOut(e, d)
}

// loggedOut drops the cookie and sends the browser to the login page.
func loggedOut(e *core.RequestEvent, d *dashboard) error {
	d.setCookie(e, sessionCookie, "", "/", -1)
	if isHTMX(e) {
		e.Response.Header().Set("HX-Redirect", "/login")
		return e.NoContent(http.StatusOK)
	}
	return e.Redirect(http.StatusSeeOther, "/login")
}

// validForm checks a POST of a logged-in person: same origin and a CSRF token bound to
// their session.
func (d *dashboard) validForm(e *core.RequestEvent) bool {
	tok, _ := e.Get(sessionTokenKey).(string)
	return sameOrigin(e.Request) && checkCSRF(d.key, e.Request.PostForm.Get("csrf"), csrfBinding("session", tok), d.now())
}

func (d *dashboard) formExpired(e *core.RequestEvent) error {
	c, err := d.chrome(e, "Form expired")
	if err != nil {
		return e.InternalServerError("", err)
	}
	return render(e, http.StatusForbidden, views.ErrorPage(c, "This form has expired", "It was open too long or was sent from another site. Go back, reload the page and try again."))
}

// chrome is the page frame for the person logged in, with a CSRF token for their session.
func (d *dashboard) chrome(e *core.RequestEvent, title string) (views.Chrome, error) {
	tok, _ := e.Get(sessionTokenKey).(string)
	csrf, err := newCSRF(d.key, csrfBinding("session", tok), d.now())
	if err != nil {
		return views.Chrome{}, err
	}
	user := ""
	if e.Auth != nil {
		user = e.Auth.Email()
	}
	return views.Chrome{Title: title, User: user, CSRF: csrf, Refresh: d.cfg.DashboardRefresh}, nil
}

// spendBcrypt takes as long as checking a password; its answer means nothing.
func spendBcrypt(password string) bool {
	if len(password) > 72 {
		password = password[:72]
	}
	return bcrypt.CompareHashAndPassword(dummyHash(), []byte(password)) == nil
}

// ipAllowed reports whether ip is in list (addresses or CIDR ranges), like PocketBase's
// superuser IP allow-list.
func ipAllowed(list []string, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, entry := range list {
		if p, err := netip.ParsePrefix(entry); err == nil && p.Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(entry); err == nil && a == addr {
			return true
		}
	}
	return false
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b) // 22 characters
}
