package engine

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/schedule"
	"github.com/heartbeat-monitor/heartbeat-monitor/slotindex"
)

// noSlot marks a service that is not queued, and a slot an index did not find.
const noSlot = slotindex.None

// entry is one service as the engine keeps it, compacted: a million of them are one
// slice of fixed-size values, found through indexes of 4-byte slots. Times are unix
// milliseconds (the precision the store keeps), states and causes are codes into the
// roster's table of them, the group an index into its table of groups, and what few
// services have (dependencies, an open incident, recent changes, a timed pause, a
// reminder) hangs off x, nil for most.
type entry struct {
	id, sid, name, msg    string
	x                     *extra
	lastSeen, since, due  int64 // unix ms, due unix ns; noTime when zero
	interval, threshold   time.Duration
	group                 uint32 // in roster.groups
	pos                   int32  // place in the due queue; noSlot when not queued
	state, cause, lastSta uint16 // in roster.codes
	flags                 uint8
}

// entry flags.
const (
	paused uint8 = 1 << iota // paused indefinitely
	busy                     // its transition is being committed
	dirty                    // a beat or an edit arrived since it was last evaluated
	gone                     // removed while busy: the slot is freed when the commit returns
)

// extra holds what few services have.
type extra struct {
	parents      []string // record ids of the services this one depends on
	open         *monitor.OpenIncident
	changes      []time.Time
	flapNoticeAt time.Time
	pausedUntil  time.Time
	reminder     time.Duration
	cron         *cronJob // nil for a service with no cron settings and no runs
}

func (x *extra) empty() bool {
	return len(x.parents) == 0 && x.open == nil && len(x.changes) == 0 && x.flapNoticeAt.IsZero() &&
		x.pausedUntil.IsZero() && x.reminder == 0 && x.cron == nil
}

// cronJob is what a cron job has: its schedule's text and zone as set and as parsed
// (sched nil: the interval rule), its grace, its bound on runs, and its runs. It hangs
// off extra, so the many services with an extra for another reason (an open incident)
// do not pay for it.
type cronJob struct {
	schedule, tz      string
	sched             *schedule.Schedule
	loc               *time.Location
	grace, maxRuntime time.Duration
	runs              monitor.Runs
}

func (c *cronJob) empty() bool {
	return c.schedule == "" && c.tz == "" && c.grace == 0 && c.maxRuntime == 0 && c.runs.Equal(monitor.Runs{})
}

// noCron is what a service without cron settings reads; it is never written.
var noCron cronJob

// cron is en's cron settings and runs, for reading.
func (f *roster) cron(en *entry) *cronJob {
	if c := f.x(en).cron; c != nil {
		return c
	}
	return &noCron
}

// cronOf is en's cron settings and runs, made when missing, for writing; trim drops
// them again when they are empty.
func (f *roster) cronOf(en *entry) *cronJob {
	x := f.ext(en)
	if x.cron == nil {
		x.cron = &cronJob{}
	}
	return x.cron
}

// noTime is a zero time.Time in an entry.
const noTime = math.MinInt64

// msOf is t in unix ms, rounded down (the precision the store keeps).
func msOf(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixMilli()
}

// Deadlines are kept to the nanosecond (a deadline is "just past" an instant); the
// range of an int64 of nanoseconds (1678 to 2262) clamps what lies beyond it.
var (
	firstNano = time.Unix(0, math.MinInt64+1)
	lastNano  = time.Unix(0, math.MaxInt64)
)

