package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig is one open-loop run: rate beats a second, spread round-robin
// over services, for duration, with at most inflight beats outstanding.
type loadConfig struct {
	baseURL  string
	services int
	rate     float64
	duration time.Duration
	inflight int
	timeout  time.Duration
	// cron sends pings in Healthchecks' dialect (cronTarget) instead of
	// POST /api/heartbeat; fleetKey is the heartbeat key of the slug pings.
	cron     bool
	fleetKey string
	// fire, when set, is a fire time in the load: the beats due from 1 s before it to
	// 5 s after are reported on their own (FireMaxMs, FireP99Ms).
	fire time.Time
}

// loadResult is what an open-loop run measured. Latency is from each
// beat's scheduled send time to the end of its reply, so a server that
// stalls is charged for the beats that queued behind the stall.
type loadResult struct {
	Rate      float64 `json:"rate"`
	DurationS float64 `json:"durationS"`
	Services  int     `json:"services"`
	Scheduled int64   `json:"scheduled"`
	// Dropped are beats not sent because inflight were outstanding: the
	// server (or the generator) could not keep up with the rate.
	Dropped    int64   `json:"dropped"`
	OK         int64   `json:"ok"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"firstError,omitempty"`
	AchievedPS float64 `json:"achievedPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
	// MaxAtS is when the slowest beat was due, in seconds into the run.
	MaxAtS      float64 `json:"maxAtS"`
	MinuteMarks int     `json:"minuteBoundaries"`
	// BoundaryMaxMs is the slowest beat scheduled from 1 s before to 5 s
	// after a wall-clock minute boundary, when minute crons run;
	// OffBoundaryP99Ms the p99 of all the others.
	BoundaryMaxMs    float64 `json:"boundaryMaxMs"`
	OffBoundaryP99Ms float64 `json:"offBoundaryP99Ms"`
	// EveryService is whether every service got at least one beat.
	EveryService bool `json:"everyService"`
	// FirstBeats counts acknowledged beats that were their service's first
	// of the run: a service's first beat changes its state (unknown to up),
	// the ones after mostly do not.
	FirstBeats int64 `json:"firstBeats"`
	// Kinds counts acknowledged requests by kind (cron mode: uuid, start,
	// finish, slug; plain mode: heartbeat).
	Kinds map[string]int64 `json:"kinds,omitempty"`
	// FinishDelayS is, in cron mode, how long after its start a run's finish is sent.
	FinishDelayS float64 `json:"finishDelayS,omitempty"`
	// FireAtS is when the fire time was, in seconds into the run (0: none in it);
	// FireMaxMs and FireP99Ms are of the requests due from 1 s before it to 5 s after.
	FireAtS   float64 `json:"fireAtS,omitempty"`
	FireMaxMs float64 `json:"fireMaxMs,omitempty"`
	FireP99Ms float64 `json:"fireP99Ms,omitempty"`
}

// newHTTPClient is a keep-alive client for loopback traffic, no proxy.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns + 8,
			MaxIdleConnsPerHost: conns + 8,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// beatSample is one acknowledged beat: when it was due and how long it took.
type beatSample struct {
	sched time.Time
	lat   time.Duration
	svc   int32
	kind  reqKind
}

// warmUp opens up to conns keep-alive connections to the server with
// concurrent GET /api/health, so the measured beats do not pay for dialing.
func warmUp(ctx context.Context, client *http.Client, baseURL string, conns int) {
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/health", nil)
			if err != nil {
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				resp.Body.Close()
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
}

// runLoad sends beats open loop until duration has passed or ctx ends.
func runLoad(ctx context.Context, cfg loadConfig) loadResult {
	client := newHTTPClient(cfg.inflight, cfg.timeout)
	defer client.CloseIdleConnections()
	finishDelay := finishDelaySteps(cfg.rate)
	warmUp(ctx, client, cfg.baseURL, min(cfg.inflight, 64))

	type job struct {
		n     int64
		sched time.Time
	}
	jobs := make(chan job, cfg.inflight)
	var outstanding atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Value
	samples := make([][]beatSample, cfg.inflight)
	var wg sync.WaitGroup
	hard, cancel := context.WithTimeout(ctx, cfg.duration+cfg.timeout+time.Second)
	defer cancel()
	for w := range cfg.inflight {
		wg.Go(func() {
			for j := range jobs {
				tg := plainTarget(cfg.baseURL, int(j.n%int64(cfg.services)))
				if cfg.cron {
					tg = cronTarget(cfg.baseURL, j.n, cfg.services, finishDelay, cfg.fleetKey)
				}
				lat, err := send(hard, client, tg, j.sched)
				outstanding.Add(-1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				samples[w] = append(samples[w], beatSample{sched: j.sched, lat: lat, svc: int32(tg.svc), kind: tg.kind})
			}
		})
	}

	start := time.Now()
	end := start.Add(cfg.duration)
	every := float64(time.Second) / cfg.rate
	var scheduled, dropped int64
	for n := int64(0); ; n++ {
		sched := start.Add(time.Duration(float64(n) * every))
		if !sched.Before(end) || ctx.Err() != nil {
			break
		}
		if d := time.Until(sched); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		scheduled++
		if outstanding.Load() >= int64(cfg.inflight) {
			dropped++
			continue
		}
		outstanding.Add(1)
		jobs <- job{n: n, sched: sched}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	var all []beatSample
	for _, s := range samples {
		all = append(all, s...)
	}
	res := loadResult{
		Rate: cfg.rate, DurationS: cfg.duration.Seconds(), Services: cfg.services,
		Scheduled: scheduled, Dropped: dropped, OK: int64(len(all)), Errors: errs.Load(),
		MinuteMarks:  minuteBoundaries(start, end),
		EveryService: scheduled-dropped-errs.Load() >= int64(cfg.services) && dropped == 0 && errs.Load() == 0,
	}
	if v, ok := firstErr.Load().(string); ok {
		res.FirstError = v
	}
	if cfg.cron {
		res.FinishDelayS = math.Round(float64(finishDelay)/cfg.rate*100) / 100
	}
	res.Kinds = map[string]int64{}
	if elapsed > 0 {
		res.AchievedPS = math.Round(float64(res.OK)/elapsed.Seconds()*10) / 10
	}
	lats := make([]time.Duration, len(all))
	var boundaryMax time.Duration
	var off []time.Duration
	var slowest beatSample
	seen := make([]bool, cfg.services)
	for i, s := range all {
		res.Kinds[s.kind.String()]++
		if !seen[s.svc] {
			seen[s.svc] = true
			res.FirstBeats++
		}
		lats[i] = s.lat
		if s.lat > slowest.lat {
			slowest = s
		}
		switch {
		case !nearMinuteBoundary(s.sched):
			off = append(off, s.lat)
		case s.lat > boundaryMax:
			boundaryMax = s.lat
		}
	}
	if !cfg.fire.IsZero() && cfg.fire.After(start) && cfg.fire.Before(end) {
		res.FireAtS = math.Round(cfg.fire.Sub(start).Seconds()*10) / 10
		var near []time.Duration
		for _, s := range all {
			if d := s.sched.Sub(cfg.fire); d >= -time.Second && d < 5*time.Second {
				near = append(near, s.lat)
			}
		}
		slices.Sort(near)
		res.FireP99Ms = msOf(percentile(near, 99))
		if len(near) > 0 {
			res.FireMaxMs = msOf(near[len(near)-1])
		}
	}
	slices.Sort(off)
	res.OffBoundaryP99Ms = msOf(percentile(off, 99))
	slices.Sort(lats)
	res.P50Ms = msOf(percentile(lats, 50))
	res.P99Ms = msOf(percentile(lats, 99))
	if len(lats) > 0 {
		res.MaxMs = msOf(lats[len(lats)-1])
	}
	res.BoundaryMaxMs = msOf(boundaryMax)
	if slowest.lat > 0 {
		res.MaxAtS = math.Round(slowest.sched.Sub(start).Seconds()*10) / 10
	}
	return res
}

// reqKind is what one request of the load is.
type reqKind uint8

const (
	kindHeartbeat reqKind = iota // POST /api/heartbeat (plain mode)
	kindUUID                     // GET /ping/<pingId>
	kindStart                    // GET /ping/<pingId>/start?rid=<rid>
	kindFinish                   // GET /ping/<pingId>/0?rid=<rid of its start>
	kindSlug                     // GET /ping/<key>/<serviceId>
)

func (k reqKind) String() string {
	return [...]string{"heartbeat", "uuid", "start", "finish", "slug"}[k]
}

// target is one request of the load: what to send and how to judge the reply.
type target struct {
	method, url, body, bearer string
	svc                       int
	kind                      reqKind
}

// plainTarget is the beat of bench service i: POST /api/heartbeat with its key.
func plainTarget(base string, i int) target {
	return target{method: http.MethodPost, url: base + "/api/heartbeat", svc: i, kind: kindHeartbeat,
		body: `{"serviceId":"` + serviceID(i) + `","status":"up","message":"scalebench"}`, bearer: serviceKey(i)}
}

// Cron mode's mix, per cronCycle load steps: the first cronUUIDs are success pings by
// pingId, then cronStarts starts, as many finishes, and the rest slug pings.
const (
	cronCycle  = 20
	cronUUIDs  = 14
	cronStarts = 2
)

// finishDelaySteps is how many load steps after a start its finish is sent: about 2 s
// at rate, and a whole number of cycles plus cronStarts, so that a start's step lands
// on a finish's step.
func finishDelaySteps(rate float64) int64 {
	cycles := max(1, int64(math.Round(rate*2/cronCycle)))
	return cycles*cronCycle + cronStarts
}

// cronTarget is load step n in cron mode (services round robin), in Healthchecks'
// dialect: 70 % GET /ping/<pingId>; 10 % /ping/<pingId>/start?rid=<rid>, each followed
// finishDelay steps later by 10 % /ping/<pingId>/0?rid=<the same rid> (a run of about
// 2 s with its duration measured); 10 % /ping/<fleetKey>/<serviceId>.
func cronTarget(base string, n int64, services int, finishDelay int64, fleetKey string) target {
	svc := int(n % int64(services))
	switch slot := n % cronCycle; {
	case slot < cronUUIDs:
	case slot < cronUUIDs+cronStarts:
		return target{method: http.MethodGet, url: base + "/ping/" + pingID(svc) + "/start?rid=" + runID(n), svc: svc, kind: kindStart}
	case slot < cronUUIDs+2*cronStarts:
		m := n - finishDelay
		if m < 0 { // its start would have come before the load
			break
		}
		svc = int(m % int64(services))
		return target{method: http.MethodGet, url: base + "/ping/" + pingID(svc) + "/0?rid=" + runID(m), svc: svc, kind: kindFinish}
	default:
		return target{method: http.MethodGet, url: base + "/ping/" + fleetKey + "/" + serviceID(svc), svc: svc, kind: kindSlug}
	}
	return target{method: http.MethodGet, url: base + "/ping/" + pingID(svc), svc: svc, kind: kindUUID}
}

// send sends t and returns its latency from sched. A heartbeat must be answered 200
// with "success":true, a ping 200 "OK"; anything else is an error.
func send(ctx context.Context, client *http.Client, t target, sched time.Time) (time.Duration, error) {
	var body io.Reader
	if t.body != "" {
		body = strings.NewReader(t.body)
	}
	req, err := http.NewRequestWithContext(ctx, t.method, t.url, body)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", t.kind, err)
	}
	if t.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+t.bearer)
	}
	if t.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	lat := time.Since(sched)
	if err != nil {
		return 0, fmt.Errorf("read %s reply: %w", t.kind, err)
	}
	ok := bytes.Contains(data, []byte(`"success":true`))
	if t.kind != kindHeartbeat {
		ok = strings.TrimSpace(string(data)) == "OK"
	}
	if resp.StatusCode != http.StatusOK || !ok {
		return 0, fmt.Errorf("%s: HTTP %d: %.120s", t.kind, resp.StatusCode, data)
	}
	return lat, nil
}

// percentile is the nearest-rank p-th percentile of sorted (0 if empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// median of ds (0 if empty); ds is sorted in place.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return percentile(ds, 50)
}

// msOf is d in milliseconds, rounded to 0.01 ms.
func msOf(d time.Duration) float64 {
	return math.Round(float64(d)/1e4) / 100
}

// minuteBoundaries counts the wall-clock minute boundaries in (start, end].
func minuteBoundaries(start, end time.Time) int {
	if !end.After(start) {
		return 0
	}
	a := start.Truncate(time.Minute)
	b := end.Truncate(time.Minute)
	return int(b.Sub(a) / time.Minute)
}

// nearMinuteBoundary reports whether t lies from 1 s before to 5 s after a
// wall-clock minute boundary.
func nearMinuteBoundary(t time.Time) bool {
	off := t.Sub(t.Truncate(time.Minute))
	return off < 5*time.Second || off >= 59*time.Second
}

// itoa is strconv.Itoa, for brevity in the tables.
func itoa(n int) string { return strconv.Itoa(n) }
