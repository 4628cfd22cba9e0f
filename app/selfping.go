package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/alerting"
	"github.com/pocketbase/pocketbase/core"
)

// The self-ping (--selfPing URL): the server GETs an outside URL every minute, a
// Healthchecks-style ping URL or /ping/<pingId> of another instance of this server, so
// that whatever watches that URL tells someone when this server is gone. One ping at a
// time, each bounded by selfPingTimeout, no retries: a ping that fails is logged and the
// next one goes at the next tick (a tick missed while a ping hangs is dropped, never
// queued). The URL's path is its secret, so logs name its scheme and host alone.

// DefaultSelfPingEvery is how often the server pings its --selfPing URL.
const DefaultSelfPingEvery = time.Minute

// selfPingTimeout bounds one ping (less when the pings are closer together).
const selfPingTimeout = 10 * time.Second

// selfPinger pings one URL at each tick.
type selfPinger struct {
	url     string
	timeout time.Duration
	client  *http.Client
	logger  *slog.Logger

	failures int // failures in a row
}

// newSelfPinger checks raw and returns a pinger for it.
func newSelfPinger(raw string, every time.Duration, logger *slog.Logger) (*selfPinger, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("app: --selfPing: want an http or https URL with a host")
	}
	return &selfPinger{url: raw, timeout: min(selfPingTimeout, max(every/2, time.Second)),
		client: &http.Client{}, logger: logger}, nil
}

// redactedURL is the URL as logs show it: scheme and host, the secret path left out.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// run pings at once, then at each tick, until ctx ends.
func (p *selfPinger) run(ctx context.Context, tick <-chan time.Time) {
	for {
		p.pingAndLog(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// pingAndLog pings once and logs a failure, or the first success after failures.
func (p *selfPinger) pingAndLog(ctx context.Context) {
	err := p.ping(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return // a stop is no failure
	case err != nil:
		p.failures++
		p.logger.Warn("self-ping failed", "url", redactedURL(p.url), "failures", p.failures, "error", err)
	case p.failures > 0:
		p.logger.Info("self-ping works again", "url", redactedURL(p.url), "after", p.failures)
		p.failures = 0
	}
}

// ping sends one GET and wants a 2xx. Its error never holds the URL (the client's own
// errors do, so they are reduced to their cause).
func (p *selfPinger) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return errors.New("app: self-ping: bad request")
	}
	req.Header.Set("User-Agent", "heartbeat-monitor self-ping")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("app: self-ping: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)); err != nil {
		return fmt.Errorf("app: self-ping: read reply: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("app: self-ping: HTTP %d", resp.StatusCode)
	}
	return nil
}

// bindSelfPing starts the self-ping when the server starts (a URL that is not one stops
// the start) and stops it when the server stops.
func bindSelfPing(app core.App, s *server) {
	var (
		cancel context.CancelFunc
		wg     sync.WaitGroup
	)
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if s.cfg.SelfPing == "" {
			return se.Next()
		}
		every := s.cfg.SelfPingEvery
		if every <= 0 {
			every = DefaultSelfPingEvery
		}
		log := alerting.LoudLogger(app) // a watcher that cannot be watched is worth a line in the service's log
		p, err := newSelfPinger(s.cfg.SelfPing, every, log)
		if err != nil {
			return err
		}
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			p.run(ctx, t.C)
		}()
		log.Info("self-ping on", "url", redactedURL(s.cfg.SelfPing), "every", every.String())
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(te *core.TerminateEvent) error {
		if cancel != nil {
			cancel()
			wg.Wait()
		}
		return te.Next()
	})
}
