package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Credentials of the bench's own superuser and read key; the data dir is
// a throw-away temp dir served on 127.0.0.1 only.
const (
	benchEmail    = "scalebench@example.com"
	benchPassword = "scalebench-password-1234"
	benchReadKey  = "scalebench-read-key-0123456789abcdef"
	// benchFleetKey is cron mode's api_keys key with the heartbeat scope for every
	// service: the key of its /ping/<key>/<serviceId> pings.
	benchFleetKey = "scalebench-fleet-ping-key-0123456789abcdef"
)

// scaleConfig is the configuration of one scale run.
type scaleConfig struct {
	services       int
	bin            string
	work           string
	importMode     string
	warm           bool
	importTimeout  time.Duration
	importRSSMB    int64
	rate           float64
	duration       time.Duration
	inflight       int
	idle           time.Duration
	settle         time.Duration
	repeat         int
	alertThreshold time.Duration
	alertWait      time.Duration
	startTimeout   time.Duration
	serverRSSMB    int64
	serverCPU      string
	serverArgs     []string
	jsonOut        string
	keep           bool
	// cron: every service a cron job (cronSpec), imported with --from healthchecks,
	// pinged in Healthchecks' dialect (cronTarget).
	cron bool
	// alignFire (cron mode) puts a five-minute fire time, when a third of the fleet
	// expects its ping at once, in the middle of the steady load.
	alignFire bool
}

// scaleCmd is `scalebench scale`: load N services, start the server and
// measure it; prints the table and saves the result as JSON.
func scaleCmd(args []string) error {
	fs := flag.NewFlagSet("scalebench scale", flag.ContinueOnError)
	var c scaleConfig
	var serverArgs string
	var timeout time.Duration
	fs.IntVar(&c.services, "services", 10000, "number of services")
	fs.BoolVar(&c.warm, "warm", true, "start from a steady fleet: every service up, its last beat just before the start, an interval one round of the load fits in (false: every beat of the load is a service's first, unknown -> up)")
	fs.StringVar(&c.bin, "bin", "bin/heartbeat-monitor", "server binary")
	fs.StringVar(&c.work, "work", "", "work dir for the data dir and services.json (default: a new temp dir, removed after)")
	fs.StringVar(&c.importMode, "import", "auto", "how services get in: cli (heartbeat-monitor import), bulk (direct SQL), auto (cli, bulk if cli fails or times out)")
	fs.DurationVar(&c.importTimeout, "importTimeout", 2*time.Minute, "cli import is stopped after this long")
	fs.Int64Var(&c.importRSSMB, "importRSSLimit", 3072, "cli import is stopped past this RSS (MB)")
	fs.Float64Var(&c.rate, "rate", 0, "steady beats/s (0: 8500 at 1M services and more, else 300)")
	fs.DurationVar(&c.duration, "duration", 3*time.Minute, "length of the steady load (at least 2m spans two minute boundaries)")
	fs.IntVar(&c.inflight, "inflight", 512, "most beats outstanding at once; a beat due past that is dropped and counted")
	fs.DurationVar(&c.idle, "idle", 30*time.Second, "idle CPU window, no load")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "wait after start-up before the idle window")
	fs.IntVar(&c.repeat, "repeat", 3, "fetches of /api/status and / (the median is reported)")
	fs.DurationVar(&c.alertThreshold, "alertThreshold", 3*time.Second, "stalenessThreshold of the alert probe service")
	fs.DurationVar(&c.alertWait, "alertWait", 90*time.Second, "how long after the deadline to wait for the down alert")
	fs.DurationVar(&c.startTimeout, "startTimeout", 3*time.Minute, "how long start-up may take")
	fs.Int64Var(&c.serverRSSMB, "serverRSSLimit", 4096, "the server is stopped past this RSS (MB), to keep the machine usable")
	fs.StringVar(&c.serverCPU, "serverCPU", "0", "CPU the server is pinned to with taskset (\"\" for none)")
	fs.StringVar(&serverArgs, "serverArgs", "", "extra flags for serve, space separated")
	fs.StringVar(&c.jsonOut, "json", "", "also write the result as JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the work dir")
	fs.DurationVar(&timeout, "timeout", 45*time.Minute, "hard bound on the whole run")
	fs.BoolVar(&c.cron, "cron", false, "cron mode: every service a cron job with a pingId, a schedule (*/5 * * * *, 0 * * * *, 30 3 * * *), a zone and a grace, imported with --from healthchecks; the load pings GET /ping/<uuid>, /start and /0 with a rid, and /ping/<key>/<serviceId>")
	fs.BoolVar(&c.alignFire, "alignFire", true, "cron mode: wait (up to 5 min) so that a */5 fire time, when a third of the fleet goes late at once, falls in the middle of the load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkServices(c.services); err != nil {
		return err
	}
	switch c.importMode {
	case "auto", "cli", "bulk":
	default:
		return fmt.Errorf("--import must be auto, cli or bulk, got %q", c.importMode)
	}
	if c.rate == 0 {
		c.rate = defaultRate(c.services)
	}
	if c.rate <= 0 || c.rate > 100_000 || c.inflight < 1 || c.inflight > 4096 || c.duration <= 0 || c.duration > 30*time.Minute {
		return errors.New("--rate must be in (0, 100000], --inflight in [1, 4096], --duration in (0, 30m]")
	}
	c.serverArgs = strings.Fields(serverArgs)
	if c.work != "" {
		// Only what this command creates in it is removed.
		if err := os.MkdirAll(c.work, 0o755); err != nil {
			return fmt.Errorf("scalebench: %w", err)
		}
		if err := os.RemoveAll(filepath.Join(c.work, "data")); err != nil {
			return fmt.Errorf("scalebench: %w", err)
		}
	} else {
		dir, err := os.MkdirTemp("", "scalebench-")
		if err != nil {
			return fmt.Errorf("scalebench: %w", err)
		}
		c.work = dir
		if !c.keep {
			defer os.RemoveAll(dir)
		}
	}
	// SIGINT and SIGTERM end the run early but cleanly: the server is
	// stopped and what was measured is still printed.
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, timeout)
	defer cancel()
	r := runScale(ctx, c)
	printScale(os.Stdout, r)
	if c.jsonOut != "" {
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("scalebench: %w", err)
		}
		if err := os.WriteFile(c.jsonOut, data, 0o644); err != nil {
			return fmt.Errorf("scalebench: %w", err)
		}
	}
	return nil
}

