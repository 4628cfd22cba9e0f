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
	// Schedule is a cron expression of when the service is expected to ping ("": the
	// interval rule), read in Timezone (an IANA name; "": UTC). Grace is how long after
	// an expected run it is down (0: monitor.DefaultGrace). An expression or zone that
	// does not parse leaves the interval rule (saves refuse them).
	Schedule, Timezone string
	Grace              time.Duration
	MaxRuntime         time.Duration // the bound of a run without its own; 0: none
	Runs               monitor.Runs  // as its pings left them

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
	// MaxBatch bounds how many due services one commit carries (default 500): when many
	// fall due at once (every cron job of a schedule at its fire time), their changes go
	// out in several short commits between which beats are written, not one long one.
	MaxBatch int
}

// Engine is the live state of every service and the queue of when each is next due.
type Engine struct {
	cfg Config

	mu   sync.RWMutex
	f    *roster
	subs []monitor.Subscriber
	wins []monitor.Window

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
		cfg.MaxBatch = 500
	}
	return &Engine{cfg: cfg, f: newRoster(0), wake: make(chan struct{}, 1)}
}

// Loader builds the services of a load one at a time, off the engine's lock, so a
// start-up load can stream rows from the store without holding them all at once.
type Loader struct {
	f *roster
}

// NewLoader returns an empty loader with room for sizeHint services.
func NewLoader(sizeHint int) *Loader {
	return &Loader{f: newRoster(max(sizeHint, 0))}
}

// Add adds a service to the load; a second service with the same record id replaces
// the first.
func (l *Loader) Add(s Service) {
	f := l.f
	n := len(f.es)
	if slot := f.add(normal(s)); int(slot) == n {
		f.order = append(f.order, slot)
	}
}

// SetState sets the stored state of a service already added: its last beat, the status
// and message that beat reported, and its committed state since when. The start-up
// reads the services and their states in two scans (each in storage order) and joins
// them here, by the loader's own index. It reports whether the service was there.
func (l *Loader) SetState(id string, lastSeen time.Time, lastStatus, lastMessage string, state monitor.Status, since time.Time) bool {
	f := l.f
	slot, ok := f.byID.Get(id)
	if !ok {
		return false
	}
	if state == "" {
		state = monitor.Unknown
	}
	en := &f.es[slot]
	f.count(en.state, -1)
	en.lastSeen, en.lastSta, en.msg = msOf(lastSeen), f.code(lastStatus), lastMessage
	en.state, en.since = f.code(string(state)), msOf(since)
	f.count(en.state, 1)
	return true
}

// SetRuns sets what the pings of a service already added left of its runs.
func (l *Loader) SetRuns(id string, runs monitor.Runs) {
	f := l.f
	if slot, ok := f.byID.Get(id); ok {
		en := &f.es[slot]
		f.cronOf(en).runs = runs
		f.trim(en)
	}
}

// LoadFrom replaces the engine's services with what l holds, and its channels and
// windows, as read at start-up. Every service is due at once: the first evaluation
// after a start applies the restart grace. l is spent.
func (e *Engine) LoadFrom(l *Loader, subs []monitor.Subscriber, wins []monitor.Window) {
	f := l.f
	l.f = nil
	slices.SortFunc(f.order, f.listCmp)
	// Every service is due at asap: slots in ascending order are a heap already.
	f.queue.h = f.queue.h[:0]
	for i := range f.es {
		f.es[i].due, f.es[i].pos = asap, int32(i)
		f.queue.h = append(f.queue.h, int32(i))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.f, e.subs, e.wins = f, subs, wins
	e.signal()
}

// Load replaces the engine's services, channels and windows, as read at start-up. Every
// service is due at once: the first evaluation after a start applies the restart grace.
func (e *Engine) Load(svcs []Service, subs []monitor.Subscriber, wins []monitor.Window) {
	l := NewLoader(len(svcs))
	for _, s := range svcs {
		l.Add(s)
	}
	e.LoadFrom(l, subs, wins)
}

func normal(s Service) Service {
	if s.State == "" {
		s.State = monitor.Unknown
	}
	return s
}

// Put adds a service or replaces its settings (an admin edit): its facts and committed
// state stay, and it is evaluated again at once.
func (e *Engine) Put(s Service) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.f
	slot, ok := f.byID.Get(s.ID)
	if !ok {
		slot = f.add(normal(s))
		f.insertOrdered(slot)
		e.markDue(slot)
		return
	}
	en := &f.es[slot]
	if en.sid != s.ServiceID {
		f.bySID.Remove(slot)
	}
	f.unlinkParents(en)
	f.unorder(slot)
	f.settle(en, s)
	en.cause = f.code(string(s.Cause))
	f.insertOrdered(slot)
	f.bySID.Put(slot)
	f.linkParents(en)
	e.markDue(slot)
}

