package monitor

import (
	"slices"
	"time"
)

// Event is what a notification says happened to a service.
type Event string

// The events a channel can subscribe to, plus the flapping notice.
const (
	EventDown     Event = "down"
	EventDegraded Event = "degraded"
	EventUp       Event = "up" // the incident an alert was about is over
	EventLate     Event = "late"
	EventReminder Event = "reminder"
	// EventFlapping replaces the alerts of a service that changes state too often; it goes
	// to the channels subscribed to the state the service flaps into.
	EventFlapping Event = "flapping"
)

// Why an alert is held back rather than queued.
const (
	HoldMaintenance = "maintenance"
	HoldDependency  = "dependency"
	HoldFlapping    = "flapping"
)

// DefaultFlapLimit is how many state changes an hour a service may make before its
// alerts give way to one flapping notice.
const DefaultFlapLimit = 6

// FlapWindow is the period state changes are counted over, and the least time between
// two flapping notices for one service.
const FlapWindow = time.Hour

// OpenIncident is an open incident as the rules need it.
type OpenIncident struct {
	ID         string
	Status     Status
	StartedAt  time.Time
	AlertedAt  time.Time // zero while its alert is held back
	RemindedAt time.Time
	Alerted    []string // the channels its alert was queued for
}

// AlertService is one service as the rules engine sees it.
type AlertService struct {
	ID          string
	Service     Service
	PausedUntil time.Time     // paused until then; Service.Paused is "indefinitely"
	Prev        Status        // the status stored by the last evaluation
	PrevSince   time.Time     // when Prev began, as stored
	Open        *OpenIncident // nil when none is open
	Parents     []string      // ids of the services this one depends on
	Reminder    time.Duration
	// Changes counts incident opens and closes in the FlapWindow before now.
	Changes int
	// FlapNoticeAt is when the last flapping notice was queued (zero: none in the window).
	FlapNoticeAt time.Time
}

// Subscriber is an enabled channel as routing needs it.
type Subscriber struct {
	ID       string
	Events   []Event
	Services []string // empty: every service
}

// wants reports whether the channel takes ev about service.
func (c Subscriber) wants(ev Event, service string) bool {
	return slices.Contains(c.Events, ev) && (len(c.Services) == 0 || slices.Contains(c.Services, service))
}

// AlertInput is everything one evaluation decides from.
type AlertInput struct {
	Now time.Time
	// StartedAt is when the monitor started: a service quiet since before then gets a
	// fresh grace of its threshold, so the monitor's own downtime is not the services'.
	StartedAt   time.Time
	FlapLimit   int // 0 turns flapping detection off
	Services    []AlertService
	Subscribers []Subscriber
	Windows     []Window
}

// Notice is one notification to queue, for every channel in Channels.
type Notice struct {
	Event    Event
	Channels []string
	// Incident is the incident the notice is about; empty with NewIncident set when it
	// is the one this decision opens, and empty for a late notice.
	Incident    string
	NewIncident bool
	// Dependents are the services whose held alerts are folded into this one.
	Dependents []string
}

// Decision is what one evaluation does to one service.
type Decision struct {
	Service string
	Status  Status
	Cause   Cause
	Since   time.Time // when Status began (see State)
	Model   Service   // the service as evaluated (pause and restart grace applied)
	// Due is the first instant at which another evaluation, with no new facts, could
	// decide something new for this service: its state's next change, a reminder, the end
	// of the maintenance window or flapping spell holding its alert. Zero: never.
	Due       time.Time
	Changed   bool // Status differs from Prev: store it and move incidents along
	Close     *OpenIncident
	Open      bool // a new incident with Status opens
	AlertNew  bool // the new incident's alert is queued now
	AlertOpen bool // the open incident's held alert is queued now
	Remind    bool // a reminder is queued now
	Held      string
	Notices   []Notice
}

// Idle reports whether the decision changes nothing.
func (d Decision) Idle() bool {
	return !d.Changed && !d.AlertOpen && !d.Remind && len(d.Notices) == 0
}

