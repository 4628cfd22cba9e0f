package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Hard limits that keep any run bounded whatever the flags say.
const (
	maxDuration    = 10 * time.Minute
	maxConcurrency = 4096
	maxRate        = 1_000_000
)

// runConfig is the parsed configuration of a load run.
type runConfig struct {
	baseURL     string
	label       string
	services    int
	keys        map[string]string
	concurrency int
	duration    time.Duration
	grace       time.Duration
	timeout     time.Duration
	mode        string
	endpoint    string // heartbeat, ping-uuid or ping-slug (see endpoints)
	rate        float64
	maxBeats    int64
	jsonOut     bool
	walPath     string        // the server's write-ahead log, sampled during the run; "" for none
	walSettle   time.Duration // after the run, how long the log may take to shrink
}

// result is the outcome of one load run; it is printed as one line and,
// with --json, as a JSON object.
type result struct {
	Label       string  `json:"label,omitempty"`
	Mode        string  `json:"mode"`
	Endpoint    string  `json:"endpoint,omitempty"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"`
	Services    int     `json:"services"`
	DurationS   float64 `json:"durationS"`
	ElapsedS    float64 `json:"elapsedS"`
	// Scheduled and Dropped are for the open loop: beats due by the
	// schedule, and beats skipped because every worker was busy.
	Scheduled int64 `json:"scheduled"`
	Dropped   int64 `json:"dropped"`
	Sent      int64 `json:"sent"`
	OK2xx     int64 `json:"ok2xx"`
	Status429 int64 `json:"status429"`
	Status503 int64 `json:"status503"`
	// OtherErrors is OtherStatus plus TransportErrors.
	OtherErrors     int64 `json:"otherErrors"`
	OtherStatus     int64 `json:"otherStatus"`
	TransportErrors int64 `json:"transportErrors"`
	// BadBody counts 2xx replies whose body lacks "success":true; they
	// are included in OK2xx.
	BadBody     int64   `json:"badBody"`
	BeatsPerSec float64 `json:"beatsPerSec"`
	// Latency figures are over 2xx replies, in milliseconds. In the open
	// loop they are measured from the scheduled send time.
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
	MaxMs  float64 `json:"maxMs"`
	MeanMs float64 `json:"meanMs"`
	// FirstError is a sample of what went wrong, if anything did.
	FirstError string `json:"firstError,omitempty"`
	// WAL is the server's write-ahead log, with --wal.
	WAL *walFigures `json:"wal,omitempty"`
}

// runCmd parses the run flags, performs the run and prints the results.
func runCmd(args []string) error {
	fs := flag.NewFlagSet("loadgen run", flag.ContinueOnError)
	rawURL := fs.String("url", "", "base URL of the server (loopback only), e.g. http://127.0.0.1:8090")
	label := fs.String("label", "", "name of the program under test, copied into the results")
	services := fs.Int("services", 1000, "services svc-00000..svc-(N-1) to send beats for, round-robin")
	keysFile := fs.String("keysFile", "", "optional JSON object {serviceId: key} overriding the default bench-key-<serviceId>")
	concurrency := fs.Int("concurrency", 16, "closed loop: number of workers; open loop: maximum in-flight beats")
	duration := fs.Duration("duration", 20*time.Second, "how long to send (hard bound, at most 10m)")
	grace := fs.Duration("grace", 10*time.Second, "after --duration, how long in-flight requests may still finish")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	mode := fs.String("mode", "closed", "closed (back-to-back workers) or open (fixed rate)")
	endpoint := fs.String("endpoint", endpointHeartbeat, "what each request is: heartbeat (POST /api/heartbeat, JSON body, Bearer key), ping-uuid (GET /ping/<pingId>) or ping-slug (GET /ping/<key>/<serviceId>); the pingIds are the ones setup gives")
	rate := fs.Float64("rate", 1000, "open loop: beats per second in total")
	maxBeats := fs.Int64("maxBeats", 10_000_000, "upper bound on the number of beats sent")
	jsonOut := fs.Bool("json", false, "print the results as a JSON object on stdout (the text line goes to stderr)")
	walPath := fs.String("wal", "", "the server's write-ahead log file (data.db-wal): its size is sampled every 50 ms during the run and reported, with its size once the load has settled")
	walSettle := fs.Duration("walSettle", 5*time.Second, "with --wal: after the run, how long to wait for the log to shrink to nothing before its size is taken")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	cfg := runConfig{
		label: *label, services: *services, concurrency: *concurrency,
		duration: *duration, grace: *grace, timeout: *timeout,
		mode: *mode, endpoint: *endpoint, rate: *rate, maxBeats: *maxBeats, jsonOut: *jsonOut,
		walPath: *walPath, walSettle: *walSettle,
	}
	var err error
	if cfg.baseURL, err = loopbackURL(*rawURL); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if *keysFile != "" {
		if cfg.keys, err = loadKeys(*keysFile); err != nil {
			return err
		}
	}

	res, err := runWatchingWAL(cfg)
	if err != nil {
		return err
	}
	if err := printResult(res, cfg.jsonOut); err != nil {
		return err
	}
	if res.Sent > 0 && res.OK2xx == 0 {
		return fmt.Errorf("no 2xx replies out of %d beats (first error: %s)", res.Sent, res.FirstError)
	}
	return nil
}

