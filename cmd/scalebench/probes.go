package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// waitReady polls GET url (with the optional bearer key) until it answers
// 200, and returns when it did, counted from since.
func waitReady(ctx context.Context, client *http.Client, rawURL, key string, since time.Time, alive func() error) (time.Duration, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return 0, fmt.Errorf("scalebench: %w", err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err == nil {
			_, cerr := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && cerr == nil {
				return time.Since(since), nil
			}
		}
		if err := alive(); err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("scalebench: %s not ready after %s: %w", rawURL, time.Since(since).Round(time.Second), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// timedGet fetches rawURL, copies the whole body to sink and returns the
// time it took, the body size and the status code.
func timedGet(ctx context.Context, client *http.Client, rawURL string, header http.Header, sink io.Writer) (time.Duration, int64, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("scalebench: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("scalebench: GET %s: %w", req.URL.Path, err)
	}
	n, err := io.Copy(sink, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("scalebench: GET %s: read: %w", req.URL.Path, err)
	}
	return d, n, resp.StatusCode, nil
}

// repeatGet times GET rawURL times times and returns the median and the
// size of the last reply; a non-200 is an error. Each body goes to sink.
func repeatGet(ctx context.Context, client *http.Client, rawURL string, header http.Header, times int, sink io.Writer) (time.Duration, int64, error) {
	var ds []time.Duration
	var size int64
	for range times {
		d, n, code, err := timedGet(ctx, client, rawURL, header, sink)
		if err != nil {
			return 0, 0, err
		}
		if code != http.StatusOK {
			return 0, 0, fmt.Errorf("scalebench: GET %s: HTTP %d", rawURL, code)
		}
		ds = append(ds, d)
		size = n
	}
	return median(ds), size, nil
}

// counter counts the occurrences of a marker in what is written to it,
// also across writes, without keeping the stream.
type counter struct {
	marker []byte
	tail   []byte
	n      int
}

func (c *counter) Write(p []byte) (int, error) {
	buf := append(c.tail, p...)
	c.n += bytes.Count(buf, c.marker)
	// Keep the last len(marker)-1 bytes: a marker split across two writes
	// is counted once they are joined, and a whole one never twice.
	keep := min(len(buf), len(c.marker)-1)
	c.tail = append(c.tail[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// csrfInput finds the login form's hidden csrf value.
var csrfInput = regexp.MustCompile(`name="csrf"\s+value="([^"]+)"`)

// dashboardLogin logs in through the dashboard's own form (GET /login for
// the CSRF token and its cookie, POST /login) and returns the cookies of
// the session.
func dashboardLogin(ctx context.Context, client *http.Client, base, email, password string) ([]*http.Cookie, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if err != nil {
		return nil, fmt.Errorf("scalebench: login: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scalebench: GET /login: %w", err)
	}
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("scalebench: GET /login: %w", err)
	}
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("scalebench: GET /login (HTTP %d): no csrf field in the form", resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf": {html.UnescapeString(string(m[1]))}, "next": {"/"}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("scalebench: login: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp2, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scalebench: POST /login: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp2.Body, 4096))
	resp2.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("scalebench: POST /login: %w", err)
	}
	if resp2.StatusCode != http.StatusSeeOther && resp2.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scalebench: POST /login: HTTP %d: %.200s", resp2.StatusCode, body)
	}
	var session []*http.Cookie
	for _, c := range resp2.Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			session = append(session, c)
		}
	}
	if len(session) == 0 {
		return nil, fmt.Errorf("scalebench: POST /login: HTTP %d but no session cookie", resp2.StatusCode)
	}
	return session, nil
}

// cookieHeader is the Cookie header of cookies.
func cookieHeader(cookies []*http.Cookie) http.Header {
	parts := make([]string, 0, len(cookies))
	for _, c := range cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}
}

// pbAPI talks to PocketBase's records API as a superuser.
type pbAPI struct {
	client *http.Client
	base   string
	token  string
}

// superuserLogin authenticates a superuser with its password.
func superuserLogin(ctx context.Context, client *http.Client, base, email, password string) (*pbAPI, error) {
	api := &pbAPI{client: client, base: base}
	var out struct {
		Token string `json:"token"`
	}
	err := api.do(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": email, "password": password}, &out)
	if err != nil {
		return nil, err
	}
	if out.Token == "" {
		return nil, errors.New("scalebench: superuser login: no token")
	}
	api.token = out.Token
	return api, nil
}

// do sends a JSON request and decodes a JSON reply into out (if not nil).
func (a *pbAPI) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("scalebench: %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("scalebench: %s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("scalebench: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("scalebench: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("scalebench: %s %s: HTTP %d: %.300s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("scalebench: %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// hookReceiver is a local webhook endpoint that notes when each POST came.
type hookReceiver struct {
	srv  *http.Server
	url  string
	mu   sync.Mutex
	hits []hookHit
	got  chan struct{}
}

// hookHit is one webhook POST: its event header and arrival time.
type hookHit struct {
	event string
	at    time.Time
}

func newHookReceiver() (*hookReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("scalebench: webhook receiver: %w", err)
	}
	h := &hookReceiver{url: "http://" + l.Addr().String() + "/hook", got: make(chan struct{}, 16)}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)); err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.hits = append(h.hits, hookHit{event: r.Header.Get("X-Heartbeat-Event"), at: at})
		h.mu.Unlock()
		select {
		case h.got <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := h.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("scalebench: webhook receiver:", err)
		}
	}()
	return h, nil
}

