// Package engine holds the live state of every service in memory and wakes exactly when
// one of them is due: a threshold passes, a timed pause or a maintenance window ends, a
// reminder falls due. A beat reschedules its own service and nothing else, so the work
// follows what changes, never the size of the fleet.
//
// The decisions are monitor's (StateAt and PlanAlerts); the engine keeps their results,
// schedules the next one, and hands every transition to a Sink that stores it durably.
// Only what the Sink has committed counts: a restart rebuilds the same state from the
// stored facts, and nothing is announced twice.
package engine

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
)

// Service is one service as the engine keeps it: its settings, the last beat, and the
// state the last committed evaluation found.
type Service struct {
	ID          string // record id
	ServiceID   string
	Name        string
	Group       string
	Model       monitor.Service // settings and the last beat
	LastMessage string
	Reminder    time.Duration
	Parents     []string // record ids of the services this one depends on

	State monitor.Status // as committed; Unknown before the first evaluation
	Cause monitor.Cause  // why it is down or degraded
	Since time.Time
	Open  *monitor.OpenIncident
	// Changes are the instants incidents opened and closed within the last FlapWindow.
	Changes      []time.Time
	FlapNoticeAt time.Time
}

// DisplayName is the name a person reads: the name, or the serviceId when it has none.
func (s Service) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ServiceID
}

// Transition is one committed-or-nothing change to a service: the decision taken, and the
// service as it stood before it.
type Transition struct {
	Service  Service
	Decision monitor.Decision
	// Incident is the id of the incident the decision opens (Decision.Open).
	Incident string
	// Names holds the display names of the dependents the decision's notices name.
	Names map[string]string
}

// Sink stores transitions durably: all of one call or none of it.
type Sink interface {
	Commit(now time.Time, ts []Transition) error
}

// Config is what an Engine needs from its owner.
type Config struct {
	// StartedAt is when the monitor started (see monitor.StateAt's restart grace).
	StartedAt time.Time
	FlapLimit int
	Now       func() time.Time
	NewID     func(time.Time) string // ids for incidents the engine opens
	Sink      Sink
	Logger    *slog.Logger
	// RetryAfter is how soon services whose transitions failed to commit are tried again.
	RetryAfter time.Duration
	// MaxBatch bounds how many due services one commit carries.
	MaxBatch int
}

// entry is a service with its place in the due queue.
type entry struct {
	Service
	due   time.Time
	idx   int  // place in the queue; -1 when not queued
	busy  bool // its transition is being committed
	dirty bool // a beat or an edit arrived since it was last evaluated
}

// Engine is the live state of every service and the queue of when each is next due.
type Engine struct {
	cfg Config

	mu       sync.RWMutex
	svcs     map[string]*entry // by record id
	bySID    map[string]*entry // by serviceId
	children map[string][]string
	order    []*entry // by group, then serviceId: the order every list shows
	counts   map[monitor.Status]int
	subs     []monitor.Subscriber
	wins     []monitor.Window
	queue    dueQueue

	wake chan struct{}
	// stepMu lets one Step run at a time: a Step decides under mu, commits without it,
	// and applies under mu again.
	stepMu sync.Mutex
}

// New returns an empty engine.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 5000
	}
	return &Engine{cfg: cfg, svcs: map[string]*entry{}, bySID: map[string]*entry{}, children: map[string][]string{},
		counts: map[monitor.Status]int{}, wake: make(chan struct{}, 1)}
}

// Load replaces the engine's services, channels and windows, as read at start-up. Every
// service is due at once: the first evaluation after a start applies the restart grace.
func (e *Engine) Load(svcs []Service, subs []monitor.Subscriber, wins []monitor.Window) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.svcs = make(map[string]*entry, len(svcs))
	e.bySID = make(map[string]*entry, len(svcs))
	e.children = map[string][]string{}
	e.order = make([]*entry, 0, len(svcs))
	e.counts = map[monitor.Status]int{}
	e.queue = make(dueQueue, 0, len(svcs))
	e.subs, e.wins = subs, wins
	for _, s := range svcs {
		en := &entry{Service: normal(s), idx: -1}
		e.svcs[s.ID] = en
		e.bySID[s.ServiceID] = en
		e.order = append(e.order, en)
		e.counts[en.State]++
		for _, p := range s.Parents {
			e.children[p] = append(e.children[p], s.ID)
		}
		e.queue.set(en, asap)
	}
	slices.SortFunc(e.order, byListOrder)
	e.signal()
}

func normal(s Service) Service {
	if s.State == "" {
		s.State = monitor.Unknown
	}
	return s
}

func byListOrder(a, b *entry) int {
	return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.ServiceID, b.ServiceID))
}