// runWatchingWAL is runLoad, sampling the server's write-ahead log meanwhile when
// cfg.walPath is set, and then waiting (at most cfg.walSettle) for it to shrink.
func runWatchingWAL(cfg runConfig) (result, error) {
	if cfg.walPath == "" {
		return runLoad(context.Background(), cfg)
	}
	size := func() (int64, error) { return fileSize(cfg.walPath) }
	tick := time.NewTicker(walEvery)
	defer tick.Stop()
	stop := make(chan struct{})
	type sampled struct {
		peak    int64
		samples int
		err     error
	}
	got := make(chan sampled, 1)
	go func() {
		peak, n, err := sampleMax(size, tick.C, stop)
		got <- sampled{peak, n, err}
	}()
	res, err := runLoad(context.Background(), cfg)
	close(stop)
	s := <-got
	if err != nil {
		return res, err
	}
	if s.err != nil {
		return res, s.err
	}
	t0 := time.Now()
	give := time.NewTimer(cfg.walSettle)
	defer give.Stop()
	after, err := settle(size, tick.C, give.C)
	if err != nil {
		return res, err
	}
	res.WAL = &walFigures{Path: cfg.walPath, MaxBytes: s.peak, AfterBytes: after, Samples: s.samples,
		SettleS: round2(time.Since(t0).Seconds())}
	return res, nil
}

// validate checks the bounds of a run configuration.
func (c *runConfig) validate() error {
	if err := checkServices(c.services); err != nil {
		return err
	}
	if c.concurrency < 1 || c.concurrency > maxConcurrency {
		return fmt.Errorf("--concurrency must be in [1, %d], got %d", maxConcurrency, c.concurrency)
	}
	if c.duration <= 0 || c.duration > maxDuration {
		return fmt.Errorf("--duration must be in (0, %s], got %s", maxDuration, c.duration)
	}
	if c.grace < 0 || c.grace > time.Minute {
		return fmt.Errorf("--grace must be in [0, 1m], got %s", c.grace)
	}
	if c.timeout <= 0 || c.timeout > time.Minute {
		return fmt.Errorf("--timeout must be in (0, 1m], got %s", c.timeout)
	}
	if c.maxBeats < 1 {
		return fmt.Errorf("--maxBeats must be positive, got %d", c.maxBeats)
	}
	if c.walSettle < 0 || c.walSettle > time.Minute {
		return fmt.Errorf("--walSettle must be in [0, 1m], got %s", c.walSettle)
	}
	if c.endpoint == "" {
		c.endpoint = endpointHeartbeat
	}
	if _, ok := endpoints[c.endpoint]; !ok {
		return fmt.Errorf("--endpoint must be %s, %s or %s, got %q", endpointHeartbeat, endpointPingUUID, endpointPingSlug, c.endpoint)
	}
	switch c.mode {
	case "closed":
	case "open":
		if !(c.rate > 0 && c.rate <= maxRate) {
			return fmt.Errorf("--rate must be in (0, %d] for the open loop, got %g", maxRate, c.rate)
		}
	default:
		return fmt.Errorf("--mode must be closed or open, got %q", c.mode)
	}
	return nil
}