// PlanAlerts evaluates every service at in.Now and decides which incidents open and
// close and which notifications are queued. It is the whole of the alerting rules:
//   - alerts go out on transitions to down or degraded, recoveries to every channel that
//     got the alert, however soon they come; late notices on up -> late;
//   - an alert held back (maintenance window, a parent down, flapping) stays pending on
//     its open incident and goes out as soon as nothing holds it, if the service is
//     still down; an incident that closes before then says nothing;
//   - reminders repeat an alert every Reminder while the incident stays open;
//   - a parent's alert names the dependents whose alerts it holds back.
func PlanAlerts(in AlertInput) []Decision {
	p := planner{in: in, index: make(map[string]int, len(in.Services))}
	p.decisions = make([]Decision, len(in.Services))
	for i, as := range in.Services {
		p.index[as.ID] = i
		m := as.Service
		if as.PausedUntil.After(m.PausedUntil) {
			m.PausedUntil = as.PausedUntil
		}
		st := StateAt(m, Prior{Status: as.Prev, Since: as.PrevSince}, in.StartedAt, in.Now)
		p.decisions[i] = Decision{Service: as.ID, Status: st.Status, Cause: st.Cause, Since: st.Since, Model: st.Model,
			Changed: st.Status != as.Prev, Due: st.Next}
	}
	for i := range in.Services {
		p.decide(i)
	}
	for i := range p.decisions {
		p.fold(i)
	}
	return p.decisions
}

type planner struct {
	in        AlertInput
	index     map[string]int
	decisions []Decision
}

func (p *planner) decide(i int) {
	as, d, now := p.in.Services[i], &p.decisions[i], p.in.Now
	open := as.Open
	if d.Changed && open != nil && open.Status != d.Status {
		d.Close = open
	}
	d.Open = d.Changed && d.Status.IsIncident() && (open == nil || open.Status != d.Status)
	changes := as.Changes
	if d.Close != nil {
		changes++
	}
	if d.Open {
		changes++
	}
	flapping := p.in.FlapLimit > 0 && changes > p.in.FlapLimit

	// A recovery goes to every channel that got the alert, whatever holds others back.
	if c := d.Close; c != nil && !c.AlertedAt.IsZero() {
		p.notify(d, Notice{Event: EventUp, Incident: c.ID, Channels: p.enabled(c.Alerted, "")})
	}

	pending := open != nil && d.Close == nil && open.Status == d.Status && open.AlertedAt.IsZero()
	if d.Open || pending {
		since := now
		if pending {
			since = open.StartedAt
		}
		ev := Event(d.Status)
		n := Notice{Event: ev, Channels: p.subscribers(ev, as.ID), NewIncident: d.Open}
		if pending {
			n.Incident = open.ID
		}
		if d.Held = p.hold(i, flapping, since); d.Held == "" {
			d.AlertNew, d.AlertOpen = d.Open, pending
			p.notify(d, n)
			if as.Reminder > 0 {
				d.due(now.Add(as.Reminder)) // the first reminder
			}
		} else if d.Held == HoldFlapping && (as.FlapNoticeAt.IsZero() || now.Sub(as.FlapNoticeAt) >= FlapWindow) {
			n.Event = EventFlapping
			p.notify(d, n)
		}
		switch d.Held {
		case HoldMaintenance:
			d.due(p.maintenanceEnd(as.ID))
		case HoldFlapping: // an incident that outlasts its threshold is an outage: it alerts then
			d.due(since.Add(thresholdOf(d.Model)))
		}
	}

	if open != nil && d.Close == nil && !open.AlertedAt.IsZero() && as.Reminder > 0 {
		last := open.AlertedAt
		if open.RemindedAt.After(last) {
			last = open.RemindedAt
		}
		switch {
		case p.inMaintenance(as.ID):
			d.due(p.maintenanceEnd(as.ID))
		case now.Sub(last) >= as.Reminder:
			d.Remind = true
			p.notify(d, Notice{Event: EventReminder, Incident: open.ID, Channels: p.enabled(open.Alerted, EventReminder)})
			d.due(now.Add(as.Reminder))
		default:
			d.due(last.Add(as.Reminder))
		}
	}

	if d.Changed && d.Status == Late && as.Prev == Up && p.hold(i, flapping, now) == "" {
		p.notify(d, Notice{Event: EventLate, Channels: p.subscribers(EventLate, as.ID)})
	}
}

