package dashboard

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

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/views"
	"github.com/pocketbase/pocketbase/core"
	"golang.org/x/crypto/bcrypt"
)

const (
	// SessionCookie holds the id of the dashboard session (see sessions.go),
	// never a PocketBase token. It is read by the dashboard routes and our read routes
	// only; PocketBase's own API never looks at cookies.
	SessionCookie    = "hb_session"
	maxSessionCookie = 64
	// LoginCookie is a random nonce the login form's CSRF token is bound to, as there is
	// no session yet to bind it to.
	LoginCookie = "hb_login"

	// LoginAttemptsPerMinute bounds password guessing per client IP (a burst of that
	// many, then one every 60/n seconds).
	LoginAttemptsPerMinute = 10
	maxEmailLen            = 254
	maxPasswordLen         = 256
	// MaxFormBytes bounds the body of the dashboard's forms.
	MaxFormBytes = 16 << 10

	// MsgBadLogin, MsgTooMany and MsgExpired are what the login form says when a
	// credential is wrong, the client tried too often, or the form's CSRF check failed.
	MsgBadLogin  = "Wrong email or password."
	MsgTooMany   = "Too many login attempts from your address. Wait a minute and try again."
	MsgExpired   = "This form has expired or was sent from another site. Please try again."
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
func (d *Dashboard) sessionRecord(e *core.RequestEvent) (*core.Record, string) {
	c, err := e.Request.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > maxSessionCookie {
		return nil, ""
	}
	rec, err := d.findSession(c.Value, d.Now())
	if err != nil {
		d.App.Logger().Error("dashboard session", "error", err)
		return nil, ""
	}
	if rec == nil || !(rec.IsSuperuser() || rec.Collection().Name == "users") {
		return nil, ""
	}
	return rec, c.Value
}

// HasSession reports whether the request carries a live dashboard session (the read
// API accepts one too).
func (d *Dashboard) HasSession(e *core.RequestEvent) bool {
	rec, _ := d.sessionRecord(e)
	return rec != nil
}

// RequireSession lets logged-in people through and sends everyone else to /login;
// an htmx request gets HX-Redirect, as htmx would swap a 302's target into the page.
func (d *Dashboard) RequireSession(e *core.RequestEvent) error {
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

func (d *Dashboard) setCookie(e *core.RequestEvent, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: secureCookies(e), SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	e.SetCookie(c)
}

// LoginGet is GET /login.
func (d *Dashboard) LoginGet(e *core.RequestEvent) error {
	next := safeNext(e.Request.URL.Query().Get("next"))
	if rec, _ := d.sessionRecord(e); rec != nil {
		return e.Redirect(http.StatusSeeOther, next)
	}
	return d.loginForm(e, http.StatusOK, "", next, "")
}

// loginForm answers with the login form (the whole page, or the form alone for htmx),
// with a fresh CSRF token bound to the login nonce cookie.
func (d *Dashboard) loginForm(e *core.RequestEvent, status int, email, next, msg string) error {
	nonce := ""
	if c, err := e.Request.Cookie(LoginCookie); err == nil && len(c.Value) == 22 {
		nonce = c.Value
	} else {
		nonce = randomToken()
		d.setCookie(e, LoginCookie, nonce, "/login", csrfTTL)
	}
	tok, err := newCSRF(d.key, csrfBinding("login", nonce), d.Now())
	if err != nil {
		return e.InternalServerError("", err)
	}
	// What the visitor typed comes back into the form: cleaned like every text a page
	// shows, so no page carries NUL or invalid UTF-8.
	f := views.Login{Email: monitor.CleanText(email), Next: monitor.CleanText(next), CSRF: tok, Error: msg}
	if isHTMX(e) {
		return render(e, status, views.LoginForm(f))
	}
	return render(e, status, views.LoginPage(f))
}

// LoginPost is POST /login: rate limit, CSRF, then the password. Every refusal of a
// credential says the same thing, whether or not the email has an account.
func (d *Dashboard) LoginPost(e *core.RequestEvent) error {
	now := d.Now()
	if ok, wait := d.logins.Allow(e.RealIP(), 1, now); !ok {
		e.Response.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return d.loginForm(e, http.StatusTooManyRequests, "", "/", MsgTooMany)
	}
	if err := e.Request.ParseForm(); err != nil {
		return d.loginForm(e, http.StatusBadRequest, "", "/", MsgExpired)
	}
	form := e.Request.PostForm
	email, password, next := strings.TrimSpace(form.Get("email")), form.Get("password"), safeNext(form.Get("next"))
	if len(email) > maxEmailLen {
		email = ""
	}
	nonce := ""
	if c, err := e.Request.Cookie(LoginCookie); err == nil {
		nonce = c.Value
	}
	if !sameOrigin(e.Request) || nonce == "" || !checkCSRF(d.key, form.Get("csrf"), csrfBinding("login", nonce), now) {
		return d.loginForm(e, http.StatusForbidden, email, next, MsgExpired)
	}
	rec := d.authenticate(email, password)
	if rec == nil {
		return d.loginForm(e, http.StatusUnauthorized, email, next, MsgBadLogin)
	}
	if msg := d.mayLogIn(e, rec); msg != "" {
		return d.loginForm(e, http.StatusForbidden, email, next, msg)
	}
	id, ttl, err := d.startSession(e, rec, now)
	if err != nil {
		return e.InternalServerError("", err)
	}
	d.setCookie(e, SessionCookie, id, "/", ttl)
	d.setCookie(e, LoginCookie, "", "/login", -1)
	if isHTMX(e) {
		e.Response.Header().Set("HX-Redirect", next)
		return e.NoContent(http.StatusOK)
	}
	return e.Redirect(http.StatusSeeOther, next)
}

// authenticate returns the users record, or else the superuser, with this email and
// password, or nil. It costs one bcrypt comparison whether or not the email exists.
func (d *Dashboard) authenticate(email, password string) *core.Record {
	if email == "" || password == "" || len(password) > maxPasswordLen {
		spendBcrypt(password)
		return nil
	}
	found := false
	for _, col := range []string{"users", core.CollectionNameSuperusers} {
		rec, err := d.App.FindAuthRecordByEmail(col, email)
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
func (d *Dashboard) mayLogIn(e *core.RequestEvent, rec *core.Record) string {
	col := rec.Collection()
	if col.MFA.Enabled {
		return msgNoMFA
	}
	if !col.PasswordAuth.Enabled || col.AuthRule == nil {
		return msgForbidden
	}
	if rec.IsSuperuser() {
		if ips := d.App.Settings().SuperuserIPs; len(ips) > 0 && !ipAllowed(ips, e.RealIP()) {
			return msgForbidden
		}
	}
	info, err := e.RequestInfo()
	if err != nil {
		return msgForbidden
	}
	if ok, _ := d.App.CanAccessRecord(rec, info, col.AuthRule); !ok {
		return msgForbidden
	}
	return ""
}

// LogoutGet is GET /logout: a page with the button, since logging out is a POST.
func (d *Dashboard) LogoutGet(e *core.RequestEvent) error {
	c, err := d.chrome(e, "Log out")
	if err != nil {
		return e.InternalServerError("", err)
	}
	return render(e, http.StatusOK, views.LogoutPage(c))
}

// LogoutPost is POST /logout: end this session (the person's others go on), drop the
// cookie and go to the login page.
func (d *Dashboard) LogoutPost(e *core.RequestEvent) error {
	if err := e.Request.ParseForm(); err != nil || !d.validForm(e) {
		return d.formExpired(e)
	}
	id, _ := e.Get(sessionTokenKey).(string)
	if err := d.endSession(id); err != nil {
		return e.InternalServerError("", err)
	}
	return loggedOut(e, d)
}

// LogoutEverywherePost is POST /logout/everywhere: end every session of the person,
// and every PocketBase token they hold (by rotating their tokenKey).
func (d *Dashboard) LogoutEverywherePost(e *core.RequestEvent) error {
	if err := e.Request.ParseForm(); err != nil || !d.validForm(e) {
		return d.formExpired(e)
	}
	if err := d.endAllSessions(e.Auth); err != nil {
		return e.InternalServerError("", err)
	}
	return loggedOut(e, d)
}

// loggedOut drops the cookie and sends the browser to the login page.
func loggedOut(e *core.RequestEvent, d *Dashboard) error {
	d.setCookie(e, SessionCookie, "", "/", -1)
	if isHTMX(e) {
		e.Response.Header().Set("HX-Redirect", "/login")
		return e.NoContent(http.StatusOK)
	}
	return e.Redirect(http.StatusSeeOther, "/login")
}

// validForm checks a POST of a logged-in person: same origin and a CSRF token bound to
// their session.
func (d *Dashboard) validForm(e *core.RequestEvent) bool {
	tok, _ := e.Get(sessionTokenKey).(string)
	return sameOrigin(e.Request) && checkCSRF(d.key, e.Request.PostForm.Get("csrf"), csrfBinding("session", tok), d.Now())
}

func (d *Dashboard) formExpired(e *core.RequestEvent) error {
	c, err := d.chrome(e, "Form expired")
	if err != nil {
		return e.InternalServerError("", err)
	}
	return render(e, http.StatusForbidden, views.ErrorPage(c, "This form has expired", "It was open too long or was sent from another site. Go back, reload the page and try again."))
}

// chrome is the page frame for the person logged in, with a CSRF token for their session.
func (d *Dashboard) chrome(e *core.RequestEvent, title string) (views.Chrome, error) {
	tok, _ := e.Get(sessionTokenKey).(string)
	csrf, err := newCSRF(d.key, csrfBinding("session", tok), d.Now())
	if err != nil {
		return views.Chrome{}, err
	}
	user := ""
	if e.Auth != nil {
		user = e.Auth.Email()
	}
	c := views.Chrome{Title: title, User: user, CSRF: csrf, Refresh: d.Refresh}
	if d.Canary != nil {
		c.Canary = d.Canary()
	}
	return c, nil
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
