// Package views renders the dashboard with templ components. Pages take the display
// structs below, never database records; dashboard/ fills them. Each page's swappable
// regions (the overview list, the service state) are components of their own, so an
// htmx refresh renders exactly the region it replaces.
package views

import (
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// Chrome is what every page shows around its content.
type Chrome struct {
	Title string
	User  string // email of the person logged in; empty on the login page
	CSRF  string // token for the logout form

	Refresh time.Duration // how often live regions refresh themselves; 0 means 30 s
	// Canary, when set, is the header's warning that no notification could be delivered
	// (the alerting's canary is raised).
	Canary string
}

// Counts is the number of services in each state.
type Counts = monitor.Counts

// Overview is the overview page: counts of every service, then one page of the
// services that match the search and the filter, grouped.
type Overview struct {
	Chrome
	Now     time.Time
	Counts  Counts  // every service, whatever the filter
	Groups  []Group // the page's services
	Shown   int     // how many services match, on every page
	Query   string  // the search text
	Filter  string  // a status, "problem", or "" for all
	Page    int     // the page shown, from 1
	Pages   int     // how many pages the matching services fill; at least 1
	PerPage int     // services per page
}

// First and Last are the positions, from 1, of the page's first and last services
// among those that match.
func (o Overview) First() int { return min((o.Page-1)*o.PerPage+1, o.Shown) }

// Last is the position of the page's last service; see First.
func (o Overview) Last() int { return min(o.Page*o.PerPage, o.Shown) }

// Group is the services sharing a group name, worst first.
type Group struct {
	Name     string // "" for services without a group
	Services []Row
}

// Row is one service in the overview.
type Row struct {
	ServiceID   string
	Name        string
	Status      monitor.Status
	Since       time.Time // when the current status began; zero when not known
	LastSeen    time.Time // zero: never
	LastMessage string
	Uptime      [3]monitor.Tally // the last 24 h, 7 d and 30 d
	Days        []monitor.Day    // the last 90 UTC days, oldest first
	Running     bool             // a run is open (a /start no finish has ended)
}

// Service is the page of one service.
type Service struct {
	Chrome
	Now         time.Time
	Row                       // status, last seen, uptime and days as in the overview
	Cause       monitor.Cause // why it is down or degraded
	Group       string
	Description string
	LastStatus  string // what the client last reported
	Interval    time.Duration
	Threshold   time.Duration
	Uptime90    monitor.Tally
	Incidents   []Incident
	Beats       Beats
	Log         []LogEntry
	Curl        string // ready-to-copy command, with a placeholder for the key

	Schedule     string        // the cron expression; "" for the interval rule
	ScheduleText string        // the schedule in words (schedule.Describe)
	Timezone     string        // the zone the schedule is read in; "UTC" when unset
	Grace        time.Duration // with a schedule: how long after an expected run it is down
	MaxRuntime   time.Duration // how long a run may take; 0: no bound
	Expected     time.Time     // when the next ping is expected; zero when not known
	RunningSince time.Time     // when the oldest open run started; zero when none is open
	Runs         []Run         // the last runs, newest first
}

// ShowRuns reports whether the page has a runs section: for a service that has runs,
// or is set up as a cron job.
func (s Service) ShowRuns() bool {
	return len(s.Runs) > 0 || s.Schedule != "" || s.MaxRuntime > 0
}

// Run is one run of a cron job: from its /start to the ping that ended it.
type Run struct {
	Start    time.Time     // zero when the start is unknown
	End      time.Time     // zero while no finish has ended it
	Duration time.Duration // when Measured
	Measured bool
	Exit     int // the exit status, when HasExit
	HasExit  bool
	Failed   bool   // ended by /fail or a non-zero exit status
	RID      string // its run id, or ""
	Open     bool   // not ended and still open (a start without end that is not open was abandoned)
}

// Incident is one period the service was down or degraded.
type Incident struct {
	Status monitor.Status
	Cause  monitor.Cause
	Start  time.Time
	End    time.Time // zero while it goes on
}

// Beats is one page of a service's recent heartbeats, newest first.
type Beats struct {
	ServiceID string
	Items     []Beat
	Page      int // from 1
	Pages     int
	Total     int
}

// Beat is one received heartbeat.
type Beat struct {
	At       time.Time
	Status   string
	Message  string
	Metadata string // indented JSON, or ""
	SourceIP string
	Kind     string // "" for a beat or a success ping; start, log, fail or exit
	Exit     int    // the exit status of an exit ping
	RID      string // the ping's run id, or ""
	Body     string // the ping's body, or ""
}

// LogEntry is one staleness check of the service.
type LogEntry struct {
	At       time.Time
	Status   monitor.Status
	Previous monitor.Status
	Since    time.Duration // since the last beat; negative when never seen
}

// Login is the login form.
type Login struct {
	Email string
	Next  string // where to go after logging in
	CSRF  string
	Error string
}
