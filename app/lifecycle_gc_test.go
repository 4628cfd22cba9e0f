package app

import "testing"

// TestGCPercentFor: a fleet of 250,000 services or more runs the collector at 50 unless
// GOGC is set; smaller fleets keep Go's default.
func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		services int
		env      string
		want     int
		set      bool
	}{
		{10_000, "", 0, false},
		{249_999, "", 0, false},
		{250_000, "", 50, true},
		{1_000_000, "", 50, true},
		{1_000_000, "100", 0, false},
		{1_000_000, "off", 0, false},
	} {
		got, set := gcPercentFor(c.services, c.env)
		if got != c.want || set != c.set {
			t.Errorf("gcPercentFor(%d, %q) = %d, %v; want %d, %v", c.services, c.env, got, set, c.want, c.set)
		}
	}
}
