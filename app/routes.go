package app

import (
	"net/http"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/dashboard"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// bindRoutes is the route table: every URL the monitor serves besides PocketBase's own.
// The JSON API's handlers are in api/ (one file per resource), the pages' in dashboard/.
//
// POST /api/heartbeat has a 405 for its other methods (OPTIONS is left to PocketBase's
// CORS middleware); refused beats are kept out of the request log and counted per
// minute instead (api/refusals.go). The dashboard's session cookie is read by the pages
// and the read API only.
//
// POST /api/heartbeat is also served ahead of PocketBase's router by the fast path
// (fastbeat.go), with the same middleware and handler as its route below: beats without
// an Origin header, on a plain host, under PocketBase's body limit and with its rate
// limits off, which is every beat a client script sends. The route serves every other
// one, and the tests that go through the router.
func bindRoutes(se *core.ServeEvent, a *api.API, d *dashboard.Dashboard, fast *fastBeat) {
	// The JSON API.
	fast.bind(a.HeartbeatCreate, a.CountRefusals) // the fast path: keep it in step with the route
	se.Router.POST(heartbeatPath, a.HeartbeatCreate).
		Bind(apis.SkipSuccessActivityLog()).
		BindFunc(a.CountRefusals).
		Unbind(apis.DefaultLoadAuthTokenMiddlewareId) // beats carry service keys, never PocketBase tokens
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} { // GET covers HEAD
		se.Router.Route(method, "/api/heartbeat", api.HeartbeatWrongMethod).
			Bind(apis.SkipSuccessActivityLog()).
			BindFunc(a.CountRefusals).
			Unbind(apis.DefaultLoadAuthTokenMiddlewareId)
	}
	// The ping URLs of Healthchecks' dialect (GET covers HEAD); the fast path serves them
	// too, as it does beats.
	fast.bindPing(a.Ping, a.CountRefusals)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		se.Router.Route(method, api.PingPathPrefix+"{path...}", a.Ping).
			Bind(apis.SkipSuccessActivityLog()).
			BindFunc(a.CountRefusals).
			Unbind(apis.DefaultLoadAuthTokenMiddlewareId) // a ping URL is its own key
	}
	se.Router.GET("/api/status", a.StatusGet).BindFunc(a.RequireReader)
	se.Router.GET("/api/services", a.ServicesList).BindFunc(a.RequireReader)
	se.Router.GET("/api/uptime", a.UptimeGet).BindFunc(a.RequireReader)
	// PocketBase owns GET /api/logs (the admin log viewer); ours answers only when a
	// serviceId is asked for, so it is a router-level middleware, not a second route.
	se.Router.Bind(&hook.Handler[*core.RequestEvent]{Id: logsMiddlewareID, Func: a.LogsMiddleware})
	se.Router.Bind(&hook.Handler[*core.RequestEvent]{Id: api.HealthMiddlewareID, Func: a.Health.Middleware}) // PocketBase's GET /api/health, with our fields
	// Readers see the replication's lag; superusers also the replica and its last error.
	se.Router.GET("/api/health/replication", a.ReplicationGet)
	se.Router.POST("/api/alert", a.AlertCreate).
		Unbind(apis.DefaultLoadAuthTokenMiddlewareId) // alert keys are api_keys keys, never PocketBase tokens
	se.Router.GET("/api/alerts/recent", a.AlertsRecent).BindFunc(a.RequireReader)
	se.Router.POST("/api/channels/{id}/test", a.ChannelTest).Bind(apis.RequireSuperuserAuth())

	// The dashboard: its assets, the login, and the pages behind it.
	se.Router.GET("/static/{path...}", dashboard.StaticGet).Bind(apis.Gzip(), apis.SkipSuccessActivityLog())

	se.Router.GET("/login", d.LoginGet).BindFunc(dashboard.PageHeaders)
	se.Router.POST("/login", d.LoginPost).BindFunc(dashboard.PageHeaders).Bind(apis.BodyLimit(dashboard.MaxFormBytes))

	pages := se.Router.Group("")
	pages.BindFunc(dashboard.PageHeaders, d.RequireSession)
	pages.GET("/{$}", d.OverviewGet)
	pages.GET("/overview/live", d.OverviewLive)
	pages.GET("/services/{serviceId}", d.ServiceGet)
	pages.GET("/services/{serviceId}/state", d.ServiceState)
	pages.GET("/services/{serviceId}/heartbeats", d.ServiceBeats)
	pages.GET("/services/{serviceId}/runs", d.ServiceRuns)
	pages.GET("/logout", d.LogoutGet)
	pages.POST("/logout", d.LogoutPost).Bind(apis.BodyLimit(dashboard.MaxFormBytes))
	pages.POST("/logout/everywhere", d.LogoutEverywherePost).Bind(apis.BodyLimit(dashboard.MaxFormBytes))
}
