package dashboard

import "testing"

// TestDashboardLogin's other cases go through the whole app (app/dashboard_test.go).
func TestDashboardLogin(t *testing.T) {
	t.Run("next never leaves the site", func(t *testing.T) {
		for _, next := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/ok\r\nSet-Cookie: x"} {
			if got := safeNext(next); got != "/" {
				t.Errorf("safeNext(%q): got %q, want /", next, got)
			}
		}
		if got := safeNext("/services/a?page=2"); got != "/services/a?page=2" {
			t.Errorf("safeNext of a local path: got %q", got)
		}
	})
}