// loadKeys reads a JSON object {serviceId: key}.
func loadKeys(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keys file: %w", err)
	}
	keys := map[string]string{}
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("parse keys file %s: %w", path, err)
	}
	return keys, nil
}

// newClient returns an HTTP client whose transport keeps enough idle
// connections for conns concurrent requests and ignores proxy settings.
func newClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// The endpoints a run can load.
const (
	endpointHeartbeat = "heartbeat" // POST /api/heartbeat with a JSON body and a Bearer key
	endpointPingUUID  = "ping-uuid" // GET /ping/<pingId>
	endpointPingSlug  = "ping-slug" // GET /ping/<key>/<serviceId>
)

// endpoint is how the requests of one endpoint are built and what a 2xx reply's
// body must hold.
type endpoint struct {
	target func(base string, i int, key string) target
	ok     func(body []byte) bool
}

// successMarker must appear in a 2xx heartbeat reply's body.
var successMarker = []byte(`"success":true`)

// pingOK is the body of a 2xx reply to a ping (Healthchecks' word).
var pingOK = []byte("OK")

var endpoints = map[string]endpoint{
	endpointHeartbeat: {
		target: func(base string, i int, key string) target {
			return target{
				method: http.MethodPost, url: base + "/api/heartbeat",
				body: []byte(`{"serviceId":"` + serviceID(i) + `","status":"up","message":"bench","metadata":{"host":"x"}}`),
				auth: "Bearer " + key,
			}
		},
		ok: func(body []byte) bool { return bytes.Contains(body, successMarker) },
	},
	endpointPingUUID: {
		target: func(base string, i int, _ string) target {
			return target{method: http.MethodGet, url: base + "/ping/" + benchPingID(i)}
		},
		ok: func(body []byte) bool { return bytes.Equal(body, pingOK) },
	},
	endpointPingSlug: {
		target: func(base string, i int, key string) target {
			return target{method: http.MethodGet, url: base + "/ping/" + url.PathEscape(key) + "/" + url.PathEscape(serviceID(i))}
		},
		ok: func(body []byte) bool { return bytes.Equal(body, pingOK) },
	},
}

// target is one service's precomputed request parts.
type target struct {
	method, url string
	body        []byte // nil: no body
	auth        string // the Authorization header; "": none
}

// buildTargets precomputes the request of each service for endpoint ep: keys
// override the default bench-key-<serviceId>.
func buildTargets(ep endpoint, base string, n int, keys map[string]string) []target {
	ts := make([]target, n)
	for i := range ts {
		key, ok := keys[serviceID(i)]
		if !ok {
			key = benchKey(i)
		}
		ts[i] = ep.target(base, i, key)
	}
	return ts
}

// tally is one worker's private counters, merged at the end.
type tally struct {
	sent, ok, s429, s503, otherStatus, transport, badBody int64
	lat                                                   []time.Duration
	firstErr                                              string
}

// noteErr remembers the first error message seen by the worker.
func (t *tally) noteErr(msg string) {
	if t.firstErr == "" {
		t.firstErr = msg
	}
}

// beater sends single heartbeats (or pings) and records the outcome in a tally.
type beater struct {
	client  *http.Client
	targets []target
	ok      func(body []byte) bool // whether a 2xx reply's body is the expected one
}