// first returns when the first POST with event arrived, or false.
func (h *hookReceiver) first(event string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hit := range h.hits {
		if hit.event == event {
			return hit.at, true
		}
	}
	return time.Time{}, false
}

func (h *hookReceiver) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}

// alertResult is the delay of a down alert after its service's deadline.
type alertResult struct {
	// StartS is when the probe began, in seconds into the load.
	StartS     float64 `json:"startS"`
	ThresholdS int     `json:"thresholdS"`
	// QueuedMs is the notification row's created time minus the deadline
	// (last beat + stalenessThreshold), both by the server's clock.
	QueuedMs float64 `json:"queuedMs"`
	// SeenMs is when a poll of the notifications API first found it.
	SeenMs float64 `json:"seenMs"`
	// WebhookMs is when the local webhook received the POST.
	WebhookMs float64 `json:"webhookMs"`
	Error     string  `json:"error,omitempty"`
}

// measureAlert creates a service with a short threshold and a webhook
// channel for it alone, sends one beat and times the down alert.
func measureAlert(ctx context.Context, api *pbAPI, hook *hookReceiver, threshold time.Duration, wait time.Duration) (alertResult, error) {
	res := alertResult{ThresholdS: int(threshold.Seconds())}
	sid := fmt.Sprintf("sb-alert-%d", time.Now().UnixNano())
	key := serviceKey(-1) + "alert"
	var svc struct {
		ID string `json:"id"`
	}
	err := api.do(ctx, http.MethodPost, "/api/collections/services/records", map[string]any{
		"serviceId": sid, "name": "scalebench alert probe", "apiKey": key,
		"interval": max(1, int(threshold.Seconds())/2), "stalenessThreshold": int(threshold.Seconds()),
	}, &svc)
	if err != nil {
		return res, err
	}
	err = api.do(ctx, http.MethodPost, "/api/collections/channels/records", map[string]any{
		"name": "scalebench-" + sid, "type": "webhook", "events": []string{"down"}, "services": []string{svc.ID},
		"secrets": map[string]any{"url": hook.url},
	}, nil)
	if err != nil {
		return res, err
	}
	// A new service reaches the ingest registry through a record hook; the
	// first beat may come before it does, so retry a 404 for a while.
	var beatAt time.Time
	for try := 0; ; try++ {
		beatAt, err = probeBeat(ctx, api.client, api.base, sid, key)
		if err == nil || try >= 100 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return res, err
	}
	deadline := beatAt.Add(threshold)
	path := "/api/collections/notifications/records?perPage=1&filter=" +
		url.QueryEscape(fmt.Sprintf("service='%s' && event='down'", svc.ID))
	stop := time.Now().Add(threshold + wait)
	for res.SeenMs == 0 || res.WebhookMs == 0 {
		if res.SeenMs == 0 {
			var page struct {
				Items []struct {
					Created string `json:"created"`
				} `json:"items"`
			}
			if err := api.do(ctx, http.MethodGet, path, nil, &page); err != nil {
				return res, err
			}
			if len(page.Items) > 0 {
				res.SeenMs = msOf(time.Since(deadline))
				created, err := time.Parse(pbDateLayout, page.Items[0].Created)
				if err != nil {
					return res, fmt.Errorf("scalebench: notification created %q: %w", page.Items[0].Created, err)
				}
				res.QueuedMs = msOf(created.Sub(deadline))
			}
		}
		if at, ok := hook.first("down"); ok && res.WebhookMs == 0 {
			res.WebhookMs = msOf(at.Sub(deadline))
		}
		if time.Now().After(stop) {
			return res, fmt.Errorf("scalebench: no down alert (row seen: %t, webhook: %t) %s after the deadline",
				res.SeenMs != 0, res.WebhookMs != 0, wait)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-hook.got:
		case <-time.After(25 * time.Millisecond):
		}
	}
	return res, nil
}

// probeBeat sends one beat and returns the server's timestamp of it.
func probeBeat(ctx context.Context, client *http.Client, base, sid, key string) (time.Time, error) {
	body := fmt.Sprintf(`{"serviceId":%q,"status":"up"}`, sid)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/heartbeat", strings.NewReader(body))
	if err != nil {
		return time.Time{}, fmt.Errorf("scalebench: beat: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("scalebench: beat: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Timestamp string `json:"timestamp"`
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return time.Time{}, fmt.Errorf("scalebench: beat: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("scalebench: beat: HTTP %d: %.200s", resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return time.Time{}, fmt.Errorf("scalebench: beat reply: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, out.Timestamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("scalebench: beat timestamp %q: %w", out.Timestamp, err)
	}
	return at, nil
}