// runner runs the stages of a scale run and notes what each did.
type runner struct {
	r *scaleResult
}

// step runs fn as the named stage; a failure is noted and returned.
func (u *runner) step(name string, fn func() error) error {
	fmt.Fprintf(os.Stderr, "scalebench %s: %s...\n", humanCount(u.r.Services), name)
	t0 := time.Now()
	err := fn()
	s := stage{Name: name, Seconds: time.Since(t0).Seconds()}
	if err != nil {
		s.Error = err.Error()
		fmt.Fprintf(os.Stderr, "scalebench %s: %s: %v\n", humanCount(u.r.Services), name, err)
	}
	u.r.Stages = append(u.r.Stages, s)
	return err
}

// stop ends the run at a stage that the rest cannot do without.
func (u *runner) stop(name string, err error) scaleResult {
	u.r.StoppedAt = name + ": " + err.Error()
	return *u.r
}

// conditions describes the machine and its load now.
func conditions(pinned bool) string {
	load, err := os.ReadFile("/proc/loadavg")
	la := "unknown"
	if err == nil {
		la = strings.Join(strings.Fields(string(load))[:3], " ")
	}
	pin := "server and load generator NOT pinned"
	if pinned {
		pin = "server pinned to CPU 0, bench (load generator) to what it was started on"
	}
	return fmt.Sprintf("%d CPUs (bench may use %d), load average %s, %s, %s", onlineCPUs(), runtime.NumCPU(), la, pin, runtime.Version())
}

