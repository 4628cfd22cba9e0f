package cli

import (
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
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const (
	tailLines = 20       // lines of output a run reports
	tailBytes = 16 << 10 // output kept to find them: bounds memory whatever the command prints
	// killGrace is how long a command has to exit after the SIGTERM of --timeout before
	// SIGKILL, and how long run waits for output pipes a background grandchild keeps open.
	killGrace = 10 * time.Second
	// exitTimedOut is what run exits with when --timeout ended the command, as GNU timeout.
	exitTimedOut    = 124
	maxCommandChars = 200 // of the program's name kept in the metadata
)

// runOptions are run's flags.
type runOptions struct {
	beatOptions
	limit time.Duration // --timeout: how long the command may run; 0 means no limit
}

func newRunCommand(env lookupEnv) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [flags] -- command [args...]",
		Short: "Run a command (a cron job) and report its outcome as a heartbeat",
		Long: `Run a command, then send "up" when it exits 0 and "down" otherwise, with its exit
code, its duration and the last 20 lines of its output. The command's output passes
through, SIGINT and SIGTERM are forwarded to it, and run exits with the command's own
exit code (124 when --timeout ended it, 127 when it could not be started). A heartbeat
that cannot be sent is a warning on stderr; it never changes the exit code.`,
		Example: `  # crontab: back up nightly and report the outcome as service "nightly-backup"
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
	f.DurationVar(&o.limit, "timeout", 0, "stop the command after this long (SIGTERM, SIGKILL 10s later) and report down")
	return c
}

// run runs the command, reports it, and returns the exit code for the process.
func (o *runOptions) run(f *pflag.FlagSet, env lookupEnv, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	warn := func(format string, a ...any) {
		fmt.Fprintf(stderr, "heartbeat-monitor run: warning: "+format+"\n", a...)
	}
	// A wrong heartbeat setting must not keep the job from running: it is reported and
	// the command runs anyway.
	var client *heartbeat.Client
	var ids []string
	var meta map[string]any
	err := o.fromEnv(f, env)
	if err == nil {
		client, ids, err = o.client()
	}
	if err == nil {
		meta, err = o.metadata(env)
	}
	if err != nil {
		warn("no heartbeat will be sent: %v", err)
		client = nil
	}

	out := runCommand(args, o.limit, stdin, stdout, stderr)
	if out.startErr != nil {
		fmt.Fprintf(stderr, "heartbeat-monitor run: %v\n", out.startErr)
	}
	if client == nil {
		return out.code
	}
	for k, v := range out.metadata() {
		meta[k] = v
	}
	beat := heartbeat.Beat{Status: out.status(), Message: out.message(), Metadata: meta}
	if _, err := client.Send(context.Background(), beats(ids, beat)...); err != nil {
		warn("heartbeat not sent: %v", err)
	}
	return out.code
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

// message is the summary and the last lines of output, within the server's limit; when
// it must be cut, the oldest lines go first.
func (o outcome) message() string {
	return fitMessage(o.summary(), lastLines(o.output, tailLines), monitor.MaxMessageChars)
}

func (o outcome) metadata() map[string]any {
	m := map[string]any{
		// The program only: arguments can hold secrets (mysqldump -pPASSWORD), and the
		// dashboard shows metadata to every user.
		"command":    truncateRunes(o.args[0], maxCommandChars),
		"exitCode":   o.code,
		"durationMs": o.duration.Milliseconds(),
	}
	if o.timedOut {
		m["timedOut"] = true
	}
	if o.signal != nil {
		m["signal"] = o.signalNumber()
	}
	return m
}

// lastLines returns the last n lines of s, without a trailing newline, as valid UTF-8.
func lastLines(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimRight(s, "\r\n"), "\uFFFD")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// fitMessage joins summary and output in at most limit characters, dropping output from
// the front (whole lines first) and then, only if it must, cutting the summary.
func fitMessage(summary, output string, limit int) string {
	summary = truncateRunes(summary, limit)
	if output == "" {
		return summary
	}
	room := limit - utf8.RuneCountInString(summary) - 1 // the newline
	for utf8.RuneCountInString(output) > room && strings.Contains(output, "\n") {
		_, output, _ = strings.Cut(output, "\n")
	}
	if r := []rune(output); len(r) > room {
		if room < 2 {
			return summary
		}
		output = "…" + string(r[len(r)-room+1:])
	}
	return summary + "\n" + output
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