// beat sends the heartbeat of target i and records the outcome in t;
// start is the instant latency is measured from.
func (b *beater) beat(ctx context.Context, t *tally, i int64, start time.Time) {
	tg := &b.targets[i%int64(len(b.targets))]
	var body io.Reader
	if tg.body != nil {
		body = bytes.NewReader(tg.body)
	}
	req, err := http.NewRequestWithContext(ctx, tg.method, tg.url, body)
	if err != nil {
		t.transport++
		t.noteErr("build request: " + err.Error())
		return
	}
	if tg.auth != "" {
		req.Header.Set("Authorization", tg.auth)
	}
	if tg.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t.sent++
	resp, err := b.client.Do(req)
	if err != nil {
		t.transport++
		t.noteErr(err.Error())
		return
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	elapsed := time.Since(start)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		// The server acknowledged the beat; a truncated body read still
		// counts as a success, as the status line is the acknowledgement.
		t.ok++
		t.lat = append(t.lat, elapsed)
		if err != nil || !b.ok(reply) {
			t.badBody++
			t.noteErr(fmt.Sprintf("2xx with an unexpected body: %.200s", reply))
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		t.s429++
	case resp.StatusCode == http.StatusServiceUnavailable:
		t.s503++
	default:
		t.otherStatus++
		t.noteErr(fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, strings.TrimSpace(string(reply))))
	}
}

// runLoad performs one run and returns its merged results.
func runLoad(ctx context.Context, cfg runConfig) (result, error) {
	name := cfg.endpoint
	if name == "" {
		name = endpointHeartbeat
	}
	ep, ok := endpoints[name]
	if !ok {
		return result{}, fmt.Errorf("unknown endpoint %q", cfg.endpoint)
	}
	b := &beater{
		client:  newClient(cfg.concurrency, cfg.timeout),
		targets: buildTargets(ep, cfg.baseURL, cfg.services, cfg.keys),
		ok:      ep.ok,
	}
	defer b.client.CloseIdleConnections()

	// Requests still in flight at deadline+grace are cancelled: that is
	// the hard bound on the run's length.
	hardCtx, cancel := context.WithTimeout(ctx, cfg.duration+cfg.grace)
	defer cancel()

	// Pre-size latency buffers from a rough guess of the throughput.
	perWorker := int(math.Min(float64(cfg.maxBeats), 20000*cfg.duration.Seconds())) / cfg.concurrency
	tallies := make([]tally, cfg.concurrency)
	for i := range tallies {
		tallies[i].lat = make([]time.Duration, 0, perWorker+16)
	}

	start := time.Now()
	deadline := start.Add(cfg.duration)
	var scheduled, dropped int64
	var wg sync.WaitGroup

	switch cfg.mode {
	case "closed":
		var issued atomic.Int64
		for w := range cfg.concurrency {
			wg.Go(func() {
				t := &tallies[w]
				for time.Now().Before(deadline) && hardCtx.Err() == nil {
					n := issued.Add(1)
					if n > cfg.maxBeats {
						return
					}
					b.beat(hardCtx, t, n-1, time.Now())
				}
			})
		}
		wg.Wait()
	case "open":
		type job struct {
			n     int64
			sched time.Time
		}
		// A beat is handed over only when fewer than C beats are in
		// flight, so some worker is free (or about to loop back to the
		// channel); otherwise it is dropped and counted. Only this
		// goroutine increments inflight, so the check cannot race.
		jobs := make(chan job)
		var inflight atomic.Int64
		for w := range cfg.concurrency {
			wg.Go(func() {
				t := &tallies[w]
				for j := range jobs {
					b.beat(hardCtx, t, j.n, j.sched)
					inflight.Add(-1)
				}
			})
		}
		nsPerBeat := float64(time.Second) / cfg.rate
		for n := int64(0); n < cfg.maxBeats; n++ {
			sched := start.Add(time.Duration(float64(n) * nsPerBeat))
			if !sched.Before(deadline) || hardCtx.Err() != nil {
				break
			}
			if d := time.Until(sched); d > 0 {
				time.Sleep(d)
			}
			scheduled++
			if inflight.Load() >= int64(cfg.concurrency) {
				dropped++
				continue
			}
			inflight.Add(1)
			jobs <- job{n: n, sched: sched}
		}
		close(jobs)
		wg.Wait()
	default:
		return result{}, fmt.Errorf("unknown mode %q", cfg.mode)
	}
	elapsed := time.Since(start)

	res := result{
		Label: cfg.label, Mode: cfg.mode, Endpoint: name, Concurrency: cfg.concurrency,
		Services: cfg.services, DurationS: cfg.duration.Seconds(), ElapsedS: elapsed.Seconds(),
		Scheduled: scheduled, Dropped: dropped,
	}
	if cfg.mode == "open" {
		res.Rate = cfg.rate
	}
	var all []time.Duration
	for i := range tallies {
		t := &tallies[i]
		res.Sent += t.sent
		res.OK2xx += t.ok
		res.Status429 += t.s429
		res.Status503 += t.s503
		res.OtherStatus += t.otherStatus
		res.TransportErrors += t.transport
		res.BadBody += t.badBody
		if res.FirstError == "" {
			res.FirstError = t.firstErr
		}
		all = append(all, t.lat...)
	}
	res.OtherErrors = res.OtherStatus + res.TransportErrors
	if cfg.mode == "closed" {
		res.Scheduled = res.Sent
	}
	if elapsed > 0 {
		res.BeatsPerSec = round2(float64(res.OK2xx) / elapsed.Seconds())
	}
	slices.Sort(all)
	res.P50Ms = ms(percentile(all, 50))
	res.P99Ms = ms(percentile(all, 99))
	if len(all) > 0 {
		res.MaxMs = ms(all[len(all)-1])
		var sum time.Duration
		for _, d := range all {
			sum += d
		}
		res.MeanMs = ms(sum / time.Duration(len(all)))
	}
	return res, nil
}

