package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procMem reads a memory figure (VmRSS, VmHWM) of pid in kB.
func procMem(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("scalebench: read status of %d: %w", pid, err)
	}
	defer f.Close()
	return parseStatusField(f, field)
}

// parseStatusField finds "field:   123 kB" in a /proc/PID/status text.
func parseStatusField(r io.Reader, field string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		num := strings.Fields(rest)
		if len(num) == 0 {
			break
		}
		return strconv.ParseInt(num[0], 10, 64)
	}
	return 0, fmt.Errorf("scalebench: no %s in /proc status", field)
}

// procCPU reads the CPU time (user + system) pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("scalebench: read stat of %d: %w", pid, err)
	}
	return parseStatCPU(string(data))
}

// parseStatCPU takes utime and stime (fields 14 and 15) from a
// /proc/PID/stat line; the command name in field 2 may hold spaces, so the
// fields are counted from its closing parenthesis.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("scalebench: malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("scalebench: short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("scalebench: parse /proc stat: %w", err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// pinArgs prefixes argv with `taskset -c cpu` when taskset exists and the
// machine has at least two CPUs; otherwise argv runs unpinned.
func pinArgs(cpu string, argv []string) ([]string, bool) {
	if cpu == "" || onlineCPUs() < 2 {
		return argv, false
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return argv, false
	}
	return append([]string{ts, "-c", cpu}, argv...), true
}

// onlineCPUs counts the machine's CPUs, whatever this process's affinity
// (runtime.NumCPU counts only the CPUs this process may run on).
func onlineCPUs() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "processor") {
			n++
		}
	}
	return max(n, runtime.NumCPU())
}

// server is one running heartbeat-monitor serve process.
type server struct {
	cmd     *exec.Cmd
	started time.Time
	log     *os.File
	done    chan struct{}
	mu      sync.Mutex
	exitErr error
}

// startServer starts `bin serve` on addr with the data in dir, pinned to
// cpu when possible, its output going to logPath.
func startServer(bin, dir, addr, cpu, logPath string, extra []string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("scalebench: server log: %w", err)
	}
	argv, _ := pinArgs(cpu, append([]string{bin, "serve", "--http", addr, "--dir", dir, "--dev=false"}, extra...))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C of the bench reaches it through the
	// bench's own graceful stop, never half-way through a measurement. And
	// SIGTERM when the bench dies, however it dies: no server outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	s := &server{cmd: cmd, log: logf, done: make(chan struct{})}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("scalebench: start server: %w", err)
	}
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(s.done)
	}()
	return s, nil
}

// pid is the server's process id (taskset execs the server in place).
func (s *server) pid() int { return s.cmd.Process.Pid }

// exited reports whether the process ended, and how.
func (s *server) exited() (bool, error) {
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return true, s.exitErr
	default:
		return false, nil
	}
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It returns how long the graceful stop took.
func (s *server) stop(grace time.Duration) (time.Duration, error) {
	defer s.log.Close()
	if done, err := s.exited(); done {
		return 0, fmt.Errorf("scalebench: server had already exited: %v", err)
	}
	t0 := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("scalebench: stop server: %w", err)
	}
	select {
	case <-s.done:
		return time.Since(t0), nil
	case <-time.After(grace):
		if err := s.cmd.Process.Kill(); err != nil {
			return 0, fmt.Errorf("scalebench: kill server: %w", err)
		}
		<-s.done
		return 0, fmt.Errorf("scalebench: server did not stop within %s of SIGTERM; killed", grace)
	}
}

// runCommand runs argv to completion (or until ctx ends or its peak RSS
// passes rssLimitKB, if positive), with stdout and stderr kept in tail.
// It returns the wall time and the peak RSS in kB.
func runCommand(ctx context.Context, argv []string, rssLimitKB int64, tail *tailBuffer) (time.Duration, int64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = tail, tail
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("scalebench: run %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var why error
	var polledKB int64
	for {
		select {
		case err := <-done:
			elapsed := time.Since(t0)
			peak := polledKB
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peak {
				peak = ru.Maxrss // kB on Linux
			}
			if why != nil {
				return elapsed, peak, why
			}
			if err != nil {
				return elapsed, peak, fmt.Errorf("scalebench: %s: %w", argv[0], err)
			}
			return elapsed, peak, nil
		case <-ctx.Done():
			if why == nil {
				why = fmt.Errorf("scalebench: %s: stopped after %s: %w", argv[0], time.Since(t0).Round(time.Second), ctx.Err())
				cmd.Process.Kill()
			}
		case <-tick.C:
			if kb, err := procMem(cmd.Process.Pid, "VmRSS"); err == nil && kb > polledKB {
				polledKB = kb
				if rssLimitKB > 0 && kb > rssLimitKB && why == nil {
					why = fmt.Errorf("scalebench: %s: killed at %d MB RSS after %s (limit %d MB)",
						argv[0], kb>>10, time.Since(t0).Round(time.Second), rssLimitKB>>10)
					cmd.Process.Kill()
				}
			}
		}
	}
}

// tailBuffer keeps the last few kB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func newTail(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("scalebench: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