// Put adds a service or replaces its settings (an admin edit): its facts and committed
// state stay, and it is evaluated again at once.
func (e *Engine) Put(s Service) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.svcs[s.ID]
	if !ok {
		en = &entry{Service: normal(s), idx: -1}
		e.svcs[s.ID] = en
		e.counts[en.State]++
		e.insertOrdered(en)
	} else {
		if en.ServiceID != s.ServiceID {
			delete(e.bySID, en.ServiceID)
		}
		e.unlinkParents(en)
		keep := en.Service
		en.Service = s
		en.Model.LastSeen, en.Model.LastStatus, en.LastMessage = keep.Model.LastSeen, keep.Model.LastStatus, keep.LastMessage
		en.State, en.Since, en.Open, en.Changes, en.FlapNoticeAt = keep.State, keep.Since, keep.Open, keep.Changes, keep.FlapNoticeAt
		e.reorder(en)
	}
	e.bySID[s.ServiceID] = en
	for _, p := range s.Parents {
		e.children[p] = append(e.children[p], s.ID)
	}
	e.markDue(en)
}

// Refresh replaces a service's settings and its last beat with s, as stored: for facts
// written around the engine (a repair, a test). Its committed state stays, and it is
// evaluated again at once.
func (e *Engine) Refresh(s Service) {
	e.Put(s)
	e.mu.Lock()
	defer e.mu.Unlock()
	if en := e.svcs[s.ID]; en != nil {
		en.Model.LastSeen, en.Model.LastStatus, en.LastMessage = s.Model.LastSeen, s.Model.LastStatus, s.LastMessage
	}
}

// Remove forgets a deleted service.
func (e *Engine) Remove(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.svcs[id]
	if !ok {
		return
	}
	e.queue.remove(en)
	e.unlinkParents(en)
	delete(e.svcs, id)
	delete(e.bySID, en.ServiceID)
	e.counts[en.State]--
	if i, found := slices.BinarySearchFunc(e.order, en, byListOrder); found {
		e.order = slices.Delete(e.order, i, i+1)
	}
	for _, c := range e.children[id] {
		if ch := e.svcs[c]; ch != nil {
			e.markDue(ch) // its alert may have been held back by this one
		}
	}
}

// SetChannels replaces the channels alerts are routed to.
func (e *Engine) SetChannels(subs []monitor.Subscriber) {
	e.mu.Lock()
	e.subs = subs
	e.mu.Unlock()
}

// SetWindows replaces the maintenance windows; the services they cover, before or now,
// are evaluated again (an alert held back may go out).
func (e *Engine) SetWindows(wins []monitor.Window) {
	e.mu.Lock()
	defer e.mu.Unlock()
	touched := func(ws []monitor.Window) {
		for _, w := range ws {
			if len(w.Services) == 0 {
				for _, en := range e.svcs {
					e.markDue(en)
				}
				return
			}
			for _, id := range w.Services {
				if en := e.svcs[id]; en != nil {
					e.markDue(en)
				}
			}
		}
	}
	touched(e.wins)
	e.wins = wins
	touched(wins)
}

// Beat records a committed beat of service id (a record id). A service that stays up is
// only rescheduled; anything else is evaluated at once, so a recovery goes out now.
func (e *Engine) Beat(id string, at time.Time, status, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.svcs[id]
	if !ok || at.Before(en.Model.LastSeen) {
		return
	}
	en.Model.LastSeen, en.Model.LastStatus, en.LastMessage = at, status, message
	st := monitor.StateAt(en.Model, monitor.Prior{Status: en.State, Since: en.Since}, e.cfg.StartedAt, e.cfg.Now())
	if en.State == monitor.Up && st.Status == monitor.Up && en.Open == nil && !en.dirty && !en.busy {
		e.queue.set(en, st.Next)
		return
	}
	e.markDue(en)
}

// asap is the due time of a service to evaluate at the next step, whatever its clock.
var asap = time.Unix(1, 0).UTC()

// markDue makes en due at the next step and wakes the loop.
func (e *Engine) markDue(en *entry) {
	en.dirty = true
	e.queue.set(en, asap)
	e.signal()
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) unlinkParents(en *entry) {
	for _, p := range en.Parents {
		e.children[p] = slices.DeleteFunc(e.children[p], func(c string) bool { return c == en.ID })
		if len(e.children[p]) == 0 {
			delete(e.children, p)
		}
	}
}

func (e *Engine) insertOrdered(en *entry) {
	i, _ := slices.BinarySearchFunc(e.order, en, byListOrder)
	e.order = slices.Insert(e.order, i, en)
}

// reorder moves en to its place after its group or serviceId changed.
func (e *Engine) reorder(en *entry) {
	if i := slices.Index(e.order, en); i >= 0 {
		e.order = slices.Delete(e.order, i, i+1)
	}
	e.insertOrdered(en)
}