// due brings the decision's Due forward to t, when t is set and sooner.
func (d *Decision) due(t time.Time) {
	if !t.IsZero() && (d.Due.IsZero() || t.Before(d.Due)) {
		d.Due = t
	}
}

// notify adds n unless no channel takes it.
func (p *planner) notify(d *Decision, n Notice) {
	if len(n.Channels) > 0 {
		d.Notices = append(d.Notices, n)
	}
}

// hold says why service i's alert is held back now, or "" when it goes out. since is
// when its incident began: a flapping service's incident that outlasts its threshold
// is an outage, not a flip, and alerts.
func (p *planner) hold(i int, flapping bool, since time.Time) string {
	as := p.in.Services[i]
	switch {
	case p.inMaintenance(as.ID):
		return HoldMaintenance
	case p.parentDown(i):
		return HoldDependency
	case flapping && p.in.Now.Sub(since) < thresholdOf(p.decisions[i].Model):
		return HoldFlapping
	}
	return ""
}

// maintenanceEnd is when the maintenance windows covering service now have all ended,
// as far as they are known now: a window that begins before then is found at that time.
func (p *planner) maintenanceEnd(service string) time.Time {
	var end time.Time
	for _, w := range p.in.Windows {
		if !w.Covers(service) {
			continue
		}
		if until := w.ActiveUntil(p.in.Now); until.After(end) {
			end = until
		}
	}
	return end
}

func (p *planner) inMaintenance(service string) bool {
	for _, w := range p.in.Windows {
		if w.Covers(service) && w.Active(p.in.Now) {
			return true
		}
	}
	return false
}

// parentDown reports whether a service i depends on is down, leaving out a parent that
// itself depends on i: in a cycle nobody would alert.
func (p *planner) parentDown(i int) bool {
	id := p.in.Services[i].ID
	for _, parent := range p.in.Services[i].Parents {
		j, ok := p.index[parent]
		if ok && j != i && p.decisions[j].Status == Down && !p.dependsOn(j, id) {
			return true
		}
	}
	return false
}

// dependsOn reports whether service i depends on target, directly or through others.
func (p *planner) dependsOn(i int, target string) bool {
	seen := map[int]bool{i: true}
	stack := []int{i}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, parent := range p.in.Services[cur].Parents {
			if parent == target {
				return true
			}
			if j, ok := p.index[parent]; ok && !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return false
}

// fold names, in a down service's alert or reminder, the dependents whose alerts are
// held back because of it: down services reaching it through down parents.
func (p *planner) fold(i int) {
	d := &p.decisions[i]
	if d.Status != Down {
		return
	}
	for k := range d.Notices {
		if ev := d.Notices[k].Event; ev != EventDown && ev != EventReminder {
			continue
		}
		for j := range p.decisions {
			if j != i && p.decisions[j].Held == HoldDependency && p.reachesDown(j, i) {
				d.Notices[k].Dependents = append(d.Notices[k].Dependents, p.in.Services[j].ID)
			}
		}
	}
}

// reachesDown reports whether root is an ancestor of j through down services.
func (p *planner) reachesDown(j, root int) bool {
	seen := map[int]bool{j: true}
	stack := []int{j}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, parent := range p.in.Services[cur].Parents {
			k, ok := p.index[parent]
			if !ok || seen[k] || p.decisions[k].Status != Down {
				continue
			}
			if k == root {
				return true
			}
			seen[k] = true
			stack = append(stack, k)
		}
	}
	return false
}

// subscribers lists the channels that take ev about service.
func (p *planner) subscribers(ev Event, service string) []string {
	var ids []string
	for _, c := range p.in.Subscribers {
		if c.wants(ev, service) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// enabled keeps the channels of ids that are still enabled and, when ev is set, take ev.
func (p *planner) enabled(ids []string, ev Event) []string {
	var out []string
	for _, c := range p.in.Subscribers {
		if slices.Contains(ids, c.ID) && (ev == "" || slices.Contains(c.Events, ev)) {
			out = append(out, c.ID)
		}
	}
	return out
}
