package dashboard

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/schedule"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/heartbeat-monitor/heartbeat-monitor/views"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// barDays is how many days the uptime bars show.
const barDays = 90

// Bounds of the service page's lists.
const (
	beatsPerPage  = 20
	logEntries    = 30
	incidentsShow = 50
	runsShow      = 30 // the runs chart and table; views.runSlots is the chart's width
)

// liveRow is a service's row at now: its state as the engine decided it, and its uptime.
func liveRow(r store.DatedService, v engine.View, h *monitor.History, now time.Time) views.Row {
	hist := r.History(h)
	tl := hist.Timeline(now)
	return views.Row{
		ServiceID:   r.ServiceID,
		Name:        r.DisplayName(),
		Status:      v.State,
		Since:       v.Since,
		LastSeen:    v.Model.LastSeen,
		LastMessage: monitor.CleanText(v.LastMessage),
		Uptime:      [3]monitor.Tally{tl.Last(24 * time.Hour), tl.Last(7 * 24 * time.Hour), tl.Last(30 * 24 * time.Hour)},
		Days:        tl.Days(barDays),
		Running:     v.Runs.Running(),
	}
}

// viewOf is the engine's view of a service, unknown when the engine does not hold it.
func viewOf(eng *engine.Engine, serviceID string) engine.View {
	v, ok := eng.Get(serviceID)
	if !ok {
		v.State = monitor.Unknown
	}
	return v
}

// overviewPerPage is how many services one page of the overview lists. A row is about
// 300 bytes of HTML, so a page is some 15 KB refreshed every 30 s, half the 30 KB
// budget of the live partial whatever the size of the fleet, and its uptime maths reads
// the history of 50 services. It is two or three screens, enough to show every problem
// of a healthy fleet on page 1; a search or a status card finds the rest.
const overviewPerPage = 50

// overviewOrder is the order of states on the overview: what needs attention first.
var overviewOrder = []monitor.Status{monitor.Down, monitor.Late, monitor.Degraded, monitor.Unknown, monitor.Up, monitor.Paused}

// filterStates are the states a status filter shows, in overview order.
func filterStates(filter string) []monitor.Status {
	switch filter {
	case "":
		return overviewOrder
	case "problem":
		return overviewOrder[:3]
	}
	return []monitor.Status{monitor.Status(filter)}
}

// searchMatch is the overview's search: the text, in any case, within the serviceId,
// the name or the group.
func searchMatch(query string) engine.Match {
	q := strings.ToLower(query)
	return func(serviceID, name, group string) bool {
		return containsFold(serviceID, q) || containsFold(name, q) || containsFold(group, q)
	}
}

// containsFold reports whether s holds the lower-case q in any case. It runs for every
// service a search looks at, so ASCII text (every serviceId, most names) is compared
// without allocating.
func containsFold(s, q string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), q)
		}
	}
next:
	for i := 0; i+len(q) <= len(s); i++ {
		for j := 0; j < len(q); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != q[j] {
				continue next
			}
		}
		return true
	}
	return false
}

// validFilter keeps the status filter to the values the form offers.
func validFilter(f string) string {
	switch monitor.Status(f) {
	case monitor.Up, monitor.Late, monitor.Degraded, monitor.Down, monitor.Unknown, monitor.Paused:
		return f
	}
	if f == "problem" {
		return f
	}
	return ""
}