// runScale does one scale: services in, start, idle, load with the alert
// probe, status and overview, stop.
func runScale(ctx context.Context, c scaleConfig) scaleResult {
	_, pinned := pinArgs(c.serverCPU, []string{"x"})
	r := &scaleResult{Services: c.services, Date: time.Now().UTC().Format("2006-01-02 15:04:05 UTC"), Conditions: conditions(pinned), Mode: "plain"}
	u := &runner{r: r}
	dir := filepath.Join(c.work, "data")
	file := filepath.Join(c.work, "services.json")
	gen := genFile
	if c.cron {
		r.Mode = "cron"
		file = filepath.Join(c.work, "checks.json")
		gen = genChecksFile
	}
	addr := ""

	if err := u.step("gen "+filepath.Base(file), func() error { return gen(file, c.services) }); err != nil {
		return u.stop("gen", err)
	}
	if err := u.step("load services", func() error { return loadServices(ctx, c, r, file, dir) }); err != nil {
		return u.stop("load services", err)
	}
	if err := u.step("superuser and read key", func() error {
		tail := newTail(4096)
		argv := []string{c.bin, "superuser", "upsert", benchEmail, benchPassword, "--dir", dir, "--dev=false"}
		if _, _, err := runCommand(ctx, argv, 0, tail); err != nil {
			return fmt.Errorf("%w: %s", err, lastLine(tail.String()))
		}
		if err := insertReadKey(ctx, dir, benchReadKey, time.Now()); err != nil {
			return err
		}
		if c.cron {
			return insertAPIKey(ctx, dir, "scalebench fleet ping key", benchFleetKey, "heartbeat", time.Now())
		}
		return nil
	}); err != nil {
		return u.stop("superuser", err)
	}
	var fire time.Time // cron mode: the */5 fire time put in the load
	if c.cron && c.alignFire {
		if err := u.step("align a fire time with the load", func() error {
			var err error
			fire, err = alignFire(ctx, time.Now, c)
			return err
		}); err != nil {
			return u.stop("align", err)
		}
	}
	if c.warm {
		every := warmInterval(c.services, c.rate)
		if err := u.step("warm the fleet", func() error { return warmFleet(ctx, dir, time.Now(), every) }); err != nil {
			return u.stop("warm", err)
		}
		r.DataPath += fmt.Sprintf("; warmed: every service up, last beat just before the start, interval %s, threshold %s", every, 2*every)
	}
	port, err := freePort()
	if err != nil {
		return u.stop("port", err)
	}
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	client := newHTTPClient(8, 5*time.Minute)
	defer client.CloseIdleConnections()

	srv, err := startServer(c.bin, dir, addr, c.serverCPU, filepath.Join(c.work, "server.log"), c.serverArgs)
	if err != nil {
		return u.stop("start", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			if _, err := srv.stop(time.Minute); err != nil {
				fmt.Fprintln(os.Stderr, "scalebench:", err)
			}
		}
	}()
	alive := func() error {
		if done, err := srv.exited(); done {
			return fmt.Errorf("server exited (%v); last log line: %s", err, lastServerLog(c.work))
		}
		if kb, err := procMem(srv.pid(), "VmRSS"); err == nil && kb > c.serverRSSMB<<10 {
			return fmt.Errorf("server RSS %d MB passed the limit of %d MB", kb>>10, c.serverRSSMB)
		}
		return nil
	}
	if err := u.step("start-up", func() error {
		sctx, cancel := context.WithTimeout(ctx, c.startTimeout)
		defer cancel()
		d, err := waitReady(sctx, client, base+"/api/health", "", srv.started, alive)
		if err != nil {
			return err
		}
		r.StartHealthS = d.Seconds()
		// The first answer of /api/status (one service of it: every service of a million
		// is 258 MB and seconds to send, timed on its own below) says the engine is loaded
		// and the read path answers.
		d, err = waitReady(sctx, client, base+"/api/status?perPage=1", benchReadKey, srv.started, alive)
		if err != nil {
			return err
		}
		r.StartStatusS = d.Seconds()
		r.RSSStartMB = rssMB(srv.pid(), "VmRSS")
		return nil
	}); err != nil {
		return u.stop("start-up", err)
	}

	if err := u.step("idle", func() error {
		if err := sleepCtx(ctx, c.settle); err != nil {
			return err
		}
		pct, wall, err := idleCPU(ctx, srv.pid(), c.idle)
		if err != nil {
			return err
		}
		r.IdleWindowS, r.IdleCPUPct = wall.Seconds(), pct
		r.RSSIdleMB = rssMB(srv.pid(), "VmRSS")
		return alive()
	}); err != nil {
		return u.stop("idle", err)
	}

	var api *pbAPI
	if err := u.step("superuser login", func() error {
		var err error
		api, err = superuserLogin(ctx, client, base, benchEmail, benchPassword)
		return err
	}); err != nil {
		return u.stop("superuser login", err)
	}
	hook, err := newHookReceiver()
	if err != nil {
		return u.stop("webhook receiver", err)
	}
	defer func() {
		if err := hook.close(); err != nil {
			fmt.Fprintln(os.Stderr, "scalebench:", err)
		}
	}()

	if !fire.IsZero() {
		// The fleet was warmed before the fire time, so every */5 service expects its
		// next ping at it: wait until it is half the load away.
		if err := u.step("wait for the fire time", func() error {
			return sleepCtx(ctx, time.Until(fire.Add(-c.duration/2)))
		}); err != nil {
			return u.stop("wait for the fire time", err)
		}
	}
	loadErr := u.step("steady load and alert probe", func() error {
		return loadPhase(ctx, c, r, srv, base, api, hook, alive, fire)
	})
	if c.cron {
		if err := u.step("states after the load", func() error {
			var err error
			r.After, err = fleetCounts(ctx, client, base)
			return err
		}); err != nil {
			if err := alive(); err != nil {
				return u.stop("states after the load", err)
			}
		}
	}
	if loadErr != nil {
		if err := alive(); err != nil {
			return u.stop("steady load", err)
		}
	}

	// The rest reads what the load left behind: services with beats.
	if err := u.step("GET /api/status", func() error {
		results := &counter{marker: []byte(`"serviceId":`)}
		d, n, err := repeatGet(ctx, client, base+"/api/status", http.Header{"Authorization": {"Bearer " + benchReadKey}}, c.repeat, results)
		r.StatusMs, r.StatusBytes = msOf(d), n
		if c.repeat > 0 {
			r.StatusResults = results.n / c.repeat
		}
		if err == nil && r.StatusResults < c.services {
			err = fmt.Errorf("scalebench: /api/status listed %d services, want all %d (is it paged now?)", r.StatusResults, c.services)
		}
		return err
	}); err != nil {
		if err := alive(); err != nil {
			return u.stop("GET /api/status", err)
		}
	}
	if err := u.step("GET / overview", func() error {
		cookies, err := dashboardLogin(ctx, client, base, benchEmail, benchPassword)
		if err != nil {
			return err
		}
		d, n, err := repeatGet(ctx, client, base+"/", cookieHeader(cookies), c.repeat, io.Discard)
		r.OverviewMs, r.OverviewB = msOf(d), n
		return err
	}); err != nil {
		if err := alive(); err != nil {
			return u.stop("GET / overview", err)
		}
	}
	// Idle again, now that the beaten services have deadlines pending.
	if err := u.step("idle after the load", func() error {
		if err := sleepCtx(ctx, c.settle); err != nil {
			return err
		}
		pct, _, err := idleCPU(ctx, srv.pid(), c.idle)
		r.IdleAfterCPUPct = pct
		return errors.Join(err, alive())
	}); err != nil {
		if err := alive(); err != nil {
			return u.stop("idle after the load", err)
		}
	}
	r.HWMMB = rssMB(srv.pid(), "VmHWM")
	stopped = true
	if err := u.step("stop", func() error {
		d, err := srv.stop(time.Minute)
		r.StopS = d.Seconds()
		return err
	}); err != nil {
		return u.stop("stop", err)
	}
	return *r
}