// Refresh replaces a service's settings and its last beat with s, as stored: for facts
// written around the engine (a repair, a test). Its committed state stays, and it is
// evaluated again at once.
func (e *Engine) Refresh(s Service) {
	e.Put(s)
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.f
	if slot, ok := f.byID.Get(s.ID); ok {
		en := &f.es[slot]
		en.lastSeen, en.lastSta, en.msg = msOf(s.Model.LastSeen), f.code(s.Model.LastStatus), s.LastMessage
	}
}

// Remove forgets a deleted service.
func (e *Engine) Remove(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.f
	slot, ok := f.byID.Get(id)
	if !ok {
		return
	}
	en := &f.es[slot]
	f.queue.remove(f.es, slot)
	f.unlinkParents(en)
	f.unorder(slot)
	f.byID.Remove(slot)
	f.bySID.Remove(slot)
	f.count(en.state, -1)
	if en.flags&busy != 0 {
		en.flags |= gone // Step frees the slot once its commit returns
	} else {
		f.release(slot)
	}
	for _, c := range f.children[id] {
		if ch, ok := f.byID.Get(c); ok {
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
	f := e.f
	touched := func(ws []monitor.Window) {
		for _, w := range ws {
			if len(w.Services) == 0 {
				for _, s := range f.order {
					e.markDue(s)
				}
				return
			}
			for _, id := range w.Services {
				if s, ok := f.byID.Get(id); ok {
					e.markDue(s)
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
	f := e.f
	slot, ok := f.byID.Get(id)
	if !ok {
		return
	}
	en := &f.es[slot]
	if ms := msOf(at); ms < en.lastSeen {
		return
	}
	en.lastSeen, en.lastSta, en.msg = msOf(at), f.code(status), message
	st := monitor.StateAt(f.model(en), monitor.Prior{Status: monitor.Status(f.str(en.state)), Since: timeOf(en.since)}, e.cfg.StartedAt, e.cfg.Now())
	if f.str(en.state) == string(monitor.Up) && st.Status == monitor.Up && f.x(en).open == nil && en.flags&(dirty|busy) == 0 {
		f.queue.set(f.es, slot, nsOf(st.Next))
		return
	}
	e.markDue(slot)
}

// Runs is what the pings of service id (a record id) left of its runs, and whether the
// engine holds the service. A ping handler applies its ping to it (monitor.Runs.Apply),
// commits the result, then hands it to Ping.
func (e *Engine) Runs(id string) (monitor.Runs, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := e.f
	slot, ok := f.byID.Get(id)
	if !ok {
		return monitor.Runs{}, false
	}
	r := f.cron(&f.es[slot]).runs
	r.Open = slices.Clone(r.Open)
	return r, true
}

// Ping records a committed ping of service id (a record id), and the runs it left when
// it changed them (nil: unchanged): a ping that ends a run is a beat with the status it
// reports (see Beat); a start or a log changes only the runs.
func (e *Engine) Ping(id string, p monitor.Ping, runs *monitor.Runs, message string) {
	if runs != nil {
		e.mu.Lock()
		f := e.f
		if slot, ok := f.byID.Get(id); ok {
			en := &f.es[slot]
			c := f.cronOf(en)
			c.runs = *runs
			c.runs.Open = slices.Clone(runs.Open)
			f.trim(en)
			e.markDue(slot)
		}
		e.mu.Unlock()
	}
	if p.Ends() {
		e.Beat(id, p.At, p.Status(), message)
	}
}

// asap is the due time (unix ns) of a service to evaluate at the next step, whatever
// its clock.
const asap = int64(time.Second)

// markDue makes slot due at the next step and wakes the loop.
func (e *Engine) markDue(slot int32) {
	e.f.es[slot].flags |= dirty
	e.f.queue.set(e.f.es, slot, asap)
	e.signal()
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run evaluates services as they fall due until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour
		e.mu.RLock()
		if h := e.f.queue.head(); h != noSlot {
			wait = timeOfNs(e.f.es[h].due).Sub(e.cfg.Now())
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

// dueBy reports whether the head of f's queue is due at now.
func (f *roster) dueBy(now time.Time) (int32, bool) {
	h := f.queue.head()
	return h, h != noSlot && f.es[h].due <= nsOf(now)
}

// Step evaluates the services due at now (at most MaxBatch), commits their transitions
// in one call to the Sink and applies them. It reports how many transitions it committed.
func (e *Engine) Step(now time.Time) int {
	e.stepMu.Lock()
	defer e.stepMu.Unlock()
	var ts []Transition
	var done []int32
	e.mu.Lock()
	f := e.f
	for examined := 0; examined < e.cfg.MaxBatch; examined++ {
		h, ok := f.dueBy(now)
		if !ok {
			break
		}
		f.queue.remove(f.es, h)
		en := &f.es[h]
		en.flags &^= dirty
		d := e.decide(h, now)
		if string(d.Status) == f.str(en.state) {
			en.cause = f.code(string(d.Cause)) // a reported outage that goes quiet is down as stale
		}
		if d.Idle() {
			f.queue.set(f.es, h, nsOf(d.Due))
			continue
		}
		t := Transition{Service: f.service(en), Decision: d}
		if d.Open {
			t.Incident = e.cfg.NewID(now)
		}
		for _, n := range d.Notices {
			for _, dep := range n.Dependents {
				if t.Names == nil {
					t.Names = map[string]string{}
				}
				if s, ok := f.byID.Get(dep); ok {
					t.Names[dep] = displayName(&f.es[s])
				}
			}
		}
		en.flags |= busy
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
	if e.f != f {
		return 0 // a load replaced the fleet meanwhile
	}
	for i, s := range done {
		en := &f.es[s]
		en.flags &^= busy
		switch {
		case en.flags&gone != 0:
			f.release(s) // removed meanwhile
		case err != nil:
			f.queue.set(f.es, s, nsOf(now.Add(e.cfg.RetryAfter)))
		default:
			e.apply(s, ts[i], now)
		}
	}
	if err != nil {
		e.cfg.Logger.Error("engine: commit transitions", "error", err, "services", len(ts))
		return 0
	}
	return len(ts)
}

func displayName(en *entry) string {
	if en.name != "" {
		return en.name
	}
	return en.sid
}

// StepAll steps until nothing is due at now and reports how many transitions it
// committed: what Run does when it falls behind, for a caller with its own clock.
func (e *Engine) StepAll(now time.Time) int {
	total := 0
	for {
		total += e.Step(now)
		e.mu.RLock()
		_, more := e.f.dueBy(now)
		e.mu.RUnlock()
		if !more {
			return total
		}
	}
}

// apply moves slot's committed state along by t, and schedules it again.
func (e *Engine) apply(slot int32, t Transition, now time.Time) {
	f := e.f
	en := &f.es[slot]
	d := t.Decision
	if d.Changed {
		f.count(en.state, -1)
		en.state, en.since, en.cause = f.code(string(d.Status)), msOf(d.Since), f.code(string(d.Cause))
		f.count(en.state, 1)
		for _, c := range f.children[en.id] {
			if ch, ok := f.byID.Get(c); ok {
				e.markDue(ch) // a parent's change may hold back, or free, its dependents' alerts
			}
		}
	}
	x := f.ext(en)
	cutoff := now.Add(-monitor.FlapWindow)
	x.changes = slices.DeleteFunc(x.changes, func(at time.Time) bool { return !at.After(cutoff) })
	if d.Close != nil {
		x.open = nil
		x.changes = append(x.changes, d.Since)
	}
	if d.Open {
		x.open = &monitor.OpenIncident{ID: t.Incident, Status: d.Status, StartedAt: d.Since}
		x.changes = append(x.changes, d.Since)
		if d.AlertNew {
			x.open.AlertedAt = now
		}
	}
	if d.AlertOpen && x.open != nil {
		x.open.AlertedAt = now
	}
	if d.Remind && x.open != nil {
		x.open.RemindedAt = now
	}
	for _, n := range d.Notices {
		switch {
		case n.Event == monitor.EventFlapping:
			x.flapNoticeAt = now
		case (n.Event == monitor.EventDown || n.Event == monitor.EventDegraded) && x.open != nil:
			for _, c := range n.Channels {
				if !slices.Contains(x.open.Alerted, c) {
					x.open.Alerted = append(x.open.Alerted, c)
				}
			}
		}
	}
	f.trim(en)
	if en.flags&dirty != 0 {
		f.queue.set(f.es, slot, asap) // a beat or an edit came in while this was committed
		return
	}
	f.queue.set(f.es, slot, nsOf(d.Due))
}

// maxNeighbourhood bounds the services one decision looks at through dependencies.
const maxNeighbourhood = 1000

// decide runs the rules for slot at now, with the services it depends on, and those that
// depend on it, as the rules need them to hold back and fold alerts.
func (e *Engine) decide(slot int32, now time.Time) monitor.Decision {
	f := e.f
	en := &f.es[slot]
	in := monitor.AlertInput{Now: now, StartedAt: e.cfg.StartedAt, FlapLimit: e.cfg.FlapLimit, Subscribers: e.subs, Windows: e.wins}
	in.Services = append(in.Services, e.alertService(en, now))
	if len(f.x(en).parents) > 0 || len(f.children[en.id]) > 0 {
		seen := map[string]bool{en.id: true}
		queue := []string{en.id}
		for len(queue) > 0 && len(in.Services) < maxNeighbourhood {
			cs, _ := f.byID.Get(queue[0])
			cur := &f.es[cs]
			queue = queue[1:]
			for _, next := range slices.Concat(f.x(cur).parents, f.children[cur.id]) {
				if nb, ok := f.byID.Get(next); ok && !seen[next] {
					seen[next] = true
					queue = append(queue, next)
					in.Services = append(in.Services, e.alertService(&f.es[nb], now))
				}
			}
		}
	}
	return monitor.PlanAlerts(in)[0]
}

func (e *Engine) alertService(en *entry, now time.Time) monitor.AlertService {
	f := e.f
	x := f.x(en)
	cutoff := now.Add(-monitor.FlapWindow)
	changes := 0
	for _, at := range x.changes {
		if at.After(cutoff) {
			changes++
		}
	}
	return monitor.AlertService{ID: en.id, Service: f.model(en), PausedUntil: x.pausedUntil, Prev: monitor.Status(f.str(en.state)),
		PrevSince: timeOf(en.since), Open: x.open, Parents: x.parents, Reminder: x.reminder, Changes: changes, FlapNoticeAt: x.flapNoticeAt}
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
	Schedule    string                // "" for the interval rule
	Timezone    string
	Grace       time.Duration // as set; 0 means monitor.DefaultGrace
	MaxRuntime  time.Duration
	Runs        monitor.Runs // a copy
}

// NextDeadline is when the service's status next changes by itself (a threshold, an
// expected run, a run's bound, the end of a timed pause), as the engine has it
// scheduled; zero when nothing is due without a new fact, or an evaluation is pending.
func (v View) NextDeadline() time.Time {
	if !v.Due.After(time.Unix(0, asap)) {
		return time.Time{}
	}
	return v.Due
}

// DisplayName is the name a person reads: the name, or the serviceId when it has none.
func (v View) DisplayName() string {
	if v.Name != "" {
		return v.Name
	}
	return v.ServiceID
}

// Get is the service whose serviceId is sid.
func (e *Engine) Get(sid string) (View, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := e.f
	s, ok := f.bySID.Get(sid)
	if !ok {
		return View{}, false
	}
	return f.view(&f.es[s]), true
}

// Each calls fn for every service in list order (group, then serviceId) until fn returns
// false. fn runs under the engine's read lock: it must not call the engine.
func (e *Engine) Each(fn func(View) bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := e.f
	for _, s := range f.order {
		if !fn(f.view(&f.es[s])) {
			return
		}
	}
}

// Cursor is a place in list order (group, then serviceId); the zero Cursor is the start.
type Cursor struct {
	group, serviceID string
	set              bool
}

// cursorCmp orders slot s against cursor c in list order.
func (f *roster) cursorCmp(s int32, c Cursor) int {
	en := &f.es[s]
	return cmp.Or(cmp.Compare(f.group(en), c.group), cmp.Compare(en.sid, c.serviceID))
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
	f := e.f
	i := 0
	if c.set {
		var found bool
		i, found = slices.BinarySearchFunc(f.order, c, f.cursorCmp)
		if found {
			i++
		}
	}
	next = c
	for looked := 0; i < len(f.order) && looked < scanChunk && len(out) < n; i, looked = i+1, looked+1 {
		en := &f.es[f.order[i]]
		next = Cursor{group: f.group(en), serviceID: en.sid, set: true}
		v := f.view(en)
		if match == nil || match(&v) {
			out = append(out, v)
		}
	}
	return out, next, i >= len(f.order)
}

// Counts is how many services are in each committed state.
func (e *Engine) Counts() map[monitor.Status]int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := e.f
	out := map[monitor.Status]int{}
	for c, n := range f.counts {
		if n > 0 {
			out[monitor.Status(f.str(uint16(c)))] = n
		}
	}
	return out
}

// Len is how many services the engine holds.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.f.byID.Len()
}
