package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/pocketbase/pocketbase/core"
)

// HealthMiddlewareID names the route table's GET /api/health middleware.
const HealthMiddlewareID = "heartbeatHealth"

// Health adds the monitor's own fields to PocketBase's GET /api/health reply, under its
// "data" object: the notification canary ("notifications"), and whatever else another
// part adds (replication, say) with Add. PocketBase owns the route (a second one would
// panic), so this is a router-level middleware that passes every other request on and
// rewrites only that reply. The reply's status stays PocketBase's: a platform's health
// check restarts a server whose health fails, and no field here is cured by a restart.
// The route is public: a field says what anyone may know.
type Health struct {
	mu     sync.Mutex
	fields []healthField
}

type healthField struct {
	name  string
	value func() any
}

// Add makes name a field of the health reply's data, valued by value at each request.
func (h *Health) Add(name string, value func() any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fields = append(h.fields, healthField{name, value})
}

// Middleware serves GET /api/health with the fields added, and passes everything else on.
func (h *Health) Middleware(e *core.RequestEvent) error {
	if e.Request.Method != http.MethodGet || e.Request.URL.Path != "/api/health" {
		return e.Next()
	}
	h.mu.Lock()
	fields := append([]healthField(nil), h.fields...)
	h.mu.Unlock()
	if len(fields) == 0 {
		return e.Next()
	}
	orig := e.Response
	buf := &bufferedResponse{header: orig.Header(), status: http.StatusOK}
	e.Response = buf
	err := e.Next()
	e.Response = orig
	if err != nil {
		return err
	}
	body := buf.body.Bytes()
	var reply map[string]any
	if buf.status == http.StatusOK && json.Unmarshal(body, &reply) == nil {
		data, _ := reply["data"].(map[string]any) // absent or not an object: a fresh one
		if data == nil {
			data = map[string]any{}
		}
		for _, f := range fields {
			data[f.name] = f.value()
		}
		reply["data"] = data
		if b, err := json.Marshal(reply); err == nil {
			body = b
		}
	}
	orig.Header().Del("Content-Length")
	orig.WriteHeader(buf.status)
	_, err = orig.Write(body)
	return err
}

// bufferedResponse holds a reply until the middleware has added its fields.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
