package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunReportsTheCommand(t *testing.T) {
	shared.createService(t, "run-job", "key-run-job-0123456789")
	env := []string{"HEARTBEAT_URL=" + shared.URL, "HEARTBEAT_SERVICE_ID=run-job", "HEARTBEAT_API_KEY=key-run-job-0123456789"}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStatus string
		wantMsg    []string // substrings of the stored message
		wantOut    string   // in the run's own stdout (passed through)
	}{
		{name: "a failing command", args: []string{"--meta", "job=nightly", "--", "sh", "-c",
			"for i in $(seq 1 25); do echo step $i; done; sleep 0.2; echo 'disk full' >&2; exit 3"},
			wantCode: 3, wantStatus: "down",
			// stdout and stderr are read apart, so their order in the tail is only that of
			// arrival: the sleep keeps the error line last.
			wantMsg: []string{"sh failed with exit code 3 after ", "\nstep 25", "disk full"}, wantOut: "step 1\n"},
		{name: "a succeeding command", args: []string{"--", "sh", "-c", "echo all good"},
			wantCode: 0, wantStatus: "up", wantMsg: []string{"sh succeeded in ", "\nall good"}, wantOut: "all good\n"},
		{name: "a command that runs too long", args: []string{"--timeout", "300ms", "--", "sleep", "30"},
			wantCode: 124, wantStatus: "down", wantMsg: []string{"sleep timed out after"}},
		{name: "a command that does not exist", args: []string{"--", "/nonexistent/backup.sh"},
			wantCode: 127, wantStatus: "down", wantMsg: []string{"/nonexistent/backup.sh could not be started"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(shared.beats(t, "run-job"))
			r := runProcess(t, env, binary, append([]string{"run"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantOut) {
				t.Errorf("stdout: got %q, want it to contain %q", r.stdout, tt.wantOut)
			}
			beats := shared.beats(t, "run-job")
			if len(beats) != before+1 {
				t.Fatalf("beats: got %d, want %d", len(beats), before+1)
			}
			b := beats[0]
			if b.Status != tt.wantStatus || b.Metadata["exitCode"] != float64(tt.wantCode) || b.Metadata["durationMs"] == nil {
				t.Errorf("beat: got %+v, want status %s and exitCode %d", b, tt.wantStatus, tt.wantCode)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(b.Message, m) {
					t.Errorf("message: got %q, want it to contain %q", b.Message, m)
				}
			}
		})
	}
	t.Run("only the last 20 lines", func(t *testing.T) {
		b := shared.beats(t, "run-job")[3] // the failing command, four runs ago
		// 26 lines of output: the first six are cut.
		if strings.Contains(b.Message, "\nstep 6\n") || !strings.Contains(b.Message, "\nstep 7\n") || b.Metadata["job"] != "nightly" {
			t.Errorf("got message %q metadata %v", b.Message, b.Metadata)
		}
	})
}

func TestRunForwardsSignals(t *testing.T) {
	shared.createService(t, "run-signal", "key-run-signal-0123456789")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--service", "run-signal", "--",
		"sh", "-c", `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done`)
	cmd.Env = append(cleanEnv(), "HEARTBEAT_URL="+shared.URL, "HEARTBEAT_API_KEY=key-run-signal-0123456789")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("waiting for the command: got %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(lines)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Fatalf("exit code: got %d (%v), want the command's 42; stderr %q", code, err, stderr.String())
	}
	if string(rest) != "got TERM\n" {
		t.Errorf("the command's output after the signal: got %q", rest)
	}
	b := shared.lastBeat(t, "run-signal")
	if b.Status != "down" || b.Metadata["exitCode"] != float64(42) || !strings.Contains(b.Message, "got TERM") {
		t.Errorf("beat: got %+v", b)
	}
}

func TestRunKeepsTheExitCodeWhenThePingFails(t *testing.T) {
	env := []string{"HEARTBEAT_URL=" + shared.URL, "HEARTBEAT_SERVICE_ID=run-unknown", "HEARTBEAT_API_KEY=nope"}
	r := runProcess(t, env, binary, "run", "--", "sh", "-c", "exit 5")
	if r.code != 5 || !strings.Contains(r.stderr, "warning: heartbeat not sent") || !strings.Contains(r.stderr, "HTTP 404: Unknown serviceId") {
		t.Errorf("got exit %d stderr %q, want 5 and a warning", r.code, r.stderr)
	}
	r = runProcess(t, []string{"HEARTBEAT_URL=http://127.0.0.1:1", "HEARTBEAT_SERVICE_ID=x", "HEARTBEAT_API_KEY=k", "HEARTBEAT_RETRIES=0"},
		binary, "run", "--", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: heartbeat not sent") {
		t.Errorf("unreachable server: got exit %d stderr %q, want 0 and a warning", r.code, r.stderr)
	}
}

// TestClientCommandsNeedNoDataDir runs ping from an empty directory with a --dir that
// cannot exist: the client commands must not open or create a data directory.
func TestClientCommandsNeedNoDataDir(t *testing.T) {
	shared.createService(t, "ping-nodir", "key-ping-nodir-0123456789")
	dir := t.TempDir()
	cmd := exec.Command(binary, "ping", "--url", shared.URL, "--service", "ping-nodir", "--key", "key-ping-nodir-0123456789", "--dir", "/nonexistent/dir")
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: Heartbeat received (HTTP 200)") {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("ping left %v in its working directory (%v)", entries, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(binary), "pb_data")); !os.IsNotExist(err) {
		t.Errorf("ping created pb_data beside the binary (%v)", err)
	}
}