// loadServices puts the services of file into dir by the configured path.
func loadServices(ctx context.Context, c scaleConfig, r *scaleResult, file, dir string) error {
	if c.importMode != "bulk" {
		ictx, cancel := context.WithTimeout(ctx, c.importTimeout)
		defer cancel()
		tail := newTail(4096)
		argv := []string{c.bin, "import", file, "--dir", dir, "--dev=false"}
		if c.cron {
			argv = append(argv, "--from", "healthchecks")
		}
		d, peakKB, err := runCommand(ictx, argv, c.importRSSMB<<10, tail)
		imp := &importResult{Seconds: d.Seconds(), PeakMB: float64(peakKB) / 1024, Output: lastLine(tail.String())}
		r.Import = imp
		if err == nil {
			var n int
			n, err = countRows(ctx, dir, "services")
			if err == nil && n != c.services {
				err = fmt.Errorf("scalebench: import: %d services in the database, want %d", n, c.services)
			}
		}
		if err == nil {
			fmt.Fprintf(os.Stderr, "import %s: %.1f s, %.0f MB\n", humanCount(c.services), imp.Seconds, imp.PeakMB)
			r.DataPath = "cli import (heartbeat-monitor import)"
			if c.cron {
				r.DataPath = "cli import (heartbeat-monitor import --from healthchecks)"
			}
			return nil
		}
		imp.Error = err.Error()
		if imp.Output != "" {
			imp.Error += "; last output: " + imp.Output
		}
		fmt.Fprintf(os.Stderr, "import %s: FAILED after %.1f s, %.0f MB: %s\n", humanCount(c.services), imp.Seconds, imp.PeakMB, imp.Error)
		if c.importMode == "cli" {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("scalebench: %w", err)
		}
	}
	// Bulk: let the server migrate a new data dir, stop it, insert.
	t0 := time.Now()
	if err := migrateDir(ctx, c, dir); err != nil {
		return err
	}
	if err := bulkInsertServices(ctx, dir, 0, c.services, time.Now(), c.cron); err != nil {
		return err
	}
	r.BulkSeconds = time.Since(t0).Seconds()
	r.DataPath = "bulk SQL (multi-row INSERTs into a migrated data dir)"
	if r.Import != nil {
		r.DataPath += ", after the cli import failed"
	}
	return nil
}

