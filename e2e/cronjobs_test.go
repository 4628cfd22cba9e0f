package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/testtool"
)

// createPingService creates a service with the given pingId and returns its ping URL.
func createPingService(t *testing.T, serviceID, pingID string) string {
	t.Helper()
	if err := shared.api(http.MethodPost, "/api/collections/services/records",
		map[string]any{"serviceId": serviceID, "apiKey": "key-" + serviceID + "-0123456789", "pingId": pingID}, nil); err != nil {
		t.Fatal(err)
	}
	return shared.URL + "/ping/" + pingID
}

// statusWhen polls serviceID's /api/status result until want holds or 5 s pass and
// returns the last one: the server's engine evaluates a ping within milliseconds of its
// reply, not before it.
func statusWhen(t *testing.T, serviceID string, want func(runStatus) bool) runStatus {
	t.Helper()
	st := statusOf(t, serviceID)
	for deadline := time.Now().Add(5 * time.Second); !want(st) && time.Now().Before(deadline); st = statusOf(t, serviceID) {
		time.Sleep(20 * time.Millisecond)
	}
	return st
}

// showStatus prints a status with its optional fields' values.
func showStatus(st runStatus) string {
	s := fmt.Sprintf("status %s, running %v", st.Status, st.Running)
	if st.LastExitStatus != nil {
		s += fmt.Sprintf(", lastExitStatus %d", *st.LastExitStatus)
	}
	if st.LastDuration != nil {
		s += fmt.Sprintf(", lastDuration %d ms", *st.LastDuration)
	}
	return s
}