// nsOf is t in unix ns, clamped to the range an int64 holds.
func nsOf(t time.Time) int64 {
	switch {
	case t.IsZero():
		return noTime
	case t.Before(firstNano):
		return math.MinInt64 + 1
	case t.After(lastNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func timeOfNs(ns int64) time.Time {
	if ns == noTime {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func timeOf(ms int64) time.Time {
	if ms == noTime {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// table interns the few distinct strings many services share (states, causes, groups).
// It only grows: the strings it holds are bounded by the distinct values ever seen.
type table struct {
	ids  map[string]uint32
	strs []string
}

func newTable(seed ...string) table {
	t := table{ids: map[string]uint32{}}
	for _, s := range seed {
		t.code(s)
	}
	return t
}

func (t *table) code(s string) uint32 {
	if c, ok := t.ids[s]; ok {
		return c
	}
	c := uint32(len(t.strs))
	t.strs = append(t.strs, s)
	t.ids[s] = c
	return c
}

// maxCodes bounds the codes of states, causes and reported statuses (a uint16 each);
// the values are a handful, so only a corrupt store could reach it.
const maxCodes = math.MaxUint16

// roster is every service the engine holds, with its indexes and queue.
type roster struct {
	es       []entry
	free     []int32         // slots of removed services, reused first
	byID     slotindex.Index // by record id
	bySID    slotindex.Index // by serviceId
	order    []int32         // by group, then serviceId: the order every list shows
	queue    dueQueue
	counts   []int // by state code
	codes    table // states, causes and reported statuses
	groups   table
	children map[string][]string
	// Parsed schedules and zones, by their text: many services share a few.
	scheds map[string]*schedule.Schedule
	locs   map[string]*time.Location
}

func newRoster(sizeHint int) *roster {
	f := &roster{es: make([]entry, 0, sizeHint),
		order: make([]int32, 0, sizeHint), queue: dueQueue{h: make([]int32, 0, sizeHint)}, children: map[string][]string{},
		codes: newTable("", string(monitor.Unknown), string(monitor.Up), string(monitor.Late), string(monitor.Degraded),
			string(monitor.Down), string(monitor.Paused), string(monitor.CauseStale), string(monitor.CauseReported),
			string(monitor.CauseOverrun)),
		groups: newTable(""), scheds: map[string]*schedule.Schedule{}, locs: map[string]*time.Location{}}
	f.byID = slotindex.New(sizeHint, func(s int32) string { return f.es[s].id })
	f.bySID = slotindex.New(sizeHint, func(s int32) string { return f.es[s].sid })
	return f
}

func (f *roster) code(s string) uint16 {
	if len(f.codes.strs) >= maxCodes {
		if c, ok := f.codes.ids[s]; ok {
			return uint16(c)
		}
		return 0
	}
	return uint16(f.codes.code(s))
}

func (f *roster) str(c uint16) string { return f.codes.strs[c] }

func (f *roster) group(en *entry) string { return f.groups.strs[en.group] }

func (f *roster) count(state uint16, by int) {
	for int(state) >= len(f.counts) {
		f.counts = append(f.counts, 0)
	}
	f.counts[state] += by
}

// alloc is a free slot.
func (f *roster) alloc() int32 {
	if n := len(f.free); n > 0 {
		s := f.free[n-1]
		f.free = f.free[:n-1]
		return s
	}
	f.es = append(f.es, entry{})
	return int32(len(f.es) - 1)
}

// release frees slot s for the next new service.
func (f *roster) release(s int32) {
	f.es[s] = entry{pos: noSlot}
	f.free = append(f.free, s)
}

// fill sets everything of slot s from v.
func (f *roster) fill(s int32, v Service) {
	en := &f.es[s]
	*en = entry{id: v.ID, msg: v.LastMessage, lastSeen: msOf(v.Model.LastSeen), since: msOf(v.Since), due: noTime,
		pos: noSlot, state: f.code(string(v.State)), cause: f.code(string(v.Cause)), lastSta: f.code(v.Model.LastStatus)}
	f.settle(en, v)
	x := f.ext(en)
	x.open, x.changes, x.flapNoticeAt = v.Open, v.Changes, v.FlapNoticeAt
	if !v.Runs.Equal(monitor.Runs{}) {
		f.cronOf(en).runs = v.Runs
	}
	f.trim(en)
}

// settle sets the settings of en from v: what a person edits.
func (f *roster) settle(en *entry, v Service) {
	en.sid, en.name, en.group = v.ServiceID, v.Name, f.groups.code(v.Group)
	en.interval, en.threshold = v.Model.Interval, v.Model.Threshold
	en.flags &^= paused
	if v.Model.Paused {
		en.flags |= paused
	}
	x := f.ext(en)
	x.parents, x.pausedUntil, x.reminder = v.Parents, v.Model.PausedUntil, v.Reminder
	if v.Schedule != "" || v.Timezone != "" || v.Grace != 0 || v.MaxRuntime != 0 || x.cron != nil {
		c := f.cronOf(en)
		c.schedule, c.tz, c.grace, c.maxRuntime = v.Schedule, v.Timezone, v.Grace, v.MaxRuntime
		c.sched, c.loc = f.parsed(v.Schedule, v.Timezone)
	}
	f.trim(en)
}

// parsed is a schedule and its zone, parsed once for all the services that share them;
// nil (the interval rule) when there is no schedule, or it or its zone does not parse.
func (f *roster) parsed(expr, tz string) (*schedule.Schedule, *time.Location) {
	if expr == "" {
		return nil, nil
	}
	s, loc := cached(f.scheds, expr, schedule.Parse), cached(f.locs, tz, time.LoadLocation)
	if s == nil || loc == nil {
		return nil, nil
	}
	return s, loc
}

// cached is m's value for key, parsed and kept on first use; nil when it does not parse.
func cached[T any](m map[string]*T, key string, parse func(string) (*T, error)) *T {
	v, ok := m[key]
	if !ok {
		var err error
		if v, err = parse(key); err != nil {
			v = nil
		}
		m[key] = v
	}
	return v
}

func (f *roster) ext(en *entry) *extra {
	if en.x == nil {
		en.x = &extra{}
	}
	return en.x
}

// trim drops en's extra, and its cron settings, when nothing is in them.
func (f *roster) trim(en *entry) {
	if en.x != nil && en.x.cron != nil && en.x.cron.empty() {
		en.x.cron = nil
	}
	if en.x != nil && en.x.empty() {
		en.x = nil
	}
}

func (f *roster) x(en *entry) *extra {
	if en.x == nil {
		return &noExtra
	}
	return en.x
}

// noExtra is what a service without extra reads; it is never written.
var noExtra extra

func (f *roster) model(en *entry) monitor.Service {
	x := f.x(en)
	m := monitor.Service{LastSeen: timeOf(en.lastSeen), LastStatus: f.str(en.lastSta), Interval: en.interval,
		Threshold: en.threshold, Paused: en.flags&paused != 0, PausedUntil: x.pausedUntil}
	c := f.cron(en)
	if c.sched != nil && !m.LastSeen.IsZero() {
		m.Expected, m.Grace = c.sched.Next(m.LastSeen, c.loc), c.grace
	}
	if len(c.runs.Open) > 0 {
		m.RunStarted, m.RunDeadline = c.runs.Bound(f.runBound(en, c))
	}
	return m
}

// runBound is how long a run of en may take when its start set no bound of its own:
// maxRuntime, or else, as Healthchecks bounds a started check, the grace of a schedule
// (the time between interval and threshold for the interval rule).
func (f *roster) runBound(en *entry, c *cronJob) time.Duration {
	switch {
	case c.maxRuntime > 0:
		return c.maxRuntime
	case c.sched != nil && c.grace > 0:
		return c.grace
	case c.sched != nil:
		return monitor.DefaultGrace
	}
	interval, threshold := en.interval, en.threshold
	if interval <= 0 {
		interval = monitor.DefaultInterval
	}
	if threshold <= 0 {
		threshold = monitor.DefaultThreshold
	}
	return max(threshold-interval, time.Second)
}

// service is en as a Service.
func (f *roster) service(en *entry) Service {
	x, c := f.x(en), f.cron(en)
	return Service{ID: en.id, ServiceID: en.sid, Name: en.name, Group: f.group(en), Model: f.model(en), LastMessage: en.msg,
		Reminder: x.reminder, Parents: x.parents, State: monitor.Status(f.str(en.state)), Cause: monitor.Cause(f.str(en.cause)),
		Since: timeOf(en.since), Open: x.open, Changes: slices.Clone(x.changes), FlapNoticeAt: x.flapNoticeAt,
		Schedule: c.schedule, Timezone: c.tz, Grace: c.grace, MaxRuntime: c.maxRuntime, Runs: c.runs}
}

func (f *roster) view(en *entry) View {
	v := View{ID: en.id, ServiceID: en.sid, Name: en.name, Group: f.group(en), Model: f.model(en), LastMessage: en.msg,
		State: monitor.Status(f.str(en.state)), Cause: monitor.Cause(f.str(en.cause)), Since: timeOf(en.since), Due: timeOfNs(en.due)}
	if c := f.cron(en); c != &noCron {
		v.Schedule, v.Timezone, v.Grace, v.MaxRuntime, v.Runs = c.schedule, c.tz, c.grace, c.maxRuntime, c.runs
		v.Runs.Open = slices.Clone(c.runs.Open)
	}
	if o := f.x(en).open; o != nil {
		c := *o
		c.Alerted = slices.Clone(o.Alerted)
		v.Open = &c
	}
	return v
}

func (f *roster) listCmp(a, b int32) int {
	x, y := &f.es[a], &f.es[b]
	return cmp.Or(cmp.Compare(f.group(x), f.group(y)), cmp.Compare(x.sid, y.sid))
}

// orderAt is the place of slot s in order: the first place at or after its keys that
// holds it (two services briefly sharing a serviceId share keys).
func (f *roster) orderAt(s int32) int {
	i, _ := slices.BinarySearchFunc(f.order, s, f.listCmp)
	for ; i < len(f.order) && f.listCmp(f.order[i], s) == 0; i++ {
		if f.order[i] == s {
			return i
		}
	}
	return -1
}

func (f *roster) insertOrdered(s int32) {
	i, _ := slices.BinarySearchFunc(f.order, s, f.listCmp)
	f.order = slices.Insert(f.order, i, s)
}

func (f *roster) unorder(s int32) {
	if i := f.orderAt(s); i >= 0 {
		f.order = slices.Delete(f.order, i, i+1)
	}
}

func (f *roster) linkParents(en *entry) {
	for _, p := range f.x(en).parents {
		f.children[p] = append(f.children[p], en.id)
	}
}

func (f *roster) unlinkParents(en *entry) {
	for _, p := range f.x(en).parents {
		f.children[p] = slices.DeleteFunc(f.children[p], func(c string) bool { return c == en.id })
		if len(f.children[p]) == 0 {
			delete(f.children, p)
		}
	}
}

// add puts v in a new slot, or over the slot of its record id, without placing it in
// order or the queue.
func (f *roster) add(v Service) int32 {
	s, ok := f.byID.Get(v.ID)
	if ok {
		en := &f.es[s]
		f.unlinkParents(en)
		f.bySID.Remove(s)
		f.count(en.state, -1)
	} else {
		s = f.alloc()
	}
	f.fill(s, v)
	if !ok {
		f.byID.Put(s)
	}
	f.bySID.Put(s)
	f.count(f.es[s].state, 1)
	f.linkParents(&f.es[s])
	return s
}
