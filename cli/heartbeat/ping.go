package heartbeat

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ping is one request of the ping URLs (/ping/<key>/<serviceId>[/<kind>]), Healthchecks'
// dialect: the key travels in the path, the body is plain text.
type Ping struct {
	ServiceID string
	// Kind follows the service id in the path: "" (success), "start", "fail", "log", or
	// an exit status "0" to "255" (see ExitKind).
	Kind string
	// RunID ties a start to its finish (a UUID, see NewRunID); "" sends none.
	RunID string
	// Deadline, on a start, bounds the run: the server marks the service down when the
	// run has not finished by then. 0 sends none.
	Deadline time.Duration
	Body     []byte // stored with the ping, up to the server's Ping-Body-Limit
}

// ExitKind is the Kind of a ping that reports an exit status, clamped to 0-255.
func ExitKind(code int) string {
	return strconv.Itoa(min(max(code, 0), 255))
}

// NewRunID returns a random (version 4) UUID to use as a run id.
func NewRunID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error (Go 1.24+): it crashes the program instead.
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Errorf("heartbeat: run id: %w", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// PingBase returns the server's base URL for a configured URL, which may be the base or
// the full .../api/heartbeat URL.
func PingBase(configured string) string {
	u := strings.TrimRight(strings.TrimSpace(configured), "/")
	return strings.TrimRight(strings.TrimSuffix(u, "/api/heartbeat"), "/")
}

// PingURL returns the URL of p for the server at base, with key and service id escaped.
func PingURL(base, key string, p Ping) string {
	u := PingBase(base) + "/ping/" + url.PathEscape(key) + "/" + url.PathEscape(p.ServiceID)
	if p.Kind != "" {
		u += "/" + url.PathEscape(p.Kind)
	}
	q := url.Values{}
	if p.RunID != "" {
		q.Set("rid", p.RunID)
	}
	if p.Deadline > 0 {
		q.Set("timeout", strconv.FormatInt(int64(math.Ceil(p.Deadline.Seconds())), 10)+"s")
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Ping sends p with the client's key and retries it as Send does (network errors, 5xx
// and 429, honouring Retry-After; never another 4xx). It returns a *Error when the
// server did not answer "OK" or "Created".
func (c *Client) Ping(ctx context.Context, p Ping) error {
	_, err := c.retry(ctx, func(ctx context.Context) (time.Duration, *Error) {
		return c.tryPing(ctx, p)
	})
	return err
}

func (c *Client) tryPing(ctx context.Context, p Ping) (time.Duration, *Error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, PingURL(c.URL, c.Key, p), bytes.NewReader(p.Body))
	if err != nil {
		return -1, &Error{Reason: err.Error()}
	}
	c.setHeaders(req)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		// The URL holds the key: say what failed without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, &Error{Reason: oneLine(err.Error())}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return 0, &Error{StatusCode: resp.StatusCode, Reason: "reading the reply: " + oneLine(err.Error())}
	}
	switch code, text := resp.StatusCode, strings.TrimSpace(string(raw)); {
	case code == http.StatusOK || code == http.StatusCreated:
		// A proxy's login page can answer 200 too: only the ping route's own reply counts.
		if text != "OK" && text != "Created" {
			return -1, &Error{StatusCode: code, Reason: "unexpected reply (is the URL the heartbeat server?): " + snippet(raw)}
		}
		return 0, nil
	case code >= 300 && code < 400:
		return -1, &Error{StatusCode: code, Reason: "redirected to " + resp.Header.Get("Location") + " (use the server's final URL; a proxy login in front of it?)"}
	case code == http.StatusTooManyRequests || code >= 500:
		return RetryAfter(resp.Header.Get("Retry-After"), time.Now()), &Error{StatusCode: code, Reason: snippet(raw)}
	default:
		return -1, &Error{StatusCode: code, Reason: snippet(raw)}
	}
}
