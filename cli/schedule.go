package cli

import (
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/schedule"
	"github.com/spf13/cobra"
)

// scheduleOptions are schedule's flags.
type scheduleOptions struct {
	tz    string
	after string
	n     int
}

// newScheduleCommand builds `schedule`, which prints an expression's next fire times so a
// user can check it before saving it. now is the default for --after.
func newScheduleCommand(now func() time.Time) *cobra.Command {
	var o scheduleOptions
	c := &cobra.Command{
		Use:   `schedule "EXPR"`,
		Short: "Print the next fire times of a cron expression",
		Long: `Print the next fire times of a 5-field cron expression (minute hour day-of-month
month day-of-week) or @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually,
one per line in RFC 3339 with the zone's offset.

The rules are Debian cron's, as Healthchecks uses them: day-of-month and day-of-week are
OR-ed unless either starts with *; a job whose minute and hour are both fixed runs once
when a daylight-saving gap ends if its time was skipped, and once (the first time) in a
repeated hour; any other job fires at every wall-clock time that exists and matches.

Exit codes: 0 printed, 1 the expression never fires, 2 a wrong expression, zone or flag.`,
		Example:       `  heartbeat-monitor schedule "30 2 * * *" --tz America/New_York --after 2026-03-07T00:00:00Z -n 3`,
		Args:          cobra.ExactArgs(1),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0], now)
		},
	}
	f := c.Flags()
	f.StringVar(&o.tz, "tz", "UTC", "IANA time zone the expression is read in")
	f.StringVar(&o.after, "after", "", "RFC 3339 instant to start after (default now)")
	f.IntVarP(&o.n, "number", "n", 5, "how many fire times to print")
	return c
}

func (o *scheduleOptions) run(cmd *cobra.Command, expr string, now func() time.Time) error {
	s, err := schedule.Parse(expr)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("--tz: unknown time zone %q", o.tz)}
	}
	after := now()
	if o.after != "" {
		if after, err = time.Parse(time.RFC3339, o.after); err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("--after: %q is not an RFC 3339 time (like 2026-03-08T00:00:00Z)", o.after)}
		}
	}
	if o.n < 1 {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("-n: %d is not a positive number", o.n)}
	}
	out := cmd.OutOrStdout()
	for range o.n {
		next := s.Next(after, loc)
		if next.IsZero() {
			return &exitError{code: exitFailed, msg: fmt.Sprintf("%q never fires", expr)}
		}
		if _, err := fmt.Fprintln(out, next.Format(time.RFC3339)); err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		after = next
	}
	return nil
}
