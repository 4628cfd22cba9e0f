package hooks

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/engine"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
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
)

// dashService is a service row with its creation date, where uptime counting starts.
type dashService struct {
	serviceRow
	Created   string `db:"created"`
	FirstSeen string `db:"firstSeen"`
}

func loadDashServices(db dbx.Builder, serviceID string) ([]dashService, error) {
	const cols = "SELECT " + serviceColumns + ", created, firstSeen FROM services"
	q := db.NewQuery(cols)
	if serviceID != "" {
		q = db.NewQuery(cols + " WHERE serviceId = {:sid}").Bind(dbx.Params{"sid": serviceID})
	}
	var rows []dashService
	if err := q.All(&rows); err != nil {
		return nil, fmt.Errorf("hooks: load services: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		pageText(&r.ServiceID, &r.Name, &r.Description, &r.Group, &r.LastMessage)
	}
	return rows, nil
}

// pageText replaces NUL characters and invalid UTF-8 in text the pages show, as
// monitor.CleanText does to beats as they arrive: rows stored before that, or edited
// outside the server, may still hold them, and no page ever writes either into its HTML.
func pageText(fields ...*string) {
	for _, f := range fields {
		*f = monitor.CleanText(*f)
	}
}

type spanRow struct {
	Service   string `db:"service"`
	Status    string `db:"status"`
	StartedAt string `db:"startedAt"`
	EndedAt   string `db:"endedAt"`
}

// loadHistories reads the incidents and pauses that overlap [from, now], by service
// record id (one service when recordID is set, else all).
func loadHistories(db dbx.Builder, recordID string, from time.Time) (map[string]*monitor.History, error) {
	out := map[string]*monitor.History{}
	get := func(id string) *monitor.History {
		h := out[id]
		if h == nil {
			h = &monitor.History{}
			out[id] = h
		}
		return h
	}
	where := "(endedAt = '' OR endedAt >= {:from})"
	params := dbx.Params{"from": dbDate(from)}
	if recordID != "" {
		where += " AND service = {:id}"
		params["id"] = recordID
	}
	var incs, pauses []spanRow
	if err := db.NewQuery("SELECT service, status, startedAt, endedAt FROM incidents WHERE " + where).Bind(params).All(&incs); err != nil {
		return nil, fmt.Errorf("hooks: load incidents: %w", err)
	}
	if err := db.NewQuery("SELECT service, '' AS status, startedAt, endedAt FROM pauses WHERE " + where).Bind(params).All(&pauses); err != nil {
		return nil, fmt.Errorf("hooks: load pauses: %w", err)
	}
	for _, r := range incs {
		h := get(r.Service)
		h.Incidents = append(h.Incidents, monitor.Incident{Status: monitor.Status(r.Status), Span: monitor.Span{Start: parseDate(r.StartedAt), End: parseDate(r.EndedAt)}})
	}
	for _, r := range pauses {
		h := get(r.Service)
		h.Paused = append(h.Paused, monitor.Span{Start: parseDate(r.StartedAt), End: parseDate(r.EndedAt)})
	}
	return out, nil
}

// liveRow is a service's row at now: its state as the engine decided it, and its uptime.
func liveRow(r dashService, v engine.View, h *monitor.History, now time.Time) views.Row {
	hist := historyOf(r, h)
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
	}
}

// historyOf is the history the uptime maths uses. The engine stores a state change and
// its incident in one commit, so the stored incidents always agree with the state the
// pages show. Counting starts at the first beat (see firstBeat); a service that has
// never sent a beat has no data at all rather than a perfect record.
func historyOf(r dashService, h *monitor.History) monitor.History {
	var hist monitor.History
	if h != nil {
		hist = *h
	}
	hist.Created, hist.FirstBeat = parseDate(r.Created), firstBeat(r)
	return hist
}

// viewOf is the engine's view of a service, unknown when the engine does not hold it.
func viewOf(eng *engine.Engine, serviceID string) engine.View {
	v, ok := eng.Get(serviceID)
	if !ok {
		v.State = monitor.Unknown
	}
	return v
}

