package api

import (
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/pocketbase/core"
)

// CanRead reports whether the request may use the read routes: --publicStatus, a
// PocketBase user or superuser token, the dashboard's session cookie, or an api_keys
// key with the read scope.
func (a *API) CanRead(e *core.RequestEvent) bool {
	if a.PublicStatus {
		return true
	}
	if e.Auth != nil && (e.Auth.IsSuperuser() || e.Auth.Collection().Name == "users") {
		return true
	}
	if a.CanReadSession != nil && a.CanReadSession(e) {
		return true
	}
	_, ok := a.Registry.AuthorizeScope(bearer(e.Request), ingest.ScopeRead)
	return ok
}

// RequireReader is the middleware of the read routes; it answers 401 in the seed's shape.
func (a *API) RequireReader(e *core.RequestEvent) error {
	if !a.CanRead(e) {
		return unauthorized(e)
	}
	return e.Next()
}
