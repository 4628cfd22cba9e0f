package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/cli/heartbeat"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const (
	// tailBytes is how much of the output run keeps (more than a ping's body may hold):
	// it bounds memory whatever the command prints.
	tailBytes = 16 << 10
	// killGrace is how long a command has to exit after the SIGTERM of --timeout before
	// SIGKILL, and how long run waits for output pipes a background grandchild keeps open.
	killGrace = 10 * time.Second
	// exitTimedOut is what run exits with when --timeout ended the command, as GNU timeout.
	exitTimedOut = 124
	// pingBodyLimit is the server's Ping-Body-Limit: the most of a ping's body it keeps.
	pingBodyLimit = 10000
)

// metadataFlags are ping's flags that run accepts and ignores.
var metadataFlags = []string{"meta", "noHostname"}

// runOptions are run's flags.
type runOptions struct {
	beatOptions
	limit time.Duration // --timeout: how long the command may run; 0 means no limit
}

func newRunCommand(env lookupEnv) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [flags] -- command [args...]",
		Short: "Run a command (a cron job) and report its start, exit status and output",
		Long: `Run a command between two pings: /ping/<key>/<service>/start with a fresh run id
(rid) before it, and /ping/<key>/<service>/<exit code> with the same rid after it, with
the end of its output (whole lines, at most 10,000 bytes) as the body. The server
measures the run's duration from the two and marks the service down on a non-zero exit
code. With --timeout, the start also carries the run's deadline (--timeout plus 10 s
for the kill plus --pingTimeout for the report), after which the server marks the
service down even if the host died mid-job.

The command's output passes through, SIGINT and SIGTERM are forwarded to it, and run
exits with the command's own exit code (124 when --timeout ended it, 127 when it could
not be started). A ping that cannot be sent is a warning on stderr; it never changes
the exit code nor keeps the command from running: the start delays it by at most
--pingTimeout, retries included.`,
		Example: `  # crontab: back up nightly and report the run as service "nightly-backup"
  0 3 * * * HEARTBEAT_URL=https://monitor.example.com HEARTBEAT_API_KEY=... heartbeat-monitor run --service nightly-backup --timeout 2h -- /usr/local/bin/backup.sh`,
		Args:          cobra.MinimumNArgs(1),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := o.run(cmd.Flags(), env, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			if code != exitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f := c.Flags()
	f.SetInterspersed(false) // flags after the command name belong to the command
	o.addFlags(f, "pingTimeout")
	f.DurationVar(&o.limit, "timeout", 0, "stop the command after this long (SIGTERM, SIGKILL 10s later) and report exit code 124; sent as the run's deadline")
	f.Lookup("key").Usage = "API key, sent in the ping URLs' path ($HEARTBEAT_API_KEY; prefer it: flags show in ps)"
	f.Lookup("service").Usage = "serviceId, or a comma list (one start and one finish ping each) ($HEARTBEAT_SERVICE_ID)"
	// Pings carry no metadata. The flags stay, hidden, so that existing cron lines still
	// run; using one is a warning (not pflag's deprecation notice, which goes to stdout,
	// among the command's output).
	for _, name := range metadataFlags {
		if err := f.MarkHidden(name); err != nil {
			panic(fmt.Errorf("cli: run: %w", err))
		}
	}
	return c
}

// run runs the command between its start and finish pings and returns the exit code
// for the process.
func (o *runOptions) run(f *pflag.FlagSet, env lookupEnv, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	warn := func(format string, a ...any) {
		fmt.Fprintf(stderr, "heartbeat-monitor run: warning: "+format+"\n", a...)
	}
	// A wrong setting or a dead monitor must not keep the job from running: it is
	// reported and the command runs anyway.
	var client *heartbeat.Client
	var ids []string
	err := o.fromEnv(f, env)
	if err == nil {
		client, ids, err = o.client()
	}
	if err != nil {
		warn("no heartbeat will be sent: %v", err)
		client = nil
	}
	for _, name := range metadataFlags {
		if f.Changed(name) {
			warn("--%s is ignored: run's pings carry no metadata", name)
		}
	}

	rid := heartbeat.NewRunID()
	if client != nil {
		// The whole start, retries included, gets one attempt's time: a monitor that hangs
		// delays the job by that much at most.
		ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(max(o.timeout, 0), heartbeat.DefaultTimeout))
		o.ping(ctx, client, ids, heartbeat.Ping{Kind: "start", RunID: rid, Deadline: o.deadline()}, func(err error) {
			warn("start not sent: %v", err)
		})
		cancel()
	}

	out := runCommand(args, o.limit, stdin, stdout, stderr)
	if out.startErr != nil {
		fmt.Fprintf(stderr, "heartbeat-monitor run: %v\n", out.startErr)
	}
	if client != nil {
		finish := heartbeat.Ping{Kind: heartbeat.ExitKind(out.code), RunID: rid, Body: []byte(out.body(pingBodyLimit))}
		o.ping(context.Background(), client, ids, finish, func(err error) {
			warn("heartbeat not sent: %v", err)
		})
	}
	return out.code
}

// deadline is the bound the start sends: the command's limit, the kill's grace and one
// attempt of the report, so that a run that --timeout ended is reported before the
// server would call it overrun. 0 (no --timeout) sends none.
func (o *runOptions) deadline() time.Duration {
	if o.limit <= 0 {
		return 0
	}
	return o.limit + killGrace + cmp.Or(max(o.timeout, 0), heartbeat.DefaultTimeout)
}