// severity orders services on the overview: what needs attention first.
func severity(st monitor.Status) int {
	switch st {
	case monitor.Down:
		return 0
	case monitor.Late:
		return 1
	case monitor.Degraded:
		return 2
	case monitor.Unknown:
		return 3
	case monitor.Up:
		return 4
	}
	return 5
}

// matches reports whether a service in state st passes the search text and the
// status filter.
func matches(r dashService, st monitor.Status, query, filter string) bool {
	switch filter {
	case "":
	case "problem":
		if st != monitor.Down && st != monitor.Late && st != monitor.Degraded {
			return false
		}
	default:
		if string(st) != filter {
			return false
		}
	}
	if query == "" {
		return true
	}
	q := strings.ToLower(query)
	return strings.Contains(strings.ToLower(r.DisplayName()), q) || strings.Contains(strings.ToLower(r.ServiceID), q) ||
		strings.Contains(strings.ToLower(r.Group), q)
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

// loadOverview builds the overview at now: every service counted, those matching the
// search and filter grouped, the groups and the services in them worst first.
func loadOverview(app core.App, eng *engine.Engine, now time.Time, query, filter string) (views.Overview, error) {
	filter, query = validFilter(filter), monitor.CleanText(query)
	o := views.Overview{Now: now, Query: query, Filter: filter}
	rows, err := loadDashServices(app.DB(), "")
	if err != nil {
		return o, err
	}
	hist, err := loadHistories(app.DB(), "", barStart(now))
	if err != nil {
		return o, err
	}
	groups := map[string]*views.Group{}
	worst := map[string]int{}
	for _, r := range rows {
		v := viewOf(eng, r.ServiceID)
		o.Counts.Add(v.State)
		if !matches(r, v.State, query, filter) {
			continue // its uptime is not shown: skip the maths
		}
		row := liveRow(r, v, hist[r.ID], now)
		o.Shown++
		g := groups[r.Group]
		if g == nil {
			g = &views.Group{Name: r.Group}
			groups[r.Group] = g
			worst[r.Group] = severity(row.Status)
		}
		g.Services = append(g.Services, row)
		worst[r.Group] = min(worst[r.Group], severity(row.Status))
	}
	for _, g := range groups {
		slices.SortFunc(g.Services, func(a, b views.Row) int {
			return cmp.Or(cmp.Compare(severity(a.Status), severity(b.Status)),
				cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ServiceID, b.ServiceID))
		})
		o.Groups = append(o.Groups, *g)
	}
	slices.SortFunc(o.Groups, func(a, b views.Group) int {
		return cmp.Or(cmp.Compare(worst[a.Name], worst[b.Name]), cmpGroupName(a.Name, b.Name))
	})
	return o, nil
}

// cmpGroupName sorts group names alphabetically, services without a group last.
func cmpGroupName(a, b string) int {
	if (a == "") != (b == "") {
		if a == "" {
			return 1
		}
		return -1
	}
	return cmp.Compare(strings.ToLower(a), strings.ToLower(b))
}

// barStart is the first instant the uptime bars and windows need.
func barStart(now time.Time) time.Time {
	n := now.UTC()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -barDays)
}

// servicePart says what of a service page to load: the live header is always there.
type servicePart int

const (
	partHeader servicePart = iota // the live header alone
	partBeats                     // and one page of heartbeats
	partAll                       // the whole page: incidents, beats and the log too
)

// loadService builds the page of one service, or the part of it asked for; it returns
// sql.ErrNoRows when there is no such service.
func loadService(app core.App, eng *engine.Engine, now time.Time, serviceID string, page int, part servicePart) (views.Service, error) {
	db := app.DB()
	rows, err := loadDashServices(db, serviceID)
	if err != nil {
		return views.Service{}, err
	}
	if len(rows) == 0 {
		return views.Service{}, sql.ErrNoRows
	}
	r := rows[0]
	hist, err := loadHistories(db, r.ID, barStart(now))
	if err != nil {
		return views.Service{}, err
	}
	v := viewOf(eng, r.ServiceID)
	row := liveRow(r, v, hist[r.ID], now)
	m := r.model()
	svc := views.Service{
		Now: now, Row: row, Cause: v.Cause, Group: r.Group, Description: r.Description, LastStatus: r.LastStatus,
		Interval: m.Interval, Threshold: m.Threshold, Uptime90: monitor.Sum(row.Days),
	}
	if !row.Status.IsIncident() {
		svc.Cause = monitor.CauseNone
	}
	if part == partHeader {
		return svc, nil
	}
	if svc.Beats, err = loadBeats(db, r.ID, serviceID, page); err != nil || part == partBeats {
		return svc, err
	}
	if svc.Incidents, err = loadIncidents(db, r.ID); err != nil {
		return svc, err
	}
	svc.Log, err = loadLog(db, r.ID)
	return svc, err
}

