package hooks

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Bounds of GET /api/uptime?days=N; incidents are kept 400 days by default.
const (
	defaultUptimeDays = 30
	maxUptimeDays     = 400
)

type uptimeDay struct {
	Date             string   `json:"date"`
	UptimePercentage *float64 `json:"uptimePercentage"`
	DowntimeSeconds  *float64 `json:"downtimeSeconds"`
}

type uptimeReply struct {
	ServiceID     string      `json:"serviceId"`
	Days          []uptimeDay `json:"days"`
	OverallUptime *float64    `json:"overallUptime"`
	TotalDays     int         `json:"totalDays"`
}

// uptimeGet is GET /api/uptime?serviceId=X&days=N: daily uptime over the last N UTC days
// (today so far included), oldest first, time-weighted from incidents. A day with no
// monitored time (before the service existed, or paused throughout) is null.
func (s *server) uptimeGet(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	sid := q.Get("serviceId")
	if sid == "" {
		return fail(e, http.StatusBadRequest, "serviceId is required")
	}
	if !monitor.ValidServiceID(sid) {
		return fail(e, http.StatusBadRequest, monitor.ErrInvalidFormat)
	}
	n := defaultUptimeDays
	if v := q.Get("days"); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 1 || d > maxUptimeDays {
			return fail(e, http.StatusBadRequest, "days must be an integer from 1 to "+strconv.Itoa(maxUptimeDays))
		}
		n = d
	}
	now := s.now().UTC()
	rows, err := loadDashServices(s.app.DB(), sid)
	if err != nil {
		return e.InternalServerError("", err)
	}
	if len(rows) == 0 {
		return fail(e, http.StatusNotFound, monitor.ErrUnknownService)
	}
	r := rows[0]
	from := barStart(now).AddDate(0, 0, barDays-n)
	hist, err := loadHistories(s.app.DB(), r.ID, from)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return writeJSON(e, http.StatusOK, uptimeFor(r, hist[r.ID], n, now))
}

// uptimeFor is the /api/uptime answer for one service over n days.
func uptimeFor(r dashService, h *monitor.History, n int, now time.Time) uptimeReply {
	hist := historyOf(r, h)
	days := hist.Timeline(now).Days(n)
	out := uptimeReply{ServiceID: r.ServiceID, Days: make([]uptimeDay, len(days)), TotalDays: len(days)}
	for i, d := range days {
		out.Days[i].Date = d.Date.Format(time.DateOnly)
		if p, ok := d.Percentage(); ok {
			secs := d.Down.Seconds()
			out.Days[i].UptimePercentage, out.Days[i].DowntimeSeconds = &p, &secs
		}
	}
	if p, ok := monitor.Sum(days).Percentage(); ok && !math.IsNaN(p) {
		out.OverallUptime = &p
	}
	return out
}

// firstBeat is when a service was first heard from, where its uptime starts: firstSeen,
// written by the heartbeat writer with the first beat. A row whose lastSeen was written
// without it (by a server that predates the field, after its migration had run) counts
// from lastSeen, the earliest sign of life it shows: no data rather than time assumed up.
func firstBeat(r dashService) time.Time {
	if t := parseDate(r.FirstSeen); !t.IsZero() {
		return t
	}
	return parseDate(r.LastSeen)
}

// bindPauseHooks records when a service is paused and resumed, so the uptime maths can
// leave paused time out. A service is paused by its paused flag (until cleared) or by
// pausedUntil (until then); saving the record (the admin UI) is the only way either
// changes. The hooks compare with the stored pauses, not with the record's previous
// values, so saving a paused service again does not open a second pause.
func bindPauseHooks(app core.App, s *server) {
	sync := func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		now := s.now()
		until := e.Record.GetDateTime("pausedUntil").Time()
		switch {
		case e.Record.GetBool("paused"):
			return syncPause(e.App, e.Record.Id, true, time.Time{}, now)
		case until.After(now):
			return syncPause(e.App, e.Record.Id, true, until, now)
		}
		return syncPause(e.App, e.Record.Id, false, time.Time{}, now)
	}
	app.OnRecordCreate("services").BindFunc(sync)
	app.OnRecordUpdate("services").BindFunc(sync)
}

// syncPause makes the service's current pause match what its record asks for: none, or
// one from now (or from when it began) until until (zero: until resumed).
func syncPause(app core.App, recordID string, paused bool, until, now time.Time) error {
	var open []struct {
		ID      string `db:"id"`
		EndedAt string `db:"endedAt"`
	}
	err := app.DB().NewQuery("SELECT id, endedAt FROM pauses WHERE service = {:id} AND (endedAt = '' OR endedAt > {:now})").
		Bind(dbx.Params{"id": recordID, "now": dbDate(now)}).All(&open)
	if err != nil {
		return fmt.Errorf("hooks: find open pause: %w", err)
	}
	end := dbDate(until) // "" while open-ended
	if !paused {
		end = dbDate(now)
	}
	for _, p := range open {
		if p.EndedAt == end {
			continue
		}
		_, err := app.DB().NewQuery("UPDATE pauses SET endedAt = {:end}, updated = {:now} WHERE id = {:id}").
			Bind(dbx.Params{"end": end, "now": dbDate(now), "id": p.ID}).Execute()
		if err != nil {
			return fmt.Errorf("hooks: update pause: %w", err)
		}
	}
	if !paused || len(open) > 0 {
		return nil
	}
	at := dbDate(now)
	err = insertRows(app.DB(), "pauses", []string{"id", "service", "startedAt", "endedAt", "created", "updated"},
		[][]any{{ingest.NewID(now), recordID, at, end, at, at}})
	if err != nil {
		return fmt.Errorf("hooks: open pause: %w", err)
	}
	return nil
}
