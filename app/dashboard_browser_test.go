package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/heartbeat-monitor/heartbeat-monitor/dashboard"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"

	"github.com/heartbeat-monitor/heartbeat-monitor/testtool"
)

// screenshotDir is git-ignored; the README's picture is copied from it by hand.
var screenshotDir = filepath.Join("..", "test-output", "screenshots")

// TestDashboardInBrowser drives the real dashboard in headless Chromium: log in, see
// the overview, post a heartbeat to a service that is down and watch its badge turn up
// without a reload, narrow the list by search, then take screenshots at 1440x900 and
// 375x812 in the light and dark themes.
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromiumPath := testtool.Need(t, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
	h := newHarness(t, func(c *Config) { c.DashboardRefresh = time.Second })
	h.person("users", "ann@example.com")
	now := time.Now().UTC()
	demoServices(t, h, now)
	srv := httptest.NewServer(h.mux)
	defer srv.Close()

	ctx, problems := startChromium(t, chromiumPath, srv.URL, 90*time.Second)

	var status, stayed, url string
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("log in",
		network.Enable(),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.Location(&url),
	)
	if !strings.HasSuffix(url, "/login") {
		t.Errorf("logged out, / went to %s, want /login", url)
	}
	var loginErr string
	run("a wrong password: htmx swaps in the form with the message (a 401)",
		chromedp.SendKeys("#email", "ann@example.com", chromedp.ByID),
		chromedp.SendKeys("#password", "not-the-password", chromedp.ByID),
		chromedp.Click("#login button", chromedp.ByQuery),
		chromedp.WaitVisible("#login-error", chromedp.ByID),
		chromedp.Text("#login-error", &loginErr, chromedp.ByID),
		chromedp.Location(&url),
	)
	if loginErr != dashboard.MsgBadLogin || !strings.HasSuffix(url, "/login") {
		t.Errorf("failed login: got %q at %s, want %q on /login", loginErr, url, dashboard.MsgBadLogin)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var loginPNG []byte
	run("screenshot the failed login", chromedp.CaptureScreenshot(&loginPNG))
	if err := os.WriteFile(filepath.Join(screenshotDir, "login-1440x900-light.png"), loginPNG, 0o644); err != nil {
		t.Fatal(err)
	}
	run("the right password",
		chromedp.SendKeys("#password", dashPassword, chromedp.ByID),
		chromedp.Click("#login button", chromedp.ByQuery),
		chromedp.WaitVisible("#svc-api", chromedp.ByID),
		chromedp.AttributeValue("#svc-api", "data-status", &status, nil, chromedp.ByID),
	)
	if status != "down" {
		t.Fatalf("api before its beat: got %q, want down", status)
	}

	run("mark the page, so a reload would show", chromedp.Evaluate(`window.hbStayed = "yes"`, nil))
	req, err := http.NewRequest("POST", srv.URL+"/api/heartbeat", strings.NewReader(`{"serviceId":"api","message":"back"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer k-api")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("heartbeat: %v %v", res, err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	run("watch the badge turn up",
		chromedp.Poll(`document.querySelector("#svc-api").dataset.status === "up"`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`window.hbStayed || "reloaded"`, &stayed),
	)
	if stayed != "yes" {
		t.Errorf("the page reloaded to show the change (got %q)", stayed)
	}
	var badge string
	run("read the badge", chromedp.Text(`#svc-api td:first-child b`, &badge, chromedp.ByQuery))
	if badge != "Up" {
		t.Errorf("api badge: got %q, want Up", badge)
	}

	var shown int
	run("search narrows the list without a reload",
		chromedp.SendKeys("#q", "payments", chromedp.ByID),
		chromedp.Poll(`document.querySelector("#svc-api") === null`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`document.querySelectorAll("#list tr[data-status]").length`, &shown),
		chromedp.Evaluate(`window.hbStayed || "reloaded"`, &stayed),
	)
	if shown != 1 || stayed != "yes" {
		t.Errorf("search for payments: got %d rows (page kept: %q), want 1 without a reload", shown, stayed)
	}
	run("clear the search",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#svc-api", chromedp.ByID),
	)

	var theme string
	run("the theme toggle is remembered",
		chromedp.Click("#theme", chromedp.ByID),
		chromedp.Reload(),
		chromedp.WaitVisible("#svc-api", chromedp.ByID),
		chromedp.Evaluate(`document.documentElement.dataset.theme || "system"`, &theme),
		chromedp.Evaluate(`localStorage.removeItem("hb-theme"); delete document.documentElement.dataset.theme`, nil),
	)
	if theme != "dark" {
		t.Errorf("after toggling and reloading: got theme %q, want dark", theme)
	}

	// The theme button says what clicking it does, in either theme, after each click,
	// and when the theme comes from the system.
	var labels [4]string
	label := `document.querySelector("#theme .lbl").textContent`
	run("the theme button says what it does",
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#svc-api", chromedp.ByID),
		chromedp.Evaluate(label, &labels[0]),
		chromedp.Click("#theme", chromedp.ByID),
		chromedp.Evaluate(label, &labels[1]),
		chromedp.Click("#theme", chromedp.ByID),
		chromedp.Evaluate(label, &labels[2]),
		chromedp.Evaluate(`localStorage.removeItem("hb-theme")`, nil),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#svc-api", chromedp.ByID),
		chromedp.Evaluate(label, &labels[3]),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
	)
	if want := [4]string{"Dark mode", "Light mode", "Dark mode", "Light mode"}; labels != want {
		t.Errorf("theme button: light system, then two clicks, then a dark system: got %q, want %q", labels, want)
	}

	// The refresh swaps the list and the cards only: the form keeps its node (and any
	// text being typed), and the page stays where it was scrolled to.
	var before, after float64
	var kept bool
	var stamp string
	run("a refresh keeps the scroll position and the rest of the page",
		chromedp.EmulateViewport(375, 812),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#svc-api", chromedp.ByID),
		chromedp.Evaluate(`window.scrollTo(0, 200); document.querySelector("#list").hbOld = 1; document.querySelector("#filters").hbKeep = 1; window.scrollY`, &before),
		chromedp.Poll(`document.querySelector("#list").hbOld === undefined`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`window.scrollY`, &after),
		chromedp.Evaluate(`document.querySelector("#filters").hbKeep === 1`, &kept),
		chromedp.Text("#updated", &stamp, chromedp.ByID),
	)
	if before != 200 || after != before || !kept {
		t.Errorf("after a refresh: scrolled %v then %v, form kept %v; want the same position and the same form", before, after, kept)
	}
	if !strings.HasPrefix(stamp, "Updated ") {
		t.Errorf("the stamp says %q, want Updated ...", stamp)
	}

	for _, shot := range []struct {
		name          string
		width, height int64
		dark          bool
		path          string
	}{
		{"overview-1440x900-light", 1440, 900, false, "/"},
		{"overview-1440x900-dark", 1440, 900, true, "/"},
		{"overview-375x812-light", 375, 812, false, "/"},
		{"overview-375x812-dark", 375, 812, true, "/"},
		{"service-1440x900-light", 1440, 900, false, "/services/search"},
		{"service-375x812-dark-full", 375, 812, true, "/services/payments-db"},
	} {
		scheme := "light"
		if shot.dark {
			scheme = "dark"
		}
		var png []byte
		capture := chromedp.CaptureScreenshot(&png)
		if strings.HasSuffix(shot.name, "-full") {
			capture = chromedp.FullScreenshot(&png, 100) // the whole page, as PNG
		}
		run("screenshot "+shot.name,
			chromedp.EmulateViewport(shot.width, shot.height),
			emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
			chromedp.Navigate(srv.URL+shot.path),
			chromedp.WaitVisible("main", chromedp.ByQuery),
			chromedp.Sleep(300*time.Millisecond), // let the fonts settle before the picture
			capture,
		)
		if err := os.WriteFile(filepath.Join(screenshotDir, shot.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A cron job's page draws its runs: a bar per run, the failed one in its own class.
	var bars, failed int
	var runningBadge string
	run("the runs chart of a cron job",
		chromedp.EmulateViewport(1440, 900),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		chromedp.Navigate(srv.URL+"/services/nightly-backup"),
		chromedp.WaitVisible("#runs-chart", chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#runs-chart rect").length`, &bars),
		chromedp.Evaluate(`document.querySelectorAll("#runs-chart rect.fail").length`, &failed),
		chromedp.Text("#running", &runningBadge, chromedp.ByID),
		chromedp.ScrollIntoView("#runs", chromedp.ByID),
		chromedp.Sleep(300*time.Millisecond), // let the fonts settle before the picture
	)
	if bars != demoRunNights+1 || failed != 1 {
		t.Errorf("runs chart: %d bars, %d failed; want %d (one a night and tonight's) with 1 failed", bars, failed, demoRunNights+1)
	}
	if !strings.HasPrefix(strings.Join(strings.Fields(runningBadge), " "), "Running since ") {
		t.Errorf("running badge: got %q", runningBadge)
	}
	var runsPNG []byte
	run("screenshot the runs", chromedp.CaptureScreenshot(&runsPNG))
	if err := os.WriteFile(filepath.Join(screenshotDir, "service-runs-1440x900-light.png"), runsPNG, 0o644); err != nil {
		t.Fatal(err)
	}

	// On a phone the service page's tables become cards whose cells say what they are,
	// and nothing is wider than the screen, not even inside a scrolling box.
	var fit struct {
		ScrollWidth, InnerWidth int
		Cut, Unlabelled         []string
		Labelled                map[string]int
	}
	run("the service page fits a phone",
		chromedp.EmulateViewport(375, 812),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		chromedp.Navigate(srv.URL+"/services/payments-db"),
		chromedp.WaitVisible("#log table", chromedp.ByQuery),
		chromedp.Evaluate(`(() => {
			const out = {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, cut: [], unlabelled: [], labelled: {}};
			for (const el of document.querySelectorAll("main *")) {
				const r = el.getBoundingClientRect();
				if (r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5)) out.cut.push(el.tagName + "#" + (el.id || el.closest("[id]").id));
				if (el.classList.contains("scroll") && el.scrollWidth > el.clientWidth) out.cut.push("scroll box of #" + el.closest("[id]").id);
			}
			for (const td of document.querySelectorAll("main table td")) {
				if (getComputedStyle(td).display === "none") continue;
				const sec = td.closest("section").id;
				const before = getComputedStyle(td, "::before").content;
				if (!td.dataset.label || before !== JSON.stringify(td.dataset.label)) out.unlabelled.push(sec + ": " + td.textContent.trim().slice(0, 30) + " (" + before + ")");
				else out.labelled[sec] = (out.labelled[sec] || 0) + 1;
			}
			return out;
		})()`, &fit),
	)
	if fit.ScrollWidth > fit.InnerWidth || len(fit.Cut) > 0 {
		t.Errorf("service page at 375 px: document %d px wide in a %d px window; cut off: %v", fit.ScrollWidth, fit.InnerWidth, fit.Cut)
	}
	if len(fit.Unlabelled) > 0 {
		t.Errorf("service page at 375 px: cells without a visible label: %v", fit.Unlabelled)
	}
	for _, sec := range []string{"incidents", "beats", "log"} {
		if fit.Labelled[sec] == 0 {
			t.Errorf("service page at 375 px: no labelled cells in #%s (got %v)", sec, fit.Labelled)
		}
	}
	var phonePNG []byte
	run("screenshot the whole service page on a phone, light", chromedp.FullScreenshot(&phonePNG, 100))
	if err := os.WriteFile(filepath.Join(screenshotDir, "service-375x812-light-full.png"), phonePNG, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, p := range problems() {
		t.Error(p)
	}
}

// demoServices is a small install as the screenshots show it: a few groups, every
// state, and some history for the 90-day bars.
func demoServices(t *testing.T, h *harness, now time.Time) {
	t.Helper()
	type demo struct {
		id, name, group, last, message string
		seen                           time.Duration // ago; 0: never
		paused                         bool
	}
	for _, d := range []demo{
		{"api", "API gateway", "core", "up", "200 OK in 41 ms", 10 * time.Minute, false},
		{"payments-db", "Payments database", "core", "down", "disk /var/lib/postgresql 98% full", 40 * time.Second, false},
		{"auth", "Auth service", "core", "up", "ok", 25 * time.Second, false},
		{"search", "Search indexer", "core", "up", "indexed 12,480 documents", 50 * time.Second, false},
		{"nightly-backup", "Nightly backup", "jobs", "up", "backup finished: 12.4 GiB", 3 * time.Minute, false},
		{"report-builder", "Report builder", "jobs", "degraded", "queue depth 1,204 (slow)", 70 * time.Second, false},
		{"cache-warmer", "Cache warmer", "jobs", "up", "warmed 300 keys", 2 * time.Hour, true},
		{"legacy-ftp", "Legacy FTP sync", "", "", "", 0, false},
	} {
		fields := map[string]any{"name": d.name, "group": d.group, "paused": d.paused}
		if d.id == "nightly-backup" { // a cron job, with runs
			fields["pingId"], fields["schedule"], fields["timezone"], fields["maxRuntime"] = demoPingID, "0 2 * * *", "Europe/Riga", 7200
		}
		h.service(d.id, "k-"+d.id, fields)
		h.setCreated(d.id, now.AddDate(0, 0, -120))
		if d.seen > 0 {
			setState(t, h.app.DB(), d.id, dbx.Params{"lastSeen": store.DBDate(now.Add(-d.seen)), "lastStatus": d.last, "lastMessage": d.message})
		}
	}
	h.setCreated("legacy-ftp", now.AddDate(0, 0, -2))
	h.setCreated("report-builder", now.AddDate(0, 0, -35))
	// Those heard from have been since they were created: uptime counts from firstSeen.
	if _, err := h.app.DB().NewQuery("UPDATE service_states SET firstSeen = (SELECT created FROM services s WHERE s.id = service_states.id) WHERE lastSeen != ''").Execute(); err != nil {
		t.Fatal(err)
	}
	h.s.alerts.StartedAt = now.AddDate(0, 0, -1) // the monitor has run all along: no restart grace
	h.reloadEngine()
	ids := map[string]string{}
	var rows []struct {
		ID  string `db:"id"`
		SID string `db:"serviceId"`
	}
	if err := h.app.DB().NewQuery("SELECT id, serviceId FROM services").All(&rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		ids[r.SID] = r.ID
	}
	past := func(sid, status string, daysAgo int, hour int, d time.Duration) {
		start := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC).AddDate(0, 0, -daysAgo)
		h.addIncident(ids[sid], status, start, start.Add(d))
	}
	past("search", "down", 61, 3, 47*time.Minute)
	past("search", "down", 23, 14, 6*time.Minute)
	past("search", "degraded", 9, 9, 3*time.Hour)
	past("api", "down", 40, 22, 4*time.Hour)
	past("payments-db", "down", 12, 1, 18*time.Minute)
	past("nightly-backup", "down", 5, 2, 2*time.Hour)

	// payments-db has recent beats (long messages, metadata) and a staleness log, so its
	// page shows every table.
	var beats [][]any
	for i := range 6 {
		at := now.Add(-time.Duration(40+i*120) * time.Second)
		status, msg := "down", "disk /var/lib/postgresql 98% full; autovacuum cannot keep up with table payments_ledger_2026"
		if i > 2 {
			status, msg = "up", "ok"
		}
		beats = append(beats, []any{fmt.Sprintf("demobeat%07d", i), ids["payments-db"], status, msg,
			`{"disk":{"used":"98%","mount":"/var/lib/postgresql"},"replicas":2}`, "10.20.30.40", "heartbeat.sh/1.0", store.DBDate(at)})
	}
	if err := store.InsertRows(h.app.DB(), "heartbeats", []string{"id", "service", "status", "message", "metadata", "sourceIp", "userAgent", "created"}, beats); err != nil {
		t.Fatal(err)
	}
	demoRuns(t, h, ids["nightly-backup"], now)
	for range 2 {
		if err := h.s.alerts.CheckStaleness(now); err != nil {
			t.Fatal(err)
		}
	}
}

// demoPingID is the nightly backup's ping URL.
const demoPingID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

// demoRunNights is how many finished runs the nightly backup has; a run that is still
// going makes one bar more.
const demoRunNights = 12

// demoRuns gives the nightly backup a run a night for demoRunNights nights, 20 to 40
// minutes each, one of them failed with exit status 1, and starts tonight's run.
func demoRuns(t *testing.T, h *harness, recordID string, now time.Time) {
	t.Helper()
	var rows [][]any
	for i := range demoRunNights {
		start := now.Add(-time.Duration(demoRunNights-i)*24*time.Hour - time.Hour)
		end := start.Add(time.Duration(20+(i*7)%21) * time.Minute)
		rid := fmt.Sprintf("%08d-0000-4000-8000-%012d", i, i)
		status, exit := "up", 0
		if i == 8 {
			status, exit = "down", 1
		}
		rows = append(rows,
			[]any{fmt.Sprintf("demorun%07ds", i), recordID, "", "start", 0, rid, "", "", store.DBDate(start)},
			[]any{fmt.Sprintf("demorun%07de", i), recordID, status, "exit", exit, rid, "copied 12.4 GiB\nsnapshot ok", store.DBDate(start), store.DBDate(end)})
	}
	if err := store.InsertRows(h.app.DB(), "heartbeats", []string{"id", "service", "status", "kind", "exitStatus", "rid", "body", "started", "created"}, rows); err != nil {
		t.Fatal(err)
	}
	if res := h.do("GET", "/ping/"+demoPingID+"/start?rid=ffffffff-0000-4000-8000-000000000000", ""); res.Code != 200 {
		t.Fatalf("start tonight's run: %d %s", res.Code, body(res))
	}
}

// startChromium starts headless Chromium (Debian's, with the flags this machine needs) and
// a tab, for at most timeout. problems then lists what went wrong in the page: a request
// to anything but base (no CDN, no font service), a script exception (a CSP violation of
// ours would be one), a console error.
func startChromium(t *testing.T, path, base string, timeout time.Duration) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1440, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; !strings.HasPrefix(u, base) && !strings.HasPrefix(u, "data:") {
				problems = append(problems, "external request: "+u)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				problems = append(problems, "console error")
			}
		}
	})
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(problems)
	}
}
