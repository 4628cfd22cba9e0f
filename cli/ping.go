package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/heartbeat-monitor/heartbeat-monitor/cli/heartbeat"
	"github.com/spf13/cobra"
)

// pingOptions are ping's flags.
type pingOptions struct {
	beatOptions
	status  string
	message string
	quiet   bool
}

func newPingCommand(env lookupEnv) *cobra.Command {
	var o pingOptions
	c := &cobra.Command{
		Use:   "ping",
		Short: "Send one heartbeat (or one batch) to a Heartbeat Monitor server",
		Long: `Send one heartbeat, or one batch when --service is a comma list, to a Heartbeat
Monitor server, with a bounded retry on network errors, 5xx and 429.

Exit codes: 0 accepted (HTTP 200, or 207 when part of a batch was refused),
1 not accepted or unreachable (the reason is printed on one line), 2 wrong usage.`,
		Example: `  HEARTBEAT_URL=https://monitor.example.com HEARTBEAT_API_KEY=... \
    heartbeat-monitor ping --service backup --status down --message "disk full" --meta disk=/dev/sda1`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if err := o.fromEnv(f, env); err != nil {
				return &exitError{code: exitUsage, msg: err.Error()}
			}
			if v, ok := env("HEARTBEAT_STATUS"); ok && v != "" && !f.Changed("status") {
				o.status = v
			}
			if v, ok := env("HEARTBEAT_MESSAGE"); ok && !f.Changed("message") {
				o.message = v
			}
			return o.ping(cmd.Context(), env, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	o.addFlags(f, "timeout")
	f.StringVar(&o.status, "status", "up", "up, down or degraded ($HEARTBEAT_STATUS)")
	f.StringVarP(&o.message, "message", "m", "", "message shown with the beat ($HEARTBEAT_MESSAGE)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing when the beat is accepted")
	return c
}

func (o *pingOptions) ping(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) error {
	o.status = strings.ToLower(strings.TrimSpace(o.status))
	switch o.status {
	case "up", "down", "degraded":
	default:
		return &exitError{code: exitUsage, msg: fmt.Sprintf("--status %q is not up, down or degraded", o.status)}
	}
	client, ids, err := o.client()
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	meta, err := o.metadata(env)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := client.Send(ctx, beats(ids, heartbeat.Beat{Status: o.status, Message: o.message, Metadata: meta})...)
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	for _, f := range res.Failed {
		fmt.Fprintf(stderr, "heartbeat-monitor ping: warning: %s: %s\n", f.ServiceID, f.Error)
	}
	if !o.quiet {
		fmt.Fprintf(stdout, "ok: %s (HTTP %d)\n", res.Message, res.StatusCode)
	}
	return nil
}
