package api

import (
	"net/http"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// ReplicationReport is the state of continuous replication (--replicate), as the app
// reads it from the replicator.
type ReplicationReport struct {
	Target string // the replica's URL without credentials
	// ReplicatedThrough: every transaction committed before it is in the replica.
	ReplicatedThrough time.Time
	Lag               time.Duration
	LocalTXID         uint64
	ReplicaTXID       uint64
	Failures          int    // rounds failed in a row
	LastError         string // internal error text: superusers only
	LastErrorAt       time.Time
}

// replicationOKLag is the lag past which replication is reported as not ok: the
// replicator ships every 250 ms, so 5 s behind means the replica is failing or slow.
const replicationOKLag = 5 * time.Second

// replicationReply is the JSON shape of the replication status.
type replicationReply struct {
	Enabled           bool    `json:"enabled"`
	OK                bool    `json:"ok"`
	LagSeconds        float64 `json:"lagSeconds"`
	ReplicatedThrough string  `json:"replicatedThrough,omitempty"`
	Failures          int     `json:"failures"`
	LocalTXID         uint64  `json:"localTxid,omitempty"`
	ReplicaTXID       uint64  `json:"replicaTxid,omitempty"`
	Target            string  `json:"target,omitempty"`
	LastError         string  `json:"lastError,omitempty"`
	LastErrorAt       string  `json:"lastErrorAt,omitempty"`
}

func (a *API) replicationReply(now time.Time, superuser bool) replicationReply {
	if a.Replication == nil {
		return replicationReply{}
	}
	r, ok := a.Replication(now)
	if !ok {
		return replicationReply{}
	}
	out := replicationReply{Enabled: true, OK: r.Failures == 0 && r.Lag <= replicationOKLag,
		LagSeconds: r.Lag.Seconds(), Failures: r.Failures}
	if !r.ReplicatedThrough.IsZero() {
		out.ReplicatedThrough = r.ReplicatedThrough.UTC().Format(time.RFC3339Nano)
	}
	if superuser {
		out.Target, out.LocalTXID, out.ReplicaTXID, out.LastError = r.Target, r.LocalTXID, r.ReplicaTXID, r.LastError
		if !r.LastErrorAt.IsZero() {
			out.LastErrorAt = r.LastErrorAt.UTC().Format(time.RFC3339Nano)
		}
	}
	return out
}

// ReplicationPublic is the replication field of GET /api/health, which anyone may read:
// on or off, ok, the lag and the failures in a row; never the replica or an error's text.
func (a *API) ReplicationPublic(now time.Time) any { return a.replicationReply(now, false) }

// ReplicationGet answers GET /api/health/replication: what ReplicationPublic says, to
// anyone who may read the status, and to superusers also the replica (its URL without
// credentials), the transaction ids and the last error.
func (a *API) ReplicationGet(e *core.RequestEvent) error {
	superuser := e.Auth != nil && e.Auth.IsSuperuser()
	if !superuser && !a.CanRead(e) {
		return unauthorized(e)
	}
	return e.JSON(http.StatusOK, a.replicationReply(a.Now(), superuser))
}
