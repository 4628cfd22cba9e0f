package views

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestHeaderCanaryBanner: the header warns, as an alert, while notifications are
// failing, and says nothing otherwise.
func TestHeaderCanaryBanner(t *testing.T) {
	quiet := doc(t, LogoutPage(Chrome{Title: "Log out", User: "me@example.com", CSRF: "tok"}))
	if hasID(quiet, "canary") {
		t.Fatalf("got a canary banner with no canary raised")
	}
	d := doc(t, LogoutPage(Chrome{Title: "Log out", User: "me@example.com", CSRF: "tok", Canary: "Failing: Pager <b>."}))
	banner := byID(t, d, "canary")
	if role, _ := attr(banner, "role"); role != "alert" {
		t.Errorf("banner role %q, want alert", role)
	}
	header := all(d, func(n *html.Node) bool { return n.Data == "header" && hasClass(n, "top") })
	if len(header) != 1 || !hasID(header[0], "canary") {
		t.Errorf("the banner is not in the page's header")
	}
	if got := text(banner); !strings.Contains(got, "Notifications are failing.") || !strings.Contains(got, "Failing: Pager <b>.") {
		t.Errorf("banner text %q", got)
	}
}
