package store

import (
	"fmt"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/pocketbase/dbx"
)

// ServiceRow is a services record as the read routes and the pages need it.
type ServiceRow struct {
	ID              string  `db:"id"`
	ServiceID       string  `db:"serviceId"`
	Name            string  `db:"name"`
	Description     string  `db:"description"`
	Group           string  `db:"group"`
	Interval        float64 `db:"interval"`
	Threshold       float64 `db:"stalenessThreshold"`
	Paused          bool    `db:"paused"`
	LastSeen        string  `db:"lastSeen"`
	LastStatus      string  `db:"lastStatus"`
	LastMessage     string  `db:"lastMessage"`
	Status          string  `db:"status"`
	StatusChangedAt string  `db:"statusChangedAt"`
	PausedUntil     string  `db:"pausedUntil"`
}

// Queries of the services table. What the server computes for a service (its last
// beat, its state) is in service_states, keyed by the service's record id; a service
// that has never beaten has no row there and reads as empty.
const (
	// servicesFrom joins each service to its state, by primary key.
	servicesFrom = " FROM services s LEFT JOIN service_states st ON st.id = s.id"
	stateColumns = "IFNULL(st.lastSeen, '') AS lastSeen, IFNULL(st.lastStatus, '') AS lastStatus, IFNULL(st.lastMessage, '') AS lastMessage, " +
		"IFNULL(st.status, '') AS status, IFNULL(st.statusChangedAt, '') AS statusChangedAt"
	serviceColumns = "s.id, s.serviceId, s.name, s.description, s.[[group]], s.interval, s.stalenessThreshold, s.paused, " + stateColumns + ", s.pausedUntil"
	// SQLServices reads every service, ordered by group then serviceId.
	SQLServices = "SELECT " + serviceColumns + servicesFrom + " ORDER BY s.[[group]], s.serviceId"
	// SQLService reads one service by its serviceId.
	SQLService = "SELECT " + serviceColumns + servicesFrom + " WHERE s.serviceId = {:sid}"
	// SQLDatedServices reads services with the dates uptime counts from.
	SQLDatedServices = "SELECT " + serviceColumns + ", s.created, IFNULL(st.firstSeen, '') AS firstSeen" + servicesFrom
	// SQLDatedService is SQLDatedServices of one serviceId.
	SQLDatedService = SQLDatedServices + " WHERE s.serviceId = {:sid}"
	// SQLDependencies reads every service's parents.
	SQLDependencies = "SELECT id, dependsOn FROM services"
)

// LoadServices reads every service, ordered by group then serviceId.
func LoadServices(db dbx.Builder) ([]ServiceRow, error) {
	return queryAll[ServiceRow](db, SQLServices, nil, "load services")
}

// FindService reads one service by its serviceId; sql.ErrNoRows when there is none.
func FindService(db dbx.Builder, serviceID string) (ServiceRow, error) {
	var row ServiceRow
	err := db.NewQuery(SQLService).Bind(dbx.Params{"sid": serviceID}).One(&row)
	return row, err
}

// DisplayName is the name people see: the name, or the serviceId when it has none.
func (r ServiceRow) DisplayName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.ServiceID
}

// Model converts the row into what monitor.Evaluate takes.
func (r ServiceRow) Model() monitor.Service {
	return monitor.Service{
		LastSeen:    ParseDate(r.LastSeen),
		LastStatus:  r.LastStatus,
		Interval:    Seconds(r.Interval, monitor.DefaultInterval),
		Threshold:   Seconds(r.Threshold, monitor.DefaultThreshold),
		Paused:      r.Paused,
		PausedUntil: ParseDate(r.PausedUntil),
	}
}

// Seconds reads a number-of-seconds column; zero or less is def.
func Seconds(v float64, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return time.Duration(v * float64(time.Second))
}

// DatedService is a service row with its creation date and first beat, where uptime
// counting starts.
type DatedService struct {
	ServiceRow
	Created   string `db:"created"`
	FirstSeen string `db:"firstSeen"`
}

// FirstBeat is when a service was first heard from, where its uptime starts: firstSeen,
// written by the heartbeat writer with the first beat. A row whose lastSeen was written
// without it (by a server that predates the field, after its migration had run) counts
// from lastSeen, the earliest sign of life it shows: no data rather than time assumed up.
func (r DatedService) FirstBeat() time.Time {
	if t := ParseDate(r.FirstSeen); !t.IsZero() {
		return t
	}
	return ParseDate(r.LastSeen)
}

// History is the history the uptime maths uses: h (nil: none) with the service's
// creation and first beat. The engine stores a state change and its incident in one
// commit, so the stored incidents always agree with the state the pages show. Counting
// starts at the first beat; a service that has never sent one has no data at all
// rather than a perfect record.
func (r DatedService) History(h *monitor.History) monitor.History {
	var hist monitor.History
	if h != nil {
		hist = *h
	}
	hist.Created, hist.FirstBeat = ParseDate(r.Created), r.FirstBeat()
	return hist
}

// LoadDatedServices reads every service, or the one with serviceID when it is not "".
// Text is cleaned as pages show it (see pageText).
func LoadDatedServices(db dbx.Builder, serviceID string) ([]DatedService, error) {
	q := db.NewQuery(SQLDatedServices)
	if serviceID != "" {
		q = db.NewQuery(SQLDatedService).Bind(dbx.Params{"sid": serviceID})
	}
	var rows []DatedService
	if err := q.All(&rows); err != nil {
		return nil, fmt.Errorf("store: load services: %w", err)
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

// PageColumns are what the overview reads of the services on its page.
var PageColumns = []string{"s.id", "s.serviceId", "s.name", "s.description", "s.group", "s.interval", "s.stalenessThreshold", "s.paused",
	stateColumns, "s.pausedUntil", "s.created", "IFNULL(st.firstSeen, '') AS firstSeen"}

// PageServicesQuery is the read of LoadPageServices.
func PageServicesQuery(db dbx.Builder, ids []string) *dbx.SelectQuery {
	return db.Select(PageColumns...).From("services s").LeftJoin("service_states st", dbx.NewExp("st.id = s.id")).
		Where(dbx.In("s.id", anys(ids)...))
}

// LoadPageServices reads the services with the given record ids, by record id.
func LoadPageServices(db dbx.Builder, ids []string) (map[string]DatedService, error) {
	var rows []DatedService
	if err := PageServicesQuery(db, ids).All(&rows); err != nil {
		return nil, fmt.Errorf("store: load page services: %w", err)
	}
	out := make(map[string]DatedService, len(rows))
	for _, r := range rows {
		pageText(&r.ServiceID, &r.Name, &r.Description, &r.Group, &r.LastMessage)
		out[r.ID] = r
	}
	return out, nil
}

// LoadDependencies reads every service's parents by record id; a malformed list is
// left out.
func LoadDependencies(db dbx.Builder) (map[string][]string, error) {
	var rows []struct {
		ID        string `db:"id"`
		DependsOn string `db:"dependsOn"`
	}
	if err := db.NewQuery(SQLDependencies).All(&rows); err != nil {
		return nil, fmt.Errorf("store: load dependencies: %w", err)
	}
	graph := map[string][]string{}
	for _, row := range rows {
		var ps []string
		if JSONList(row.DependsOn, &ps) == nil {
			graph[row.ID] = ps
		}
	}
	return graph, nil
}
