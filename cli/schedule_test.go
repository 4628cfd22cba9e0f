package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runSchedule runs the schedule command line in-process as the binary would.
func runSchedule(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := &cobra.Command{Use: "heartbeat-monitor"}
	now := func() time.Time { return time.Date(2026, 11, 1, 5, 50, 0, 0, time.UTC) }
	root.AddCommand(newScheduleCommand(now))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(""))
	code = execute(root, append([]string{"schedule"}, args...), &errOut)
	return code, out.String(), errOut.String()
}

func TestScheduleCommandPrintsFireTimes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"fixed time in the spring gap runs when it ends", []string{"30 2 * * *", "--tz", "America/New_York", "--after", "2026-03-07T00:00:00Z", "-n", "3"},
			"2026-03-07T02:30:00-05:00\n" + "2026-03-08T03:00:00-04:00\n" + "2026-03-09T02:30:00-04:00\n"},
		{"wall-clock job in the repeated hour fires twice", []string{"*/20 * * * *", "--tz", "America/New_York", "-n", "6"},
			// now is 01:50 EDT on the fall-back day
			"2026-11-01T01:00:00-05:00\n" + "2026-11-01T01:20:00-05:00\n" + "2026-11-01T01:40:00-05:00\n" + "2026-11-01T02:00:00-05:00\n" + "2026-11-01T02:20:00-05:00\n" + "2026-11-01T02:40:00-05:00\n"},
		{"default is five in UTC", []string{"@daily"},
			"2026-11-02T00:00:00Z\n2026-11-03T00:00:00Z\n2026-11-04T00:00:00Z\n2026-11-05T00:00:00Z\n2026-11-06T00:00:00Z\n"},
		{"Riga fall back: fixed once, first occurrence", []string{"30 3 * * *", "--tz", "Europe/Riga", "--after", "2026-10-24T12:00:00Z", "-n", "2"},
			"2026-10-25T03:30:00+03:00\n2026-10-26T03:30:00+02:00\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runSchedule(t, tc.args...)
			if code != exitOK || out != tc.want || errOut != "" {
				t.Errorf("exit %d, stdout:\n%s\nstderr: %s\nwant exit 0, stdout:\n%s", code, out, errOut, tc.want)
			}
		})
	}
}

func TestScheduleCommandRefuses(t *testing.T) {
	cases := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"0 24 * * *"}, exitUsage, "heartbeat-monitor schedule: hour: 24 is out of range 0-23\n"},
		{[]string{"0 0 * * 8"}, exitUsage, "heartbeat-monitor schedule: day-of-week: 8 is out of range 0-7\n"},
		{[]string{"@daily", "--tz", "Mars/Olympus_Mons"}, exitUsage, "heartbeat-monitor schedule: --tz: unknown time zone \"Mars/Olympus_Mons\"\n"},
		{[]string{"@daily", "--after", "yesterday"}, exitUsage, "heartbeat-monitor schedule: --after: \"yesterday\" is not an RFC 3339 time (like 2026-03-08T00:00:00Z)\n"},
		{[]string{"@daily", "-n", "0"}, exitUsage, "heartbeat-monitor schedule: -n: 0 is not a positive number\n"},
		{[]string{"0 0 30 2 *"}, exitFailed, "heartbeat-monitor schedule: \"0 0 30 2 *\" never fires\n"},
	}
	for _, tc := range cases {
		code, out, errOut := runSchedule(t, tc.args...)
		if code != tc.code || out != "" || errOut != tc.wantErr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tc.args, code, out, errOut, tc.code, tc.wantErr)
		}
	}
}