// Run evaluates services as they fall due until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour
		e.mu.RLock()
		if h := e.queue.head(); h != nil {
			wait = h.due.Sub(e.cfg.Now())
		}
		e.mu.RUnlock()
		if wait <= 0 {
			e.Step(e.cfg.Now())
			if ctx.Err() != nil {
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// Step evaluates the services due at now (at most MaxBatch), commits their transitions
// in one call to the Sink and applies them. It reports how many transitions it committed.
func (e *Engine) Step(now time.Time) int {
	e.stepMu.Lock()
	defer e.stepMu.Unlock()
	var ts []Transition
	var done []*entry
	e.mu.Lock()
	for examined := 0; examined < e.cfg.MaxBatch; examined++ {
		h := e.queue.head()
		if h == nil || h.due.After(now) {
			break
		}
		e.queue.remove(h)
		h.dirty = false
		d := e.decide(h, now)
		if d.Status == h.State {
			h.Cause = d.Cause // a reported outage that goes quiet is down as stale
		}
		if d.Idle() {
			e.queue.set(h, d.Due)
			continue
		}
		t := Transition{Service: h.Service, Decision: d}
		if d.Open {
			t.Incident = e.cfg.NewID(now)
		}
		for _, n := range d.Notices {
			for _, dep := range n.Dependents {
				if t.Names == nil {
					t.Names = map[string]string{}
				}
				if en := e.svcs[dep]; en != nil {
					t.Names[dep] = en.DisplayName()
				}
			}
		}
		h.busy = true
		ts = append(ts, t)
		done = append(done, h)
	}
	e.mu.Unlock()
	if len(ts) == 0 {
		return 0
	}
	err := e.cfg.Sink.Commit(now, ts)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.cfg.Logger.Error("engine: commit transitions", "error", err, "services", len(ts))
		for _, en := range done {
			en.busy = false
			if e.svcs[en.ID] == en {
				e.queue.set(en, now.Add(e.cfg.RetryAfter))
			}
		}
		return 0
	}
	for i, en := range done {
		en.busy = false
		if e.svcs[en.ID] != en {
			continue // removed meanwhile
		}
		e.apply(en, ts[i], now)
	}
	return len(ts)
}

// StepAll steps until nothing is due at now and reports how many transitions it
// committed: what Run does when it falls behind, for a caller with its own clock.
func (e *Engine) StepAll(now time.Time) int {
	total := 0
	for {
		total += e.Step(now)
		e.mu.RLock()
		h := e.queue.head()
		more := h != nil && !h.due.After(now)
		e.mu.RUnlock()
		if !more {
			return total
		}
	}
}

// apply moves en's committed state along by t, and schedules it again.
func (e *Engine) apply(en *entry, t Transition, now time.Time) {
	d := t.Decision
	if d.Changed {
		e.counts[en.State]--
		e.counts[d.Status]++
		en.State, en.Since, en.Cause = d.Status, d.Since, d.Cause
		for _, c := range e.children[en.ID] {
			if ch := e.svcs[c]; ch != nil {
				e.markDue(ch) // a parent's change may hold back, or free, its dependents' alerts
			}
		}
	}
	cutoff := now.Add(-monitor.FlapWindow)
	en.Changes = slices.DeleteFunc(en.Changes, func(at time.Time) bool { return !at.After(cutoff) })
	if d.Close != nil {
		en.Open = nil
		en.Changes = append(en.Changes, d.Since)
	}
	if d.Open {
		en.Open = &monitor.OpenIncident{ID: t.Incident, Status: d.Status, StartedAt: d.Since}
		en.Changes = append(en.Changes, d.Since)
		if d.AlertNew {
			en.Open.AlertedAt = now
		}
	}
	if d.AlertOpen && en.Open != nil {
		en.Open.AlertedAt = now
	}
	if d.Remind && en.Open != nil {
		en.Open.RemindedAt = now
	}
	for _, n := range d.Notices {
		switch {
		case n.Event == monitor.EventFlapping:
			en.FlapNoticeAt = now
		case (n.Event == monitor.EventDown || n.Event == monitor.EventDegraded) && en.Open != nil:
			for _, c := range n.Channels {
				if !slices.Contains(en.Open.Alerted, c) {
					en.Open.Alerted = append(en.Open.Alerted, c)
				}
			}
		}
	}
	if en.dirty {
		e.queue.set(en, asap) // a beat or an edit came in while this was committed
		return
	}
	e.queue.set(en, d.Due)
}

// maxNeighbourhood bounds the services one decision looks at through dependencies.
const maxNeighbourhood = 1000

// decide runs the rules for en at now, with the services it depends on, and those that
// depend on it, as the rules need them to hold back and fold alerts.
func (e *Engine) decide(en *entry, now time.Time) monitor.Decision {
	in := monitor.AlertInput{Now: now, StartedAt: e.cfg.StartedAt, FlapLimit: e.cfg.FlapLimit, Subscribers: e.subs, Windows: e.wins}
	in.Services = append(in.Services, e.alertService(en, now))
	if len(en.Parents) > 0 || len(e.children[en.ID]) > 0 {
		seen := map[string]bool{en.ID: true}
		queue := []string{en.ID}
		for len(queue) > 0 && len(in.Services) < maxNeighbourhood {
			cur := e.svcs[queue[0]]
			queue = queue[1:]
			for _, next := range slices.Concat(cur.Parents, e.children[cur.ID]) {
				if nb := e.svcs[next]; nb != nil && !seen[next] {
					seen[next] = true
					queue = append(queue, next)
					in.Services = append(in.Services, e.alertService(nb, now))
				}
			}
		}
	}
	return monitor.PlanAlerts(in)[0]
}

func (e *Engine) alertService(en *entry, now time.Time) monitor.AlertService {
	cutoff := now.Add(-monitor.FlapWindow)
	changes := 0
	for _, at := range en.Changes {
		if at.After(cutoff) {
			changes++
		}
	}
	return monitor.AlertService{ID: en.ID, Service: en.Model, PausedUntil: en.Model.PausedUntil, Prev: en.State, PrevSince: en.Since,
		Open: en.Open, Parents: en.Parents, Reminder: en.Reminder, Changes: changes, FlapNoticeAt: en.FlapNoticeAt}
}

// View is a service as readers see it: the committed state, and when it is next due.
type View struct {
	ID          string
	ServiceID   string
	Name        string
	Group       string
	Model       monitor.Service
	LastMessage string
	State       monitor.Status
	Cause       monitor.Cause
	Since       time.Time
	Open        *monitor.OpenIncident // a copy
	Due         time.Time             // zero when nothing is due without a new fact
}

// DisplayName is the name a person reads: the name, or the serviceId when it has none.
func (v View) DisplayName() string {
	if v.Name != "" {
		return v.Name
	}
	return v.ServiceID
}

func (en *entry) view() View {
	v := View{ID: en.ID, ServiceID: en.ServiceID, Name: en.Name, Group: en.Group, Model: en.Model, LastMessage: en.LastMessage,
		State: en.State, Cause: en.Cause, Since: en.Since, Due: en.due}
	if en.Open != nil {
		o := *en.Open
		o.Alerted = slices.Clone(o.Alerted)
		v.Open = &o
	}
	return v
}

// Get is the service whose serviceId is sid.
func (e *Engine) Get(sid string) (View, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	en, ok := e.bySID[sid]
	if !ok {
		return View{}, false
	}
	return en.view(), true
}

// Each calls fn for every service in list order (group, then serviceId) until fn returns
// false. fn runs under the engine's read lock: it must not call the engine.
func (e *Engine) Each(fn func(View) bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, en := range e.order {
		if !fn(en.view()) {
			return
		}
	}
}

// Cursor is a place in list order (group, then serviceId); the zero Cursor is the start.
type Cursor struct {
	group, serviceID string
	set              bool
}

// scanChunk bounds how many services one call to Scan looks at under the read lock, so
// a long listing never holds up beats.
const scanChunk = 4096

// Scan returns, in list order, the services after c that match (nil matches all), at
// most n of them, looking at no more than scanChunk services; the cursor goes on after
// the last service looked at, and done says the end of the list was reached. A list
// changed between calls is followed by its keys: nothing is listed twice.
func (e *Engine) Scan(c Cursor, n int, match func(*View) bool) (out []View, next Cursor, done bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	i := 0
	if c.set {
		i, _ = slices.BinarySearchFunc(e.order, c, func(en *entry, c Cursor) int {
			return cmp.Or(cmp.Compare(en.Group, c.group), cmp.Compare(en.ServiceID, c.serviceID))
		})
		if i < len(e.order) && e.order[i].Group == c.group && e.order[i].ServiceID == c.serviceID {
			i++
		}
	}
	next = c
	for looked := 0; i < len(e.order) && looked < scanChunk && len(out) < n; i, looked = i+1, looked+1 {
		en := e.order[i]
		next = Cursor{group: en.Group, serviceID: en.ServiceID, set: true}
		v := en.view()
		if match == nil || match(&v) {
			out = append(out, v)
		}
	}
	return out, next, i >= len(e.order)
}

// Counts is how many services are in each committed state.
func (e *Engine) Counts() map[monitor.Status]int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[monitor.Status]int, len(e.counts))
	for st, n := range e.counts {
		if n > 0 {
			out[st] = n
		}
	}
	return out
}

// Len is how many services the engine holds.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.svcs)
}