func loadIncidents(db dbx.Builder, recordID string) ([]views.Incident, error) {
	var rows []struct {
		Status    string `db:"status"`
		Cause     string `db:"cause"`
		StartedAt string `db:"startedAt"`
		EndedAt   string `db:"endedAt"`
	}
	err := db.NewQuery("SELECT status, cause, startedAt, endedAt FROM incidents WHERE service = {:id} ORDER BY startedAt DESC LIMIT {:n}").
		Bind(dbx.Params{"id": recordID, "n": incidentsShow}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("hooks: load incidents: %w", err)
	}
	out := make([]views.Incident, len(rows))
	for i, r := range rows {
		out[i] = views.Incident{Status: monitor.Status(r.Status), Cause: monitor.Cause(r.Cause), Start: parseDate(r.StartedAt), End: parseDate(r.EndedAt)}
	}
	return out, nil
}

func loadBeats(db dbx.Builder, recordID, serviceID string, page int) (views.Beats, error) {
	b := views.Beats{ServiceID: serviceID}
	if err := db.NewQuery("SELECT COUNT(*) FROM heartbeats WHERE service = {:id}").Bind(dbx.Params{"id": recordID}).Row(&b.Total); err != nil {
		return b, fmt.Errorf("hooks: count heartbeats: %w", err)
	}
	b.Pages = max(1, (b.Total+beatsPerPage-1)/beatsPerPage)
	b.Page = min(max(page, 1), b.Pages)
	var rows []struct {
		Status   string         `db:"status"`
		Message  string         `db:"message"`
		Metadata sql.NullString `db:"metadata"` // NULL when the beat had none, as PocketBase stores an empty JSON field
		SourceIP string         `db:"sourceIp"`
		Created  string         `db:"created"`
	}
	err := db.NewQuery("SELECT status, message, metadata, sourceIp, created FROM heartbeats WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:n} OFFSET {:off}").
		Bind(dbx.Params{"id": recordID, "n": beatsPerPage, "off": (b.Page - 1) * beatsPerPage}).All(&rows)
	if err != nil {
		return b, fmt.Errorf("hooks: load heartbeats: %w", err)
	}
	b.Items = make([]views.Beat, len(rows))
	for i, r := range rows {
		pageText(&r.Status, &r.Message, &r.Metadata.String, &r.SourceIP)
		b.Items[i] = views.Beat{At: parseDate(r.Created), Status: r.Status, Message: r.Message, Metadata: prettyJSON(r.Metadata.String), SourceIP: r.SourceIP}
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
	var rows []struct {
		Status   string   `db:"status"`
		Previous string   `db:"previousStatus"`
		Since    *float64 `db:"timeSinceLastHeartbeat"`
		Created  string   `db:"created"`
		LastSeen string   `db:"lastSeen"`
	}
	err := db.NewQuery("SELECT status, previousStatus, timeSinceLastHeartbeat, created, lastSeen FROM logs WHERE service = {:id} ORDER BY created DESC, rowid DESC LIMIT {:n}").
		Bind(dbx.Params{"id": recordID, "n": logEntries}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("hooks: load log: %w", err)
	}
	out := make([]views.LogEntry, len(rows))
	for i, r := range rows {
		out[i] = views.LogEntry{At: parseDate(r.Created), Status: monitor.Status(r.Status), Previous: monitor.Status(r.Previous), Since: -1}
		if r.Since != nil && r.LastSeen != "" {
			out[i].Since = time.Duration(*r.Since) * time.Millisecond
		}
	}
	return out, nil
}