// loadOverview builds one page of the overview at now: every service counted, and the
// page of those matching the search and filter, problems first, grouped. The engine
// picks the page; only its services are read from the database, so the work follows
// the page, plus one pass over the engine's memory (none of it for the states before
// the page when there is no search). A page past the end is the last page.
func loadOverview(app core.App, eng *engine.Engine, now time.Time, query, filter string, page int) (views.Overview, error) {
	filter, query = validFilter(filter), monitor.CleanText(query)
	o := views.Overview{Now: now, Query: query, Filter: filter, PerPage: overviewPerPage}
	all := eng.Counts()
	for st, n := range all {
		o.Counts.AddN(st, n)
	}
	states, counts, match := filterStates(filter), all, engine.Match(nil)
	if query != "" {
		match = searchMatch(query)
		counts = eng.CountMatching(match)
	}
	for _, st := range states {
		o.Shown += counts[st]
	}
	o.Pages = max(1, (o.Shown+o.PerPage-1)/o.PerPage)
	o.Page = min(max(page, 1), o.Pages)
	vs := eng.Page(states, counts, match, (o.Page-1)*o.PerPage, o.PerPage)
	if len(vs) == 0 {
		return o, nil
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	rows, err := store.LoadPageServices(app.DB(), ids)
	if err != nil {
		return o, err
	}
	hist, err := store.LoadHistories(app.DB(), ids, barStart(now))
	if err != nil {
		return o, err
	}
	// The page is in list order; its groups follow in the order they first appear, so
	// the group of the worst service leads, as the whole list does.
	at := map[string]int{}
	for _, v := range vs {
		r, ok := rows[v.ID]
		if !ok {
			continue // deleted since the engine was read
		}
		i, ok := at[v.Group]
		if !ok {
			i = len(o.Groups)
			at[v.Group] = i
			o.Groups = append(o.Groups, views.Group{Name: v.Group})
		}
		o.Groups[i].Services = append(o.Groups[i].Services, liveRow(r, v, hist[v.ID], now))
	}
	return o, nil
}

// barStart is the first instant the uptime bars and windows need.
func barStart(now time.Time) time.Time {
	return store.DayStart(now).AddDate(0, 0, -barDays)
}

// servicePart says what of a service page to load: the live header is always there.
type servicePart int

const (
	partHeader servicePart = iota // the live header alone
	partBeats                     // and one page of heartbeats
	partRuns                      // and the runs
	partAll                       // the whole page: incidents, beats and the log too
)

// loadService builds the page of one service, or the part of it asked for; it returns
// sql.ErrNoRows when there is no such service.
func loadService(app core.App, eng *engine.Engine, now time.Time, serviceID string, page int, part servicePart) (views.Service, error) {
	db := app.DB()
	rows, err := store.LoadDatedServices(db, serviceID)
	if err != nil {
		return views.Service{}, err
	}
	if len(rows) == 0 {
		return views.Service{}, sql.ErrNoRows
	}
	r := rows[0]
	hist, err := store.LoadHistories(db, []string{r.ID}, barStart(now))
	if err != nil {
		return views.Service{}, err
	}
	v := viewOf(eng, r.ServiceID)
	row := liveRow(r, v, hist[r.ID], now)
	m := r.Model()
	svc := views.Service{
		Now: now, Row: row, Cause: v.Cause, Group: r.Group, Description: r.Description, LastStatus: r.LastStatus,
		Interval: m.Interval, Threshold: m.Threshold, Uptime90: monitor.Sum(row.Days),
	}
	if !row.Status.IsIncident() {
		svc.Cause = monitor.CauseNone
	}
	cronFacts(&svc, v, now)
	switch part {
	case partHeader:
		return svc, nil
	case partRuns:
		svc.Runs, err = loadRuns(db, r.ID, v.Runs)
		return svc, err
	}
	if svc.Beats, err = loadBeats(db, r.ID, serviceID, page); err != nil || part == partBeats {
		return svc, err
	}
	if svc.Incidents, err = loadIncidents(db, r.ID); err != nil {
		return svc, err
	}
	if svc.Log, err = loadLog(db, r.ID); err != nil {
		return svc, err
	}
	svc.Runs, err = loadRuns(db, r.ID, v.Runs)
	return svc, err
}

// cronFacts fills in the service's schedule, its bound on runs, when its next ping is
// expected and whether a run is open. The next expected ping is the engine's (the run
// the schedule expects after the last ping; lastSeen + interval under the interval
// rule); a scheduled service never heard from expects the schedule's next run after now.
func cronFacts(svc *views.Service, v engine.View, now time.Time) {
	svc.Schedule, svc.Timezone, svc.MaxRuntime = v.Schedule, v.Timezone, v.MaxRuntime
	if svc.Timezone == "" {
		svc.Timezone = "UTC"
	}
	m := v.Model
	switch {
	case v.Schedule == "":
		if !m.LastSeen.IsZero() {
			svc.Expected = m.LastSeen.Add(svc.Interval)
		}
	case !m.Expected.IsZero():
		svc.Expected = m.Expected
	default:
		sched, err := schedule.Parse(v.Schedule)
		loc, lerr := time.LoadLocation(svc.Timezone)
		if err == nil && lerr == nil { // refused on save: a bad one shows no time
			svc.Expected = sched.Next(now, loc)
		}
	}
	if v.Schedule != "" {
		svc.ScheduleText = schedule.Describe(v.Schedule)
		svc.Grace = cmp.Or(v.Grace, monitor.DefaultGrace)
	}
	for _, o := range v.Runs.Open {
		if svc.RunningSince.IsZero() || o.At.Before(svc.RunningSince) {
			svc.RunningSince = o.At
		}
	}
}

// loadRuns reads the last runs of the service; a run with no end is open when the
// engine still holds it open (same run id and start), abandoned otherwise.
func loadRuns(db dbx.Builder, recordID string, runs monitor.Runs) ([]views.Run, error) {
	rows, err := store.LoadRuns(db, recordID, runsShow)
	if err != nil {
		return nil, err
	}
	out := make([]views.Run, len(rows))
	for i, r := range rows {
		out[i] = views.Run{Start: r.Start, End: r.End, Duration: r.Duration, Measured: r.Measured(), Exit: r.Exit, HasExit: r.HasExit,
			Failed: r.Failed, RID: r.RID}
		if r.End.IsZero() {
			for _, o := range runs.Open {
				if o.RID == r.RID && o.At.Truncate(time.Millisecond).Equal(r.Start) {
					out[i].Open = true
				}
			}
		}
	}
	return out, nil
}

func loadIncidents(db dbx.Builder, recordID string) ([]views.Incident, error) {
	rows, err := store.LoadIncidents(db, recordID, incidentsShow)
	if err != nil {
		return nil, err
	}
	out := make([]views.Incident, len(rows))
	for i, r := range rows {
		out[i] = views.Incident{Status: monitor.Status(r.Status), Cause: monitor.Cause(r.Cause), Start: store.ParseDate(r.StartedAt), End: store.ParseDate(r.EndedAt)}
	}
	return out, nil
}

func loadBeats(db dbx.Builder, recordID, serviceID string, page int) (views.Beats, error) {
	b := views.Beats{ServiceID: serviceID}
	var err error
	if b.Total, err = store.CountBeats(db, recordID); err != nil {
		return b, err
	}
	b.Pages = max(1, (b.Total+beatsPerPage-1)/beatsPerPage)
	b.Page = min(max(page, 1), b.Pages)
	rows, err := store.LoadBeats(db, recordID, beatsPerPage, (b.Page-1)*beatsPerPage)
	if err != nil {
		return b, err
	}
	b.Items = make([]views.Beat, len(rows))
	for i, r := range rows {
		b.Items[i] = views.Beat{At: store.ParseDate(r.Created), Status: r.Status, Message: r.Message, Metadata: prettyJSON(r.Metadata.String), SourceIP: r.SourceIP,
			Kind: r.Kind, Exit: int(r.ExitStatus), RID: r.RID, Body: r.Body}
	}
	return b, nil
}

// prettyJSON indents stored metadata for reading; it is shown as text, escaped.
func prettyJSON(raw string) string {
	if raw == "" || raw == "null" || raw == "{}" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(raw), "", "  "); err != nil {
		return raw
	}
	return buf.String()
}

func loadLog(db dbx.Builder, recordID string) ([]views.LogEntry, error) {
	rows, err := store.LoadLogPage(db, recordID, logEntries)
	if err != nil {
		return nil, err
	}
	out := make([]views.LogEntry, len(rows))
	for i, r := range rows {
		out[i] = views.LogEntry{At: store.ParseDate(r.Created), Status: monitor.Status(r.Status), Previous: monitor.Status(r.PreviousStatus), Since: -1}
		if r.Since != nil && r.LastSeen != "" {
			out[i].Since = time.Duration(*r.Since) * time.Millisecond
		}
	}
	return out, nil
}