// ping sends p for each service, one request each, and hands each failure to fail.
func (o *runOptions) ping(ctx context.Context, c *heartbeat.Client, ids []string, p heartbeat.Ping, fail func(error)) {
	for _, id := range ids {
		p.ServiceID = id
		if err := c.Ping(ctx, p); err != nil {
			if len(ids) > 1 {
				err = fmt.Errorf("%s: %w", id, err)
			}
			fail(err)
		}
	}
}

// outcome is how a command ended.
type outcome struct {
	args     []string
	code     int // the exit code run exits with
	duration time.Duration
	signal   os.Signal // the signal that ended it, if one did
	timedOut bool
	startErr error
	output   string // the end of its combined output, in order of arrival (stdout and
	// stderr are separate pipes, so lines written at the same moment may swap)
}

// runCommand runs args with the output passed through and kept, forwarding SIGINT and
// SIGTERM, and stopping it after limit when limit > 0.
func runCommand(args []string, limit time.Duration, stdin io.Reader, stdout, stderr io.Writer) outcome {
	ctx := context.Background()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	tail := &tailBuffer{max: tailBytes}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = stdin
	cmd.Stdout = &tee{pass: stdout, tail: tail}
	cmd.Stderr = &tee{pass: stderr, tail: tail}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = killGrace

	// Forward from before Start so no signal falls between the two.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	out := outcome{args: args}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		out.startErr = err
		out.code = 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			out.code = 127
		}
		return out
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if err := cmd.Process.Signal(s); err != nil && !errors.Is(err, os.ErrProcessDone) {
					fmt.Fprintf(stderr, "heartbeat-monitor run: forwarding %v: %v\n", s, err)
				}
			case <-done:
				return
			}
		}
	}()
	// The process state tells how the command ended; Wait's error only repeats it, or
	// says the output pipes were closed after killGrace because a background child kept
	// them open (the command itself has exited by then).
	waitErr := cmd.Wait()
	close(done)
	out.duration = time.Since(start)
	out.output = tail.String()
	out.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)

	st := cmd.ProcessState
	switch ws, ok := st.Sys().(syscall.WaitStatus); {
	case ok && ws.Signaled():
		out.signal = ws.Signal()
		out.code = 128 + int(ws.Signal())
	default:
		out.code = st.ExitCode()
	}
	if errors.Is(waitErr, exec.ErrWaitDelay) {
		out.output += "\n[heartbeat-monitor: output cut: a background process kept it open]"
	}
	if out.timedOut {
		out.code = exitTimedOut
	}
	return out
}

func (o outcome) status() string {
	if o.code == 0 {
		return "up"
	}
	return "down"
}

func (o outcome) signalNumber() int {
	if s, ok := o.signal.(syscall.Signal); ok {
		return int(s)
	}
	return 0
}

// summary is the first line of the message, e.g. "backup.sh exited 3 after 1.2s".
func (o outcome) summary() string {
	name := o.args[0]
	d := o.duration.Round(time.Millisecond)
	switch {
	case o.startErr != nil:
		return fmt.Sprintf("%s could not be started: %v", name, o.startErr)
	case o.timedOut:
		return fmt.Sprintf("%s timed out after %s and was stopped", name, d)
	case o.signal != nil:
		return fmt.Sprintf("%s was ended by signal %d (%v) after %s", name, o.signalNumber(), o.signal, d)
	case o.code == 0:
		return fmt.Sprintf("%s succeeded in %s", name, d)
	}
	return fmt.Sprintf("%s failed with exit code %d after %s", name, o.code, d)
}

// body is what the finish ping carries: the end of the output as whole lines, then,
// when the command did not exit by itself, run's note on why, all as valid UTF-8 in at
// most limit bytes. When it must be cut, the oldest lines go first.
func (o outcome) body(limit int) string {
	s := strings.ToValidUTF8(strings.TrimRight(o.output, "\r\n"), "\uFFFD")
	if o.startErr != nil || o.timedOut || o.signal != nil {
		if s != "" {
			s += "\n"
		}
		s += "[heartbeat-monitor: " + o.summary() + "]"
	}
	if len(s) <= limit {
		return s
	}
	cut := s[len(s)-limit:]
	if i := strings.IndexByte(cut, '\n'); i >= 0 && i < len(cut)-1 {
		return cut[i+1:]
	}
	// One line longer than the limit: keep its end, from a whole character.
	for cut != "" && !utf8.RuneStart(cut[0]) {
		cut = cut[1:]
	}
	return cut
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// tee passes output through and keeps its end. Once the pass-through fails (a closed
// pipe) it is dropped: that is the reader's loss, not the command's, which goes on while
// the end of its output is still kept. exec calls Write from one goroutine per tee.
type tee struct {
	pass   io.Writer
	broken bool
	tail   *tailBuffer
}

func (t *tee) Write(p []byte) (int, error) {
	if !t.broken {
		if _, err := t.pass.Write(p); err != nil {
			t.broken = true
		}
	}
	return t.tail.Write(p)
}

// tailBuffer keeps the last max bytes written to it; stdout and stderr share one.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	return string(b)
}