// TestCronLines: the README's cron lines, run through /bin/sh as cron runs them, with
// the curl and wget users have: a success at the end of a job, /start before it and
// the exit status after it (with the job's output as the body), and /api/status shows
// what a user expects after each line.
func TestCronLines(t *testing.T) {
	sh := testtool.Need(t, "sh")
	testtool.Need(t, "curl")
	testtool.Need(t, "wget")
	env := []string{"LC_ALL=C"}
	run := func(t *testing.T, line string, wantCode int) result {
		t.Helper()
		res := runProcess(t, env, sh, "-c", line)
		if res.code != wantCode {
			t.Fatalf("%s\nexit %d, want %d; stdout %q stderr %q", line, res.code, wantCode, res.stdout, res.stderr)
		}
		return res
	}
	curl := "curl -fsS -m 10 --retry 5"
	wget := "wget -q -T 10 -t 5 -O /dev/null"

	t.Run("curl success after the job", func(t *testing.T) {
		u := createPingService(t, "cron-curl-ok", "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a01")
		res := run(t, "true && "+curl+" -o /dev/null "+u, 0)
		if res.stdout != "" || res.stderr != "" {
			t.Errorf("the cron line printed %q %q; cron would mail it", res.stdout, res.stderr)
		}
		ok := func(st runStatus) bool {
			return st.Status == "up" && !st.Running && st.LastExitStatus == nil && st.LastDuration == nil
		}
		if st := statusWhen(t, "cron-curl-ok", ok); !ok(st) {
			t.Errorf("after the success: %s; want up, not running, no exit status nor duration", showStatus(st))
		}
	})

	t.Run("curl start, then the exit status and the output", func(t *testing.T) {
		u := createPingService(t, "cron-curl-run", "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a02")
		run(t, curl+" -o /dev/null "+u+"/start", 0)
		if st := statusWhen(t, "cron-curl-run", func(st runStatus) bool { return st.Running }); !st.Running || st.Status != "unknown" {
			t.Fatalf("after /start: %s; want running (a start is no beat)", showStatus(st))
		}
		// The job fails after a while: its exit status goes in the URL, its output in the body.
		run(t, `output=$(sleep 1; printf 'copied 3 files\nerror: disk full\n'; exit 3); `+
			curl+` -o /dev/null --data-raw "$output" `+u+`/$?`, 0)
		ok := func(st runStatus) bool {
			return st.Status == "down" && !st.Running && st.LastExitStatus != nil && *st.LastExitStatus == 3 &&
				st.LastDuration != nil && *st.LastDuration >= 1000 && *st.LastDuration <= 60000
		}
		if st := statusWhen(t, "cron-curl-run", ok); !ok(st) {
			t.Errorf("after exit status 3: %s; want down, not running, exit 3, a duration of about a second", showStatus(st))
		}
		if p := runPings(t, "cron-curl-run"); len(p) != 2 || p[0].Kind != "exit" || p[0].ExitStatus != 3 ||
			p[0].Body != "copied 3 files\nerror: disk full" || p[0].Started == "" || p[1].Kind != "start" {
			t.Errorf("stored pings %+v; want the start, then exit 3 with the output and the run's start", p)
		}
		// The next run succeeds.
		run(t, curl+" -o /dev/null "+u+"/start && sh -c 'exit 0'; "+curl+" -o /dev/null "+u+"/$?", 0)
		ok = func(st runStatus) bool {
			return st.Status == "up" && !st.Running && st.LastExitStatus != nil && *st.LastExitStatus == 0 && st.LastDuration != nil
		}
		if st := statusWhen(t, "cron-curl-run", ok); !ok(st) {
			t.Errorf("after exit status 0: %s; want up, not running, exit 0, measured", showStatus(st))
		}
	})

	t.Run("wget", func(t *testing.T) {
		u := createPingService(t, "cron-wget", "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a03")
		run(t, wget+" "+u+"/start", 0)
		if st := statusWhen(t, "cron-wget", func(st runStatus) bool { return st.Running }); !st.Running {
			t.Fatalf("after /start: %s; want running", showStatus(st))
		}
		run(t, "false; "+wget+" "+u+"/$?", 0)
		failed := func(st runStatus) bool {
			return st.Status == "down" && !st.Running && st.LastExitStatus != nil && *st.LastExitStatus == 1 && st.LastDuration != nil
		}
		if st := statusWhen(t, "cron-wget", failed); !failed(st) {
			t.Errorf("after exit status 1: %s; want down, not running, exit 1, measured", showStatus(st))
		}
		res := run(t, wget+" "+u, 0)
		if res.stdout != "" || res.stderr != "" {
			t.Errorf("wget -q printed %q %q", res.stdout, res.stderr)
		}
		up := func(st runStatus) bool { return st.Status == "up" && !st.Running && st.LastExitStatus == nil }
		if st := statusWhen(t, "cron-wget", up); !up(st) {
			t.Errorf("after the success: %s; want up", showStatus(st))
		}
	})

	t.Run("the output as a file's tail, and systemd's ExecStopPost", func(t *testing.T) {
		u := createPingService(t, "cron-tail", "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a04")
		log := filepath.Join(t.TempDir(), "backup.log")
		run(t, curl+" -o /dev/null "+u+"/start; (echo copying; echo 'error: no space left'; exit 4) >"+log+" 2>&1; rc=$?; tail -c 10000 "+log+
			" | "+curl+" -o /dev/null --data-binary @- "+u+"/$rc", 0)
		failed := func(st runStatus) bool {
			return st.Status == "down" && !st.Running && st.LastExitStatus != nil && *st.LastExitStatus == 4
		}
		if st := statusWhen(t, "cron-tail", failed); !failed(st) {
			t.Errorf("after exit status 4: %s; want down, exit 4", showStatus(st))
		}
		if p := runPings(t, "cron-tail"); len(p) == 0 || p[0].Body != "copying\nerror: no space left\n" {
			t.Errorf("stored pings %+v; want the log's tail as the body", p)
		}
		// ExecStopPost's command as systemd hands it to sh ($$ is systemd's escape for $).
		stopPost := `if [ "$SERVICE_RESULT" = success ]; then s=0; else s=fail; fi; ` + curl + ` -o /dev/null ` + u + `/$s`
		env = []string{"LC_ALL=C", "SERVICE_RESULT=success"}
		run(t, stopPost, 0)
		up := func(st runStatus) bool {
			return st.Status == "up" && st.LastExitStatus != nil && *st.LastExitStatus == 0
		}
		if st := statusWhen(t, "cron-tail", up); !up(st) {
			t.Errorf("after ExecStopPost of a success: %s; want up, exit 0", showStatus(st))
		}
		env = []string{"LC_ALL=C", "SERVICE_RESULT=exit-code"}
		run(t, stopPost, 0)
		down := func(st runStatus) bool { return st.Status == "down" && st.LastExitStatus == nil }
		if st := statusWhen(t, "cron-tail", down); !down(st) {
			t.Errorf("after ExecStopPost of a failure: %s; want down", showStatus(st))
		}
		env = []string{"LC_ALL=C"}
	})

	t.Run("a wrong URL fails the line", func(t *testing.T) {
		// curl -f exits 22 on an HTTP error and -sS still prints it, so cron mails the
		// owner; wget exits 8 on an error reply.
		res := run(t, curl+" -o /dev/null "+shared.URL+"/ping/6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3aff", 22)
		if !strings.Contains(res.stderr, "404") {
			t.Errorf("curl said %q; want the 404", res.stderr)
		}
		run(t, wget+" "+shared.URL+"/ping/6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a03/256", 8)
	})
}