// migrateDir starts the server on a new data dir until it answers, so its
// migrations have run, and stops it.
func migrateDir(ctx context.Context, c scaleConfig, dir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := startServer(c.bin, dir, addr, "", filepath.Join(c.work, "migrate.log"), nil)
	if err != nil {
		return err
	}
	client := newHTTPClient(1, 5*time.Second)
	defer client.CloseIdleConnections()
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, werr := waitReady(mctx, client, "http://"+addr+"/api/health", "", srv.started, func() error {
		if done, err := srv.exited(); done {
			return fmt.Errorf("scalebench: migrate: server exited: %v", err)
		}
		return nil
	})
	_, serr := srv.stop(time.Minute)
	return errors.Join(werr, serr)
}

// loadPhase runs the steady open-loop load while sampling the server's RSS
// and CPU, with the alert probe in the middle of it.
func loadPhase(ctx context.Context, c scaleConfig, r *scaleResult, srv *server, base string, api *pbAPI, hook *hookReceiver, alive func() error, fire time.Time) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var peakKB atomic.Int64
	var sampleErr error
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := procMem(srv.pid(), "VmRSS"); err == nil && kb > peakKB.Load() {
				peakKB.Store(kb)
			}
			if err := alive(); err != nil {
				sampleErr = err
				cancel() // the server is gone or too big: stop the load now
				return
			}
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var alert alertResult
	var alertErr error
	prober := make(chan struct{})
	loadStart := time.Now()
	go func() {
		defer close(prober)
		// Into the load, so the alert is timed while beats flow.
		if err := sleepCtx(lctx, min(2*time.Second, c.duration/4)); err != nil {
			alertErr = err
			return
		}
		began := time.Since(loadStart).Seconds()
		alert, alertErr = measureAlert(lctx, api, hook, c.alertThreshold, c.alertWait)
		alert.StartS = math.Round(began*10) / 10
	}()
	cpu0, cerr0 := procCPU(srv.pid())
	t0 := time.Now()
	res := runLoad(lctx, loadConfig{baseURL: base, services: c.services, rate: c.rate, duration: c.duration,
		inflight: c.inflight, timeout: 10 * time.Second, cron: c.cron, fleetKey: benchFleetKey, fire: fire})
	cpu1, cerr1 := procCPU(srv.pid())
	wall := time.Since(t0)
	r.RSSLoadMB = float64(peakKB.Load()) / 1024
	r.Load = &res
	if cerr0 == nil && cerr1 == nil {
		r.LoadCPUPct = float64(cpu1-cpu0) / float64(wall) * 100
	}
	<-prober // it ends on its own: alert seen, or its wait passed
	cancel()
	<-sampler
	if alertErr != nil {
		alert.Error = alertErr.Error()
	}
	r.Alert = &alert
	return errors.Join(sampleErr, alertErr)
}

