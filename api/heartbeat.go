package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/pocketbase/core"
)

// beatResult is one entry of a batch reply.
type beatResult struct {
	ServiceID string `json:"serviceId"`
	Success   bool   `json:"success"`
	Timestamp string `json:"timestamp,omitempty"`
	Error     string `json:"error,omitempty"`
}

type heartbeatReply struct {
	Success   bool         `json:"success"`
	Message   string       `json:"message"`
	Timestamp string       `json:"timestamp,omitempty"`
	Results   []beatResult `json:"results,omitempty"`
}

const errRateLimited = "Rate limit exceeded"

// maxUserAgentChars is what the heartbeats collection's userAgent field holds.
const maxUserAgentChars = 500

// refuse answers a beat with a seed-shaped error and returns a *refusedBeat, which the
// route's countRefusals middleware counts per minute instead of PocketBase logging a
// request row for each (see refusals.go).
func refuse(e *core.RequestEvent, status int, msg string) error {
	if err := fail(e, status, msg); err != nil {
		return err
	}
	return &refusedBeat{status: status, msg: msg}
}

// refuseJSON is refuse for a reply with a body other than {"error":...}.
func refuseJSON(e *core.RequestEvent, status int, v any, msg string) error {
	if err := writeJSON(e, status, v); err != nil {
		return err
	}
	return &refusedBeat{status: status, msg: msg}
}

// HeartbeatCreate is POST /api/heartbeat: parse, authorise, rate-limit, commit, answer.
// It answers 2xx only after the beats are committed.
func (a *API) HeartbeatCreate(e *core.RequestEvent) error {
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, monitor.MaxBodyBytes+1))
	if err != nil {
		return refuse(e, http.StatusBadRequest, "Could not read request body")
	}
	if len(body) > monitor.MaxBodyBytes {
		return refuse(e, http.StatusRequestEntityTooLarge, "Request body too large (max 64 KiB)")
	}
	req, err := monitor.ParseHeartbeat(body)
	if err != nil {
		return refuse(e, http.StatusBadRequest, err.Error())
	}
	now := a.Now().UTC().Truncate(time.Millisecond)
	if req.Batch {
		return a.heartbeatBatch(e, req, now)
	}

	b := req.Beats[0]
	key := bearer(e.Request)
	if key == "" {
		key = b.Token
	}
	grant, refusal := a.Registry.AuthorizeBeat(b.ServiceID, key)
	switch refusal {
	case monitor.ErrUnknownService:
		return refuse(e, http.StatusNotFound, refusal)
	case monitor.ErrInvalidKey:
		return refuse(e, http.StatusUnauthorized, refusal)
	}
	if ok, wait := a.Limiter.Allow(grant.LimitKey(), 1, now); !ok {
		retryAfter(e, wait)
		return refuse(e, http.StatusTooManyRequests, errRateLimited)
	}
	if stored, err := a.commit(e, []ingest.Beat{a.beat(e, grant, b, now)}); !stored {
		return err
	}
	return beatReceived(e, now)
}

// beatReceived is the 200 reply to a single beat stored at now: writeJSON's bytes and
// headers for heartbeatReply{Success: true, Message: "Heartbeat received", Timestamp},
// appended by hand (nothing in it needs escaping), as the hot path's most frequent reply.
func beatReceived(e *core.RequestEvent, now time.Time) error {
	b := make([]byte, 0, 96)
	b = append(b, `{"success":true,"message":"Heartbeat received","timestamp":"`...)
	b = now.UTC().AppendFormat(b, isoLayout)
	b = append(b, `"}`...)
	e.Response.Header().Set("Content-Type", "application/json")
	e.Response.Header().Set("X-Content-Type-Options", "nosniff")
	e.Response.WriteHeader(http.StatusOK)
	if _, err := e.Response.Write(b); err != nil {
		return fmt.Errorf("api: heartbeat reply: %w", err)
	}
	return nil
}

// heartbeatBatch answers a batch: 200 when every entry is stored, 207 when some are,
// 400 (or 429 when the limit alone refused them) when none is.
func (a *API) heartbeatBatch(e *core.RequestEvent, req monitor.Request, now time.Time) error {
	header := bearer(e.Request)
	results := make([]beatResult, len(req.Beats))
	beats := make([]ingest.Beat, 0, len(req.Beats))
	limited, wait := 0, time.Duration(0)
	for i, b := range req.Beats {
		results[i] = beatResult{ServiceID: b.ServiceID, Error: req.EntryErrors[i]}
		if results[i].Error != "" {
			continue
		}
		key := b.Token
		if key == "" {
			key = header
		}
		grant, refusal := a.Registry.AuthorizeBeat(b.ServiceID, key)
		if refusal != "" {
			results[i].Error = refusal
			continue
		}
		if ok, w := a.Limiter.Allow(grant.LimitKey(), 1, now); !ok {
			results[i].Error = errRateLimited
			limited++
			wait = max(wait, w)
			continue
		}
		results[i].Success, results[i].Timestamp = true, iso(now)
		beats = append(beats, a.beat(e, grant, b, now))
	}
	if stored, err := a.commit(e, beats); !stored {
		return err
	}

	failed := len(results) - len(beats)
	switch {
	case failed == 0:
		return writeJSON(e, http.StatusOK, heartbeatReply{Success: true, Timestamp: iso(now),
			Message: fmt.Sprintf("Batch heartbeat received for %d service(s)", len(beats)), Results: results})
	case len(beats) > 0:
		return writeJSON(e, http.StatusMultiStatus, heartbeatReply{Success: true, Timestamp: iso(now),
			Message: fmt.Sprintf("Partial success: %d succeeded, %d failed", len(beats), failed), Results: results})
	case limited == failed:
		retryAfter(e, wait)
		return refuseJSON(e, http.StatusTooManyRequests, heartbeatReply{Message: errRateLimited, Results: results}, errRateLimited)
	}
	return refuseJSON(e, http.StatusBadRequest, heartbeatReply{Message: "All heartbeats failed", Results: results}, "All heartbeats failed")
}

func (a *API) beat(e *core.RequestEvent, g ingest.Grant, b monitor.Beat, now time.Time) ingest.Beat {
	// Normalised like the beat's own text, and cut at a character (the column holds 500).
	ua := monitor.CleanText(e.Request.UserAgent())
	if utf8.RuneCountInString(ua) > maxUserAgentChars {
		ua = string([]rune(ua)[:maxUserAgentChars])
	}
	return ingest.Beat{
		ServiceRecordID: g.Service.RecordID,
		APIKeyID:        g.APIKeyID,
		Status:          b.Status,
		Message:         b.Message,
		Metadata:        b.Metadata,
		SourceIP:        e.RealIP(),
		UserAgent:       ua,
		At:              now,
	}
}

// commit commits beats and reports true, or answers with the 503 the client should retry
// on and reports false with the error of writing that answer.
func (a *API) commit(e *core.RequestEvent, beats []ingest.Beat) (bool, error) {
	err := a.Writer.Submit(e.Request.Context(), beats)
	switch {
	case err == nil:
		a.Alerts.BeatsCommitted(beats)
		return true, nil
	case errors.Is(err, ingest.ErrQueueFull), errors.Is(err, ingest.ErrClosed):
		retryAfter(e, time.Second)
		return false, refuse(e, http.StatusServiceUnavailable, "Server busy, retry later")
	default:
		a.App.Logger().Error("heartbeat commit failed", "error", err)
		retryAfter(e, 5*time.Second)
		return false, refuse(e, http.StatusServiceUnavailable, "Heartbeat could not be stored, retry later")
	}
}
