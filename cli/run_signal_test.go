package cli

import (
	"bufio"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunCommandForwardsSignals: a SIGTERM sent to heartbeat-monitor while run waits for
// its command reaches the command, whose trap exits 42, and run reports that code and
// the trap's output. In-process, so `make test` runs the forwarding goroutine under the
// race detector (e2e's TestRunForwardsSignals drives the built binary, which is not).
func TestRunCommandForwardsSignals(t *testing.T) {
	pr, pw := io.Pipe()
	done := make(chan outcome, 1)
	go func() {
		out := runCommand([]string{"sh", "-c", `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done`},
			time.Minute, strings.NewReader(""), pw, io.Discard) // unforwarded, the minute ends it with another code
		pw.Close()
		done <- out
	}()
	lines := bufio.NewReader(pr)
	if line, err := lines.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("waiting for the command: got %q, %v", line, err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(lines)
	if err != nil {
		t.Fatal(err)
	}
	out := <-done
	if out.code != 42 || string(rest) != "got TERM\n" {
		t.Errorf("got exit code %d and output %q after the signal, want 42 and %q", out.code, rest, "got TERM\n")
	}
}