// idleCPU measures pid's CPU use over window, as a percentage of a core.
func idleCPU(ctx context.Context, pid int, window time.Duration) (float64, time.Duration, error) {
	cpu0, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, window); err != nil {
		return 0, 0, err
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	wall := time.Since(t0)
	return float64(cpu1-cpu0) / float64(wall) * 100, wall, nil
}

// rssMB reads a memory figure of pid in MB (0 when it cannot).
func rssMB(pid int, field string) float64 {
	kb, err := procMem(pid, field)
	if err != nil {
		return 0
	}
	return float64(kb) / 1024
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// lastServerLog is the last line of the server's log in work.
func lastServerLog(work string) string {
	data, err := os.ReadFile(filepath.Join(work, "server.log"))
	if err != nil {
		return "(no log)"
	}
	if len(data) > 8192 {
		data = data[len(data)-8192:]
	}
	return lastLine(string(data))
}

// fireEvery is the period of the bench's most frequent schedule (*/5 * * * *).
const fireEvery = 5 * time.Minute

// alignFire picks the */5 fire time the load will straddle and, when the next one is too
// soon for the stages before the load (start-up, settle, idle, about 20 s more), waits
// until it has passed; the fleet is warmed after, so every */5 service expects its next
// ping at the fire time returned.
func alignFire(ctx context.Context, now func() time.Time, c scaleConfig) (time.Time, error) {
	lead := c.settle + c.idle + 20*time.Second + c.duration/2
	t := now()
	fire := t.Truncate(fireEvery).Add(fireEvery)
	if fire.Sub(t) < lead {
		if err := sleepCtx(ctx, fire.Sub(t)+time.Second); err != nil {
			return time.Time{}, err
		}
		fire = fire.Add(fireEvery)
	}
	return fire, nil
}

// fleetState is what /api/status says of the fleet as a whole (its "summary").
type fleetState struct {
	Up      int `json:"servicesUp"`
	Late    int `json:"servicesLate"`
	Down    int `json:"servicesDown"`
	Unknown int `json:"servicesUnknown"`
}

// fleetCounts reads the fleet's counts from one small page of /api/status.
func fleetCounts(ctx context.Context, client *http.Client, base string) (*fleetState, error) {
	var buf strings.Builder
	_, _, code, err := timedGet(ctx, client, base+"/api/status?perPage=1", http.Header{"Authorization": {"Bearer " + benchReadKey}}, &buf)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("scalebench: /api/status?perPage=1: HTTP %d", code)
	}
	var reply struct {
		Summary *fleetState `json:"summary"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &reply); err != nil {
		return nil, fmt.Errorf("scalebench: /api/status?perPage=1: %w", err)
	}
	if reply.Summary == nil {
		return nil, errors.New("scalebench: /api/status?perPage=1: no summary in the reply")
	}
	return reply.Summary, nil
}
