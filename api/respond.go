package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// isoLayout is the seed's timestamp format: ISO-8601 UTC with milliseconds.
const isoLayout = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Format(isoLayout) }

// seedError is the seed contract's error body: {"error":"..."}.
type seedError struct {
	Error string `json:"error"`
}

// writeJSON answers with compact JSON (some shell clients grep for `"success":true`) and
// without escaping <, > and & so messages read as the client sent them.
func writeJSON(e *core.RequestEvent, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return e.InternalServerError("", err)
	}
	e.Response.Header().Set("Content-Type", "application/json")
	e.Response.Header().Set("X-Content-Type-Options", "nosniff")
	e.Response.WriteHeader(status)
	_, err := e.Response.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return err
}

func fail(e *core.RequestEvent, status int, msg string) error {
	return writeJSON(e, status, seedError{Error: msg})
}

// retryAfter sets Retry-After in whole seconds, at least one.
func retryAfter(e *core.RequestEvent, d time.Duration) {
	secs := int(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	e.Response.Header().Set("Retry-After", strconv.Itoa(secs))
}

func unauthorized(e *core.RequestEvent) error {
	return fail(e, http.StatusUnauthorized, "Unauthorized")
}

// bearer returns the key in an "Authorization: Bearer <key>" header (the scheme is
// matched case-insensitively; a bare key is accepted too, as PocketBase does).
func bearer(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}
