package schedule

import "testing"

// TestDescribe is the sentence the service page shows for a schedule: the common shapes
// in words, anything else as written.
func TestDescribe(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"* * * * *", "every minute"},
		{"*/1 * * * *", "every minute"},
		{"*/15 * * * *", "every 15 minutes"},
		{"5 * * * *", "every hour at minute 5"},
		{"5 */1 * * *", "every hour at minute 5"},
		{"0 */6 * * *", "every 6 hours at minute 0"},
		{"0 3 * * *", "every day at 03:00"},
		{"  30 23 * * *  ", "every day at 23:30"},
		{"0 3,15 * * *", "every day at 03:00 and 15:00"},
		{"0 3 * * 1", "every Monday at 03:00"},
		{"0 3 * * MON", "every Monday at 03:00"},
		{"0 3 * * 7", "every Sunday at 03:00"},
		{"0 3 * * 1,5", "every Monday and Friday at 03:00"},
		{"0 3 * * 0,7", "every Sunday at 03:00"},
		{"0 3 * * 1,3,5", "every Monday, Wednesday and Friday at 03:00"},
		{"30 8 * * 1-5", "every weekday (Monday to Friday) at 08:30"},
		{"0 0 1 * *", "on day 1 of every month at 00:00"},
		{"0 0 1,15 * *", "on days 1 and 15 of every month at 00:00"},
		{"0 6 25 12 *", "every year on 25 December at 06:00"},
		{"@hourly", "every hour at minute 0"},
		{"@daily", "every day at 00:00"},
		{"@midnight", "every day at 00:00"},
		{"@weekly", "every Sunday at 00:00"},
		{"@monthly", "on day 1 of every month at 00:00"},
		{"@yearly", "every year on 1 January at 00:00"},
		{"@ANNUALLY", "every year on 1 January at 00:00"},
		// Shapes without a sentence stay as written.
		{"0 3 1 * 1", "0 3 1 * 1"},
		{"0-30/10 3 * * *", "0-30/10 3 * * *"},
		{"*/7 2-4 * * *", "*/7 2-4 * * *"},
		{"0 3 * 1-6 *", "0 3 * 1-6 *"},
		{"0 3 1 1,7 *", "0 3 1 1,7 *"},
		// Refused expressions too: a page never makes up a sentence for them.
		{"61 * * * *", "61 * * * *"},
		{"@fortnightly", "@fortnightly"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Describe(c.expr); got != c.want {
			t.Errorf("Describe(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}
