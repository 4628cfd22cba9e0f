package store

import (
	"time"

	"github.com/pocketbase/dbx"
)

// runRowsRead bounds the heartbeats rows LoadRuns reads: the newest rows of the kinds a
// run is made of. Retention keeps the newest rows of every service (100 by default), so
// the walk of the (service, created) index that finds them is bounded too.
const runRowsRead = 200

// Queries of a service's runs.
const (
	// SQLRunRows reads the newest rows of a service that begin or end a run, newest
	// first, along the heartbeats (service, created) index: starts, failures, exit
	// statuses, and successes that carried a run id or ended a run whose start was
	// known. Plain beats (kind "", no rid, no started) and logs are not runs.
	SQLRunRows = `SELECT IFNULL(kind, '') AS kind, IFNULL(status, '') AS status, IFNULL(exitStatus, 0) AS exitStatus,
		IFNULL(rid, '') AS rid, IFNULL(started, '') AS started, created
		FROM heartbeats WHERE service = {:id}
		AND (kind IN ('start', 'fail', 'exit') OR (kind = '' AND (started != '' OR rid != '')))
		ORDER BY created DESC, rowid DESC LIMIT {:n}`
)

// runRow is a heartbeats row that begins or ends a run.
type runRow struct {
	Kind       string  `db:"kind"`
	Status     string  `db:"status"`
	ExitStatus float64 `db:"exitStatus"`
	RID        string  `db:"rid"`
	Started    string  `db:"started"`
	Created    string  `db:"created"`
}

// Run is one run of a cron job as its pings tell it.
type Run struct {
	Start    time.Time     // zero when the start is unknown (a finish without a known start)
	End      time.Time     // zero for a run no finish ended: still open, or abandoned
	Duration time.Duration // End - Start when both are known
	Exit     int           // the exit status, when HasExit
	HasExit  bool
	Failed   bool   // it ended with /fail or a non-zero exit status
	RID      string // its run id, "" when none was given
}

// Measured reports whether the run's duration is known.
func (r Run) Measured() bool { return !r.Start.IsZero() && !r.End.IsZero() }

// LoadRuns reads the last n runs of service recordID, newest first (by the time of the
// ping that ended a run, or began one that has not ended). A finish is a run from its
// start (the row's started; unknown when empty) to its own time. A start is a run with
// no end unless a later finish ended it: one with the same run id (or, both without
// one, a rid-less finish) whose started is the start's own time.
func LoadRuns(db dbx.Builder, recordID string, n int) ([]Run, error) {
	rows, err := queryAll[runRow](db, SQLRunRows, dbx.Params{"id": recordID, "n": runRowsRead}, "load runs")
	if err != nil {
		return nil, err
	}
	type key struct{ rid, at string }
	ended := map[key]bool{}
	for _, r := range rows {
		if r.Kind != "start" && r.Started != "" {
			ended[key{r.RID, r.Started}] = true
		}
	}
	var out []Run
	for _, r := range rows {
		if len(out) == n {
			break
		}
		if r.Kind == "start" {
			if !ended[key{r.RID, r.Created}] {
				out = append(out, Run{Start: ParseDate(r.Created), RID: r.RID})
			}
			continue
		}
		run := Run{Start: ParseDate(r.Started), End: ParseDate(r.Created), RID: r.RID, Failed: r.Status == "down"}
		if run.Measured() && !run.End.Before(run.Start) {
			run.Duration = run.End.Sub(run.Start)
		}
		if r.Kind == "exit" {
			run.Exit, run.HasExit = int(r.ExitStatus), true
		}
		out = append(out, run)
	}
	return out, nil
}
