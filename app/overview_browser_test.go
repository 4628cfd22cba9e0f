package app

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heartbeat-monitor/heartbeat-monitor/testtool"
)

// TestDashboardInBrowserPaging pages through the overview of 130 services in headless
// Chromium: Next and Previous swap the list without a reload, the address bar follows,
// and the refresh keeps the page shown.
func TestDashboardInBrowserPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromiumPath := testtool.Need(t, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
	h, _ := pagingHarness(t, func(c *Config) { c.DashboardRefresh = time.Second })
	srv := httptest.NewServer(h.mux)
	defer srv.Close()

	ctx, problems := startChromium(t, chromiumPath, srv.URL, 60*time.Second)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	const shown = `document.querySelector('#list nav [aria-current="page"]').textContent`
	wait := func(rng string) chromedp.Action {
		return chromedp.Poll(shown+` === "`+rng+`"`, nil, chromedp.WithPollingTimeout(10*time.Second))
	}

	var rows int
	var url, stayed string
	run("log in and see page 1",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", "ann@example.com", chromedp.ByID),
		chromedp.SendKeys("#password", dashPassword, chromedp.ByID),
		chromedp.Click("#login button", chromedp.ByQuery),
		chromedp.WaitVisible(`#list nav[aria-label="Pages"]`, chromedp.ByQuery),
		wait("1–50 of 130"),
		chromedp.Evaluate(`document.querySelectorAll("#list tr[data-status]").length`, &rows),
		chromedp.Evaluate(`window.hbStayed = "yes"`, nil),
	)
	if rows != 50 {
		t.Errorf("page 1: %d rows, want 50", rows)
	}
	run("Next swaps in page 2",
		chromedp.Click(`#list a[rel="next"]`, chromedp.ByQuery),
		wait("51–100 of 130"),
		chromedp.Location(&url),
		chromedp.Evaluate(`window.hbStayed || "reloaded"`, &stayed),
	)
	if !strings.HasSuffix(url, "/?page=2") || stayed != "yes" {
		t.Errorf("after Next: at %s (page kept: %q), want /?page=2 without a reload", url, stayed)
	}
	run("a refresh keeps page 2",
		chromedp.Evaluate(`document.querySelector("#list").hbOld = 1`, nil),
		chromedp.Poll(`document.querySelector("#list").hbOld === undefined`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		wait("51–100 of 130"),
	)
	run("Previous goes back to page 1",
		chromedp.Click(`#list a[rel="prev"]`, chromedp.ByQuery),
		wait("1–50 of 130"),
		chromedp.Location(&url),
		chromedp.Evaluate(`window.hbStayed || "reloaded"`, &stayed),
	)
	if !strings.HasSuffix(url, srv.URL[len("http://"):]+"/") || stayed != "yes" {
		t.Errorf("after Previous: at %s (page kept: %q), want / without a reload", url, stayed)
	}

	for _, p := range problems() {
		t.Error(p)
	}
}
