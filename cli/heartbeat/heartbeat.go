// Package heartbeat is a Go client for POST /api/heartbeat and the /ping URLs, the twin
// of the scripts in clients/: one request per send (a single beat, one batch, or one
// ping), a timeout per attempt, and a bounded retry with backoff on network errors, 5xx
// and 429 (never on another 4xx), honouring Retry-After. It has no PocketBase import,
// so any Go program can use it.
package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults a zero Client uses.
const (
	DefaultTimeout = 10 * time.Second
	DefaultRetries = 3
	// MaxRetryAfter caps how long a Retry-After may hold a beat back: a beat that waits
	// longer than about half of a 2-minute interval is no longer worth sending late.
	MaxRetryAfter = 60 * time.Second
	firstBackoff  = time.Second
	maxBackoff    = 30 * time.Second
	maxReplyBytes = 1 << 20
)

// Beat is one service's heartbeat, in the seed contract's field names.
type Beat struct {
	ServiceID string         `json:"serviceId"`
	Status    string         `json:"status,omitempty"` // up (the server's default), down or degraded
	Message   string         `json:"message,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// Client sends beats to one server. The zero value of every field but URL and Key is
// usable.
type Client struct {
	URL     string      // the server's base URL, or the full .../api/heartbeat URL
	Key     string      // sent as "Authorization: Bearer <key>"
	Header  http.Header // extra headers, e.g. Cloudflare Access's CF-Access-Client-Id
	Timeout time.Duration
	Retries int // attempts after the first; negative means none
	HTTP    *http.Client

	// Sleep waits between attempts; tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// EntryError is a batch entry the server refused.
type EntryError struct {
	ServiceID string `json:"serviceId"`
	Error     string `json:"error"`
}

// Result is an accepted request: 200 (every beat stored) or 207 (some were).
type Result struct {
	StatusCode int
	Message    string       // the server's message, e.g. "Heartbeat received"
	Failed     []EntryError // the refused entries of a 207
	Attempts   int
}

// Error is a request the server did not accept, or could not be reached for.
type Error struct {
	StatusCode int    // 0 when no HTTP reply came back
	Reason     string // one line: the server's error message or the network error
	Attempts   int
}

func (e *Error) Error() string {
	tries := ""
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.StatusCode == 0 {
		return "heartbeat: " + e.Reason + tries
	}
	return fmt.Sprintf("heartbeat: HTTP %d: %s%s", e.StatusCode, e.Reason, tries)
}

// Endpoint returns the heartbeat URL for a base URL: /api/heartbeat is appended unless
// the URL already ends with it.
func Endpoint(base string) string {
	u := strings.TrimRight(strings.TrimSpace(base), "/")
	if strings.HasSuffix(u, "/api/heartbeat") {
		return u
	}
	return u + "/api/heartbeat"
}

// Body returns the request body for beats: the beat itself when there is one, a batch
// `{"services":[...]}` of per-entry objects when there are more.
func Body(beats []Beat) ([]byte, error) {
	switch len(beats) {
	case 0:
		return nil, errors.New("heartbeat: no service to send a beat for")
	case 1:
		return json.Marshal(beats[0])
	}
	return json.Marshal(struct {
		Services []Beat `json:"services"`
	}{beats})
}

// Send posts beats in one request (a batch when there are several) and retries it on
// network errors, 5xx and 429. It returns a *Error when the beats were not accepted.
func (c *Client) Send(ctx context.Context, beats ...Beat) (Result, error) {
	body, err := Body(beats)
	if err != nil {
		return Result{}, err
	}
	var res Result
	attempts, err := c.retry(ctx, func(ctx context.Context) (time.Duration, *Error) {
		r, wait, fail := c.try(ctx, body)
		res = r
		return wait, fail
	})
	if err != nil {
		return Result{}, err
	}
	res.Attempts = attempts
	return res, nil
}

// retry makes attempts until one succeeds, fails in a way a retry cannot help (wait < 0),
// the retries are spent, or ctx ends. It returns the number of attempts made.
func (c *Client) retry(ctx context.Context, try func(context.Context) (time.Duration, *Error)) (int, error) {
	retries := max(c.Retries, 0)
	for attempt := 1; ; attempt++ {
		wait, err := try(ctx)
		if err == nil {
			return attempt, nil
		}
		err.Attempts = attempt
		if wait < 0 || attempt > retries || ctx.Err() != nil {
			return attempt, err
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		if c.sleep(ctx, wait) != nil {
			return attempt, err
		}
	}
}

// reply is the part of a heartbeat reply the client reads.
type reply struct {
	Success *bool        `json:"success"`
	Message string       `json:"message"`
	Error   string       `json:"error"`
	Results []EntryError `json:"results"`
}

// try makes one attempt. On failure wait is -1 when a retry cannot help, the server's
// Retry-After when it gave one, and 0 to let the caller back off.
func (c *Client) try(ctx context.Context, body []byte) (res Result, wait time.Duration, fail *Error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, Endpoint(c.URL), bytes.NewReader(body))
	if err != nil {
		return Result{}, -1, &Error{Reason: err.Error()}
	}
	c.setHeaders(req)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Key)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return Result{}, 0, &Error{Reason: oneLine(err.Error())}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return Result{}, 0, &Error{StatusCode: resp.StatusCode, Reason: "reading the reply: " + oneLine(err.Error())}
	}
	var r reply
	jsonErr := json.Unmarshal(raw, &r)

	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusMultiStatus:
		// A proxy's login page can answer 200 too: only the API's own reply counts.
		if jsonErr != nil || r.Success == nil || !*r.Success {
			return Result{}, -1, &Error{StatusCode: code, Reason: "unexpected reply (is the URL the heartbeat server?): " + snippet(raw)}
		}
		res := Result{StatusCode: code, Message: r.Message}
		for _, e := range r.Results {
			if e.Error != "" {
				res.Failed = append(res.Failed, e)
			}
		}
		return res, 0, nil
	case code >= 300 && code < 400:
		return Result{}, -1, &Error{StatusCode: code, Reason: "redirected to " + resp.Header.Get("Location") + " (use the server's final URL; a proxy login in front of it?)"}
	default:
		reason := snippet(raw)
		switch {
		case jsonErr != nil:
		case r.Error != "":
			reason = r.Error
		case r.Message != "":
			reason = r.Message
			sep := ": "
			for _, e := range r.Results {
				if e.Error != "" {
					reason += sep + e.ServiceID + ": " + e.Error
					sep = "; "
				}
			}
		}
		fail := &Error{StatusCode: code, Reason: reason}
		if code != http.StatusTooManyRequests && code < 500 {
			return Result{}, -1, fail
		}
		return Result{}, RetryAfter(resp.Header.Get("Retry-After"), time.Now()), fail
	}
}

// setHeaders adds the client's extra headers and a User-Agent unless they set one.
func (c *Client) setHeaders(req *http.Request) {
	for name, values := range c.Header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "heartbeat-monitor-go")
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return noRedirects
}

// noRedirects never follows a redirect: a redirected POST becomes a GET, and a 200 from
// wherever it lands must not pass for an accepted beat.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the wait before retry n (1-based): 1 s, 2 s, 4 s ... up to 30 s, plus up to
// a quarter more at random so clients started by the same cron minute spread out.
func backoff(n int) time.Duration {
	d := firstBackoff << min(n-1, 5)
	d = min(d, maxBackoff)
	return d + rand.N(d/4+1)
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date) into a wait of at
// most MaxRetryAfter; 0 means the header gave none.
func RetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(h); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, MaxRetryAfter)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func snippet(raw []byte) string {
	s := oneLine(string(raw))
	if s == "" {
		return "(empty reply)"
	}
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return s
}