// percentile returns the nearest-rank p-th percentile of sorted, or 0
// when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// ms converts d to milliseconds rounded to three decimals.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// mib is n bytes in MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }

// round2 rounds x to two decimals.
func round2(x float64) float64 {
	return math.Round(x*100) / 100
}

// formatResult renders res as one human-readable line.
func formatResult(r result) string {
	var sb strings.Builder
	if r.Label != "" {
		fmt.Fprintf(&sb, "program=%s ", r.Label)
	}
	fmt.Fprintf(&sb, "mode=%s c=%d ", r.Mode, r.Concurrency)
	if r.Endpoint != "" {
		fmt.Fprintf(&sb, "endpoint=%s ", r.Endpoint)
	}
	if r.Mode == "open" {
		fmt.Fprintf(&sb, "rate=%g/s scheduled=%d dropped=%d ", r.Rate, r.Scheduled, r.Dropped)
	}
	fmt.Fprintf(&sb, "services=%d elapsed=%.2fs sent=%d ok2xx=%d 429=%d 503=%d otherErrors=%d beats/s=%.1f p50=%.2fms p99=%.2fms max=%.2fms",
		r.Services, r.ElapsedS, r.Sent, r.OK2xx, r.Status429, r.Status503, r.OtherErrors,
		r.BeatsPerSec, r.P50Ms, r.P99Ms, r.MaxMs)
	if r.BadBody > 0 {
		fmt.Fprintf(&sb, " badBody=%d", r.BadBody)
	}
	if r.WAL != nil {
		fmt.Fprintf(&sb, " walMax=%.1fMB walAfter=%.1fMB(%.1fs)", mib(r.WAL.MaxBytes), mib(r.WAL.AfterBytes), r.WAL.SettleS)
	}
	if r.FirstError != "" {
		fmt.Fprintf(&sb, " firstError=%q", r.FirstError)
	}
	return sb.String()
}

// printResult prints res as a text line (stdout, or stderr when jsonOut)
// and, when jsonOut, as a JSON object on stdout.
func printResult(res result, jsonOut bool) error {
	line := formatResult(res)
	if !jsonOut {
		_, err := fmt.Println(line)
		return err
	}
	fmt.Fprintln(os.Stderr, line)
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	return nil
}
