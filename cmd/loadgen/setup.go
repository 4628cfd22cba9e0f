package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// setupConfig is the parsed configuration of the setup subcommand.
type setupConfig struct {
	baseURL     string
	email       string
	password    string
	services    int
	concurrency int
	interval    int
	staleness   int
	timeout     time.Duration
}

// setupCmd creates the benchmark services on the real server: it logs in
// as a superuser and creates svc-00000..svc-(N-1) with key bench-key-<serviceId>
// and the pingId benchPingID gives.
// Services that already exist (HTTP 400 "not unique") are counted, not
// treated as errors, so setup can be re-run.
func setupCmd(args []string) error {
	fs := flag.NewFlagSet("loadgen setup", flag.ContinueOnError)
	rawURL := fs.String("url", "", "base URL of the server (loopback only)")
	email := fs.String("email", "", "superuser email")
	password := fs.String("password", "", "superuser password")
	services := fs.Int("services", 1000, "number of services to create")
	concurrency := fs.Int("concurrency", 16, "concurrent create requests")
	interval := fs.Int("interval", 120, "interval field of each service (seconds)")
	staleness := fs.Int("staleness", 300, "stalenessThreshold field of each service (seconds)")
	timeout := fs.Duration("timeout", 5*time.Minute, "overall time limit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg := setupConfig{
		email: *email, password: *password, services: *services,
		concurrency: *concurrency, interval: *interval, staleness: *staleness, timeout: *timeout,
	}
	var err error
	if cfg.baseURL, err = loopbackURL(*rawURL); err != nil {
		return err
	}
	if err := checkServices(cfg.services); err != nil {
		return err
	}
	if cfg.email == "" || cfg.password == "" {
		return fmt.Errorf("--email and --password are required")
	}
	if cfg.concurrency < 1 || cfg.concurrency > 256 {
		return fmt.Errorf("--concurrency must be in [1, 256], got %d", cfg.concurrency)
	}
	if cfg.timeout <= 0 || cfg.timeout > 30*time.Minute {
		return fmt.Errorf("--timeout must be in (0, 30m], got %s", cfg.timeout)
	}
	return runSetup(context.Background(), cfg)
}

// runSetup authenticates and creates the services concurrently.
func runSetup(ctx context.Context, cfg setupConfig) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	client := newClient(cfg.concurrency, 30*time.Second)
	defer client.CloseIdleConnections()

	start := time.Now()
	token, err := superuserToken(ctx, client, cfg)
	if err != nil {
		return err
	}

	var created, existed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() {
			firstErr = err
			cancel()
		})
	}

	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.services {
					return
				}
				isNew, err := createService(ctx, client, cfg, token, i)
				if err != nil {
					fail(err)
					return
				}
				if isNew {
					created.Add(1)
				} else {
					existed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("setup did not finish within %s: %w", cfg.timeout, err)
	}
	fmt.Printf("setup: %d services (created %d, already existed %d) in %.2fs\n",
		cfg.services, created.Load(), existed.Load(), time.Since(start).Seconds())
	return nil
}

// superuserToken logs in with the superuser's email and password and
// returns the auth token.
func superuserToken(ctx context.Context, client *http.Client, cfg setupConfig) (string, error) {
	body, err := json.Marshal(map[string]string{"identity": cfg.email, "password": cfg.password})
	if err != nil {
		return "", fmt.Errorf("encode login body: %w", err)
	}
	u := cfg.baseURL + "/api/collections/_superusers/auth-with-password"
	status, resp, _, err := postJSON(ctx, client, u, "", body)
	if err != nil {
		return "", fmt.Errorf("superuser login: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("superuser login: HTTP %d: %.300s", status, resp)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		return "", fmt.Errorf("superuser login: decode reply: %w", err)
	}
	if out.Token == "" {
		return "", fmt.Errorf("superuser login: reply has no token: %.300s", resp)
	}
	return out.Token, nil
}

// createService creates the i-th service. It reports whether the service
// was new (false: it already existed). Overload replies (429, 503, 5xx)
// and transport errors are retried a few times with backoff.
func createService(ctx context.Context, client *http.Client, cfg setupConfig, token string, i int) (bool, error) {
	id := serviceID(i)
	body, err := json.Marshal(map[string]any{
		"serviceId":          id,
		"name":               id,
		"apiKey":             benchKey(i),
		"pingId":             benchPingID(i),
		"interval":           cfg.interval,
		"stalenessThreshold": cfg.staleness,
	})
	if err != nil {
		return false, fmt.Errorf("encode service %s: %w", id, err)
	}
	u := cfg.baseURL + "/api/collections/services/records"
	const attempts = 6
	backoff := 100 * time.Millisecond
	var lastErr error
	for range attempts {
		status, resp, retryAfter, err := postJSON(ctx, client, u, token, body)
		switch {
		case err != nil:
			lastErr = fmt.Errorf("create service %s: %w", id, err)
		case status >= 200 && status < 300:
			return true, nil
		case status == http.StatusBadRequest && alreadyExists(resp):
			return false, nil
		case status == http.StatusTooManyRequests || status >= 500:
			lastErr = fmt.Errorf("create service %s: HTTP %d: %.300s", id, status, resp)
		default:
			return false, fmt.Errorf("create service %s: HTTP %d: %.300s", id, status, resp)
		}
		wait := backoff
		if retryAfter > 0 {
			wait = retryAfter
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%w (gave up: %w)", lastErr, ctx.Err())
		case <-time.After(min(wait, 5*time.Second)):
		}
		backoff *= 2
	}
	return false, fmt.Errorf("%w (after %d attempts)", lastErr, attempts)
}

// alreadyExists tells whether a 400 reply says a unique field is taken.
func alreadyExists(body []byte) bool {
	s := strings.ToLower(string(body))
	return strings.Contains(s, "unique") || strings.Contains(s, "already exists")
}

// postJSON POSTs body to u with an optional raw Authorization header and
// returns the status, the body (at most 1 MiB) and any Retry-After delay.
func postJSON(ctx context.Context, client *http.Client, u, auth string, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("read reply: %w", err)
	}
	var retryAfter time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, data, retryAfter, nil
}
