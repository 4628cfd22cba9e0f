package hooks

import (
	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/pocketbase/pocketbase/core"
)

// canRead reports whether the request may use the read routes: --publicStatus, a
// PocketBase user or superuser token, the dashboard's session cookie, or an api_keys
// key with the read scope.
func (s *server) canRead(e *core.RequestEvent) bool {
	if s.cfg.PublicStatus {
		return true
	}
	if e.Auth != nil && (e.Auth.IsSuperuser() || e.Auth.Collection().Name == "users") {
		return true
	}
	if rec, _ := s.sessionRecord(e); rec != nil {
		return true
	}
	_, ok := s.reg.AuthorizeScope(bearer(e.Request), ingest.ScopeRead)
	return ok
}

// requireReader is the middleware of the read routes; it answers 401 in the seed's shape.
func (s *server) requireReader(e *core.RequestEvent) error {
	if !s.canRead(e) {
		return unauthorized(e)
	}
	return e.Next()
}
