package engine

import (
	"slices"
	"time"
)

// settings is what a person sets on a service, as Sync compares it.
type settings struct {
	serviceID, name, group string
	interval, threshold    time.Duration
	paused                 bool
	pausedUntil            time.Time
	reminder               time.Duration
	parents                []string
	schedule, timezone     string
	grace, maxRuntime      time.Duration
}

func settingsOf(s Service) settings {
	return settings{s.ServiceID, s.Name, s.Group, s.Model.Interval, s.Model.Threshold, s.Model.Paused, s.Model.PausedUntil, s.Reminder, s.Parents,
		s.Schedule, s.Timezone, s.Grace, s.MaxRuntime}
}

func (a settings) equal(b settings) bool {
	return a.serviceID == b.serviceID && a.name == b.name && a.group == b.group && a.interval == b.interval &&
		a.threshold == b.threshold && a.paused == b.paused && a.pausedUntil.Equal(b.pausedUntil) && a.reminder == b.reminder &&
		slices.Equal(a.parents, b.parents) && a.schedule == b.schedule && a.timezone == b.timezone && a.grace == b.grace &&
		a.maxRuntime == b.maxRuntime
}

// Update adds the services of svcs the engine does not hold and applies the settings of
// those whose settings changed, leaving the others alone: the rows another process saved,
// which may include rows this process saved itself. It reports what it did.
func (e *Engine) Update(svcs []Service) (added, changed int) {
	put := e.changed(svcs, &added, &changed)
	for _, s := range put {
		e.Put(s)
	}
	return added, changed
}

// changed lists the services of svcs that are new or whose settings changed.
func (e *Engine) changed(svcs []Service, added, changed *int) []Service {
	var put []Service
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := e.f
	for _, s := range svcs {
		slot, ok := f.byID.Get(s.ID)
		switch {
		case !ok:
			*added++
			put = append(put, s)
		case !settingsOf(f.service(&f.es[slot])).equal(settingsOf(s)):
			*changed++
			put = append(put, s)
		}
	}
	return put
}

// Sync makes the engine hold exactly svcs, as stored, after another process changed the
// services table (an import into a running server): new services are added with their
// stored facts, changed settings are applied, and services no longer stored are removed.
// A service whose settings did not change is left alone, so syncing a large fleet where
// little changed evaluates little. It reports what it did.
func (e *Engine) Sync(svcs []Service) (added, changed, removed int) {
	put := e.changed(svcs, &added, &changed)
	keep := make(map[string]bool, len(svcs))
	for _, s := range svcs {
		keep[s.ID] = true
	}
	e.mu.RLock()
	var gone []string
	for _, slot := range e.f.order {
		if id := e.f.es[slot].id; !keep[id] {
			gone = append(gone, id)
		}
	}
	e.mu.RUnlock()
	for _, s := range put {
		e.Put(s)
	}
	for _, id := range gone {
		e.Remove(id)
	}
	return added, changed, len(gone)
}
