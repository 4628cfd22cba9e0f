package alerting

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// SendExternal routes an external alert (see routeExternal), stores it with one pending
// notification per channel in one transaction and wakes the worker. It returns the names
// of the channels it went to; when a names channels no enabled channel has, it stores
// nothing and unknown lists them.
func (al *Alerting) SendExternal(a monitor.ExternalAlert, now time.Time) (sent, unknown []string, err error) {
	rows, err := store.LoadChannels(al.App.DB())
	if err != nil {
		return nil, nil, err
	}
	picked, unknown, _ := routeExternal(rows, a)
	if len(unknown) > 0 {
		return nil, unknown, nil
	}
	if err := storeExternal(al.App, a, picked, now); err != nil {
		return nil, nil, err
	}
	al.Wake()
	sent = []string{}
	for _, c := range picked {
		sent = append(sent, c.Name)
	}
	return sent, nil, nil
}

// storeExternal writes the alert and its notifications in one transaction.
func storeExternal(app core.App, a monitor.ExternalAlert, chans []store.ChannelRow, now time.Time) error {
	msg := notify.Message{Event: notify.EventExternal, At: now, Alert: &notify.External{
		Title: a.Title, Message: a.Message, Severity: a.Severity, Source: a.Source, Status: a.Status, URL: a.URL,
		Labels: a.Labels, Resolved: a.IsResolved(),
	}}
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.ChannelID
	}
	var fields [4][]byte
	for i, v := range []any{a.Labels, a.Annotations, ids, msg} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fields[i] = b
	}
	alertID, at := ingest.NewID(now), store.DBDate(now)
	return app.RunInTransaction(func(tx core.App) error {
		notes := make([][]any, len(chans))
		for i, c := range chans {
			notes[i] = []any{ingest.NewID(now), c.ChannelID, "", "", alertID, notify.EventExternal, notify.StatusPending, 0, "", "", at, string(fields[3]), at, at}
		}
		return store.InsertAlert(tx.DB(), []any{alertID, a.Title, a.Message, a.Severity, a.Source, a.Status, a.Format, a.URL, string(fields[0]), string(fields[1]), string(fields[2]), at}, notes)
	})
}

// routeExternal picks the channels of an external alert: the enabled ones it names
// (case-insensitive), or else those subscribed to its severity's event that take
// external alerts. unknown lists names it asked for that no enabled channel has.
func routeExternal(rows []store.ChannelRow, a monitor.ExternalAlert) (picked []store.ChannelRow, unknown, available []string) {
	for _, r := range rows {
		if !r.Disabled {
			available = append(available, r.Name)
		}
	}
	if len(a.Channels) > 0 {
		for _, name := range a.Channels {
			i := slices.IndexFunc(rows, func(r store.ChannelRow) bool { return !r.Disabled && strings.EqualFold(r.Name, name) })
			if i < 0 {
				unknown = append(unknown, name)
			} else if !slices.ContainsFunc(picked, func(p store.ChannelRow) bool { return p.ChannelID == rows[i].ChannelID }) {
				picked = append(picked, rows[i])
			}
		}
		return picked, unknown, available
	}
	ev := string(monitor.SeverityEvent(a.Severity))
	for _, r := range rows {
		if r.Disabled {
			continue
		}
		ch, _ := ChannelOf(r) // a broken channel still gets its notification, which fails visibly
		var events []string
		if store.JSONList(r.Events, &events) == nil && slices.Contains(events, ev) && ch.TakesExternal() {
			picked = append(picked, r)
		}
	}
	return picked, nil, available
}
