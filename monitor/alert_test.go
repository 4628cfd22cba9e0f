package monitor

import (
	"reflect"
	"testing"
	"time"
)

// t0 is the fixed clock of the rules tests.
var t0 = time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)

// svc is a service beating every 2 min with a 5 min threshold, last seen ago before t0.
func svc(id string, ago time.Duration, prev Status) AlertService {
	return AlertService{
		ID:      id,
		Service: Service{LastSeen: t0.Add(-ago), LastStatus: "up", Interval: 2 * time.Minute, Threshold: 5 * time.Minute},
		Prev:    prev,
	}
}

func with(s AlertService, f func(*AlertService)) AlertService { f(&s); return s }

func alerted(id string, st Status, started, at time.Time, chans ...string) *OpenIncident {
	return &OpenIncident{ID: id, Status: st, StartedAt: started, AlertedAt: at, Alerted: chans}
}

var allEvents = []Event{EventDown, EventDegraded, EventUp, EventLate, EventReminder}

// subs: "all" takes everything, "downs" only down alerts, "late" late notices too, and
// "other" only another service.
var subs = []Subscriber{
	{ID: "all", Events: allEvents},
	{ID: "downs", Events: []Event{EventDown}},
	{ID: "other", Events: allEvents, Services: []string{"elsewhere"}},
}

func find(ds []Decision, id string) Decision {
	for _, d := range ds {
		if d.Service == id {
			return d
		}
	}
	return Decision{}
}

func TestPlanAlerts(t *testing.T) {
	threshold := 5 * time.Minute
	weeklyNow := Window{Weekdays: []time.Weekday{t0.Weekday()}, StartMinute: 11 * 60, Duration: 2 * time.Hour, Location: time.UTC}
	tests := []struct {
		name      string
		in        AlertInput
		service   string
		status    Status
		open      bool
		closed    string // id of the incident closed, if any
		held      string
		alertOpen bool
		remind    bool
		notices   []Notice
	}{
		{
			name:    "stale service goes down: alert to its subscribers",
			in:      AlertInput{Services: []AlertService{svc("a", threshold+time.Second, Late)}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "reported down alerts at once",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Second, Up), func(s *AlertService) {
				s.Service.LastStatus = "down"
			})}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "reported degraded goes to degraded subscribers",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Second, Up), func(s *AlertService) {
				s.Service.LastStatus = "degraded"
			})}},
			service: "a", status: Degraded, open: true,
			notices: []Notice{{Event: EventDegraded, Channels: []string{"all"}, NewIncident: true}},
		},
		{
			name: "recovery 1 s after the down alert goes to every channel that got it",
			in: AlertInput{Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-time.Second), t0.Add(-time.Second), "all", "downs")
			})}},
			service: "a", status: Up, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all", "downs"}}},
		},
		{
			name: "recovery of an incident whose alert was held says nothing",
			in: AlertInput{Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-time.Minute), time.Time{})
			})}},
			service: "a", status: Up, closed: "i1",
		},
		{
			name: "a channel disabled since the alert gets no recovery",
			in: AlertInput{Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-time.Minute), t0.Add(-time.Minute), "all", "gone")
			})}},
			service: "a", status: Up, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all"}}},
		},
		{
			name: "down to degraded: the down incident resolves, the degraded one alerts",
			in: AlertInput{Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Service.LastStatus = "degraded"
				s.Open = alerted("i1", Down, t0.Add(-time.Hour), t0.Add(-time.Hour), "all", "downs")
			})}},
			service: "a", status: Degraded, open: true, closed: "i1",
			notices: []Notice{
				{Event: EventUp, Incident: "i1", Channels: []string{"all", "downs"}},
				{Event: EventDegraded, Channels: []string{"all"}, NewIncident: true},
			},
		},
		{
			name: "reminder due while down, to the alerted channels that take reminders",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Hour, Down), func(s *AlertService) {
				s.Reminder = 30 * time.Minute
				s.Open = alerted("i1", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all", "downs")
			})}},
			service: "a", status: Down, remind: true,
			notices: []Notice{{Event: EventReminder, Incident: "i1", Channels: []string{"all"}}},
		},
		{
			name: "next reminder counts from the last one",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Hour, Down), func(s *AlertService) {
				s.Reminder = 30 * time.Minute
				s.Open = alerted("i1", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all")
				s.Open.RemindedAt = t0.Add(-25 * time.Minute)
			})}},
			service: "a", status: Down,
		},
		{
			name: "reminders stop at recovery",
			in: AlertInput{Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Reminder = time.Minute
				s.Open = alerted("i1", Down, t0.Add(-time.Hour), t0.Add(-time.Hour), "all")
			})}},
			service: "a", status: Up, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all"}}},
		},
		{
			name: "reminders are off by default",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Hour, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-55*time.Minute), t0.Add(-55*time.Minute), "all")
			})}},
			service: "a", status: Down,
		},
		{
			name:    "up to late: a late notice to the channels that take it",
			in:      AlertInput{Services: []AlertService{svc("a", 3*time.Minute, Up)}},
			service: "a", status: Late,
			notices: []Notice{{Event: EventLate, Channels: []string{"all"}}},
		},
		{
			name: "restart: a service quiet since before the start gets a fresh grace",
			in: AlertInput{StartedAt: t0.Add(-30 * time.Second), Services: []AlertService{
				svc("a", time.Hour+time.Minute, Up),
			}},
			service: "a", status: Up,
		},
		{
			name: "restart: alerts when the grace passes without a beat",
			in: AlertInput{StartedAt: t0.Add(-threshold - time.Second), Services: []AlertService{
				svc("a", time.Hour+threshold, Late),
			}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "restart: no grace for an evaluation of a time before the start",
			in: AlertInput{StartedAt: t0.Add(time.Hour), Services: []AlertService{
				svc("a", threshold+time.Second, Late),
			}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "restart: an incident already alerted is not alerted again",
			in: AlertInput{StartedAt: t0.Add(-30 * time.Second), Services: []AlertService{with(svc("a", 2*time.Hour, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-2*time.Hour), t0.Add(-2*time.Hour), "all")
			})}},
			service: "a", status: Down,
		},
		{
			name: "restart: a service that came back while the monitor was away gets its recovery",
			in: AlertInput{StartedAt: t0.Add(-30 * time.Second), Services: []AlertService{with(svc("a", 10*time.Second, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-2*time.Hour), t0.Add(-2*time.Hour), "all")
			})}},
			service: "a", status: Up, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all"}}},
		},
		{
			name: "maintenance: the incident opens, its alert is held",
			in: AlertInput{Windows: []Window{weeklyNow}, Services: []AlertService{
				svc("a", threshold+time.Second, Late),
			}},
			service: "a", status: Down, open: true, held: HoldMaintenance,
		},
		{
			name: "maintenance of another service does not hold",
			in: AlertInput{Windows: []Window{{Services: []string{"b"}, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}, Services: []AlertService{
				svc("a", threshold+time.Second, Late),
			}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "maintenance ends with the service still down: it alerts then",
			in: AlertInput{Windows: []Window{{Start: t0.Add(-time.Hour), End: t0}}, Services: []AlertService{with(svc("a", 50*time.Minute, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-45*time.Minute), time.Time{})
			})}},
			service: "a", status: Down, alertOpen: true,
			notices: []Notice{{Event: EventDown, Incident: "i1", Channels: []string{"all", "downs"}}},
		},
		{
			name: "maintenance holds reminders",
			in: AlertInput{Windows: []Window{{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}, Services: []AlertService{with(svc("a", 2*time.Hour, Down), func(s *AlertService) {
				s.Reminder = time.Minute
				s.Open = alerted("i1", Down, t0.Add(-2*time.Hour), t0.Add(-2*time.Hour), "all")
			})}},
			service: "a", status: Down,
		},
		{
			name: "maintenance does not hold a recovery",
			in: AlertInput{Windows: []Window{{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}, Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Open = alerted("i1", Down, t0.Add(-2*time.Hour), t0.Add(-2*time.Hour), "all")
			})}},
			service: "a", status: Up, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all"}}},
		},
		{
			name: "paused until later: the open incident closes with a notice to its channels",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Hour, Down), func(s *AlertService) {
				s.PausedUntil = t0.Add(time.Hour)
				s.Open = alerted("i1", Down, t0.Add(-time.Hour), t0.Add(-time.Hour), "all")
			})}},
			service: "a", status: Paused, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all"}}},
		},
		{
			name: "a pause that has ended: the service is evaluated again and alerts",
			in: AlertInput{Services: []AlertService{with(svc("a", time.Hour, Paused), func(s *AlertService) {
				s.PausedUntil = t0.Add(-time.Second)
			})}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "flapping: past the limit one flapping notice replaces the alert",
			in: AlertInput{FlapLimit: 6, Services: []AlertService{with(svc("a", 0, Up), func(s *AlertService) {
				s.Service.LastStatus = "down"
				s.Changes = 6
			})}},
			service: "a", status: Down, open: true, held: HoldFlapping,
			notices: []Notice{{Event: EventFlapping, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "flapping: only one notice an hour",
			in: AlertInput{FlapLimit: 6, Services: []AlertService{with(svc("a", 0, Up), func(s *AlertService) {
				s.Service.LastStatus = "down"
				s.Changes = 9
				s.FlapNoticeAt = t0.Add(-10 * time.Minute)
			})}},
			service: "a", status: Down, open: true, held: HoldFlapping,
		},
		{
			name: "flapping: at the limit it still alerts",
			in: AlertInput{FlapLimit: 6, Services: []AlertService{with(svc("a", 0, Up), func(s *AlertService) {
				s.Service.LastStatus = "down"
				s.Changes = 5
			})}},
			service: "a", status: Down, open: true,
			notices: []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true}},
		},
		{
			name: "flapping: an incident that outlasts the threshold is an outage and alerts",
			in: AlertInput{FlapLimit: 6, Services: []AlertService{with(svc("a", 10*time.Minute, Down), func(s *AlertService) {
				s.Changes = 9
				s.Open = alerted("i1", Down, t0.Add(-threshold), time.Time{})
			})}},
			service: "a", status: Down, alertOpen: true,
			notices: []Notice{{Event: EventDown, Incident: "i1", Channels: []string{"all", "downs"}}},
		},
		{
			name: "flapping: the recovery of an alerted incident is still sent",
			in: AlertInput{FlapLimit: 6, Services: []AlertService{with(svc("a", 0, Down), func(s *AlertService) {
				s.Changes = 9
				s.Open = alerted("i1", Down, t0.Add(-time.Minute), t0.Add(-time.Minute), "all")
			})}},
			service: "a", status: Up, closed: "i1",
			notices: []Notice{{Event: EventUp, Incident: "i1", Channels: []string{"all"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Now = t0
			if in.Subscribers == nil {
				in.Subscribers = subs
			}
			d := find(PlanAlerts(in), tt.service)
			if d.Status != tt.status {
				t.Errorf("status: got %q, want %q", d.Status, tt.status)
			}
			if d.Open != tt.open {
				t.Errorf("opens an incident: got %v, want %v", d.Open, tt.open)
			}
			closed := ""
			if d.Close != nil {
				closed = d.Close.ID
			}
			if closed != tt.closed {
				t.Errorf("closes: got %q, want %q", closed, tt.closed)
			}
			if d.Held != tt.held {
				t.Errorf("held: got %q, want %q", d.Held, tt.held)
			}
			if d.AlertOpen != tt.alertOpen || d.Remind != tt.remind {
				t.Errorf("alertOpen, remind: got %v %v, want %v %v", d.AlertOpen, d.Remind, tt.alertOpen, tt.remind)
			}
			if d.AlertNew != (tt.open && tt.held == "") {
				t.Errorf("alertNew: got %v, want %v", d.AlertNew, tt.open && tt.held == "")
			}
			if !reflect.DeepEqual(d.Notices, tt.notices) {
				t.Errorf("notices:\n got %+v\nwant %+v", d.Notices, tt.notices)
			}
		})
	}
}

// TestPlanAlertsDependencies covers a parent and its children going down together, the
// parent coming back while a child stays down, and a dependency cycle.
func TestPlanAlertsDependencies(t *testing.T) {
	stale := 6 * time.Minute
	child := func(id string, parents ...string) AlertService {
		return with(svc(id, stale, Late), func(s *AlertService) { s.Parents = parents })
	}
	t.Run("parent down folds its children, grandchildren included", func(t *testing.T) {
		ds := PlanAlerts(AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{
			svc("router", stale, Late), child("web", "router"), child("db", "router"), child("cron", "web"),
			svc("alone", stale, Late),
		}})
		want := []Notice{{Event: EventDown, Channels: []string{"all", "downs"}, NewIncident: true, Dependents: []string{"web", "db", "cron"}}}
		if got := find(ds, "router").Notices; !reflect.DeepEqual(got, want) {
			t.Errorf("router notices:\n got %+v\nwant %+v", got, want)
		}
		for _, id := range []string{"web", "db", "cron"} {
			d := find(ds, id)
			if !d.Open || d.Held != HoldDependency || len(d.Notices) != 0 {
				t.Errorf("%s: got open %v held %q notices %v, want an open incident held by its parent", id, d.Open, d.Held, d.Notices)
			}
		}
		if got := find(ds, "alone").Notices; len(got) != 1 || got[0].Dependents != nil {
			t.Errorf("alone: got %+v, want its own alert with no dependents", got)
		}
	})
	t.Run("a child still down after the parent recovers alerts then", func(t *testing.T) {
		parent := with(svc("router", 0, Down), func(s *AlertService) {
			s.Open = alerted("p1", Down, t0.Add(-time.Hour), t0.Add(-time.Hour), "all")
		})
		kid := with(child("web", "router"), func(s *AlertService) {
			s.Prev = Down
			s.Open = alerted("c1", Down, t0.Add(-time.Hour), time.Time{})
		})
		ds := PlanAlerts(AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{parent, kid}})
		if d := find(ds, "router"); len(d.Notices) != 1 || d.Notices[0].Event != EventUp {
			t.Errorf("router: got %+v, want its recovery", d.Notices)
		}
		want := []Notice{{Event: EventDown, Incident: "c1", Channels: []string{"all", "downs"}}}
		if d := find(ds, "web"); !d.AlertOpen || !reflect.DeepEqual(d.Notices, want) {
			t.Errorf("web: got alertOpen %v %+v, want %+v", d.AlertOpen, d.Notices, want)
		}
	})
	t.Run("a child that went down alone alerts", func(t *testing.T) {
		ds := PlanAlerts(AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{svc("router", 0, Up), child("web", "router")}})
		if d := find(ds, "web"); !d.AlertNew || d.Held != "" {
			t.Errorf("web: got alertNew %v held %q, want its own alert", d.AlertNew, d.Held)
		}
	})
	t.Run("services depending on each other both alert", func(t *testing.T) {
		ds := PlanAlerts(AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{child("a", "b"), child("b", "a")}})
		for _, id := range []string{"a", "b"} {
			if d := find(ds, id); !d.AlertNew {
				t.Errorf("%s: got held %q, want an alert", id, d.Held)
			}
		}
	})
	t.Run("a parent's reminder names the children still held", func(t *testing.T) {
		parent := with(svc("router", time.Hour, Down), func(s *AlertService) {
			s.Reminder = 10 * time.Minute
			s.Open = alerted("p1", Down, t0.Add(-time.Hour), t0.Add(-time.Hour), "all")
		})
		kid := with(child("web", "router"), func(s *AlertService) {
			s.Prev = Down
			s.Open = alerted("c1", Down, t0.Add(-time.Hour), time.Time{})
		})
		ds := PlanAlerts(AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{parent, kid}})
		want := []Notice{{Event: EventReminder, Incident: "p1", Channels: []string{"all"}, Dependents: []string{"web"}}}
		if got := find(ds, "router").Notices; !reflect.DeepEqual(got, want) {
			t.Errorf("router:\n got %+v\nwant %+v", got, want)
		}
	})
}

// TestPlanAlertsIdle checks that a quiet evaluation asks for no write.
func TestPlanAlertsIdle(t *testing.T) {
	ds := PlanAlerts(AlertInput{Now: t0, Subscribers: subs, Services: []AlertService{
		svc("up", time.Second, Up),
		with(svc("down", time.Hour, Down), func(s *AlertService) {
			s.Open = alerted("i1", Down, t0.Add(-time.Hour), t0.Add(-time.Hour), "all")
		}),
		with(svc("paused", time.Hour, Paused), func(s *AlertService) { s.Service.Paused = true }),
	}})
	for _, d := range ds {
		if !d.Idle() {
			t.Errorf("%s: got %+v, want nothing to do", d.Service, d)
		}
	}
}

func TestWindowActive(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Sunday 23:00 Berlin for 3 h, across midnight.
	lateSunday := Window{Weekdays: []time.Weekday{time.Sunday}, StartMinute: 23 * 60, Duration: 3 * time.Hour, Location: berlin}
	// Sunday 02:00 Berlin for 2 h; on 2025-03-30 clocks jump from 02:00 to 03:00.
	dst := Window{Weekdays: []time.Weekday{time.Sunday}, StartMinute: 2 * 60, Duration: 2 * time.Hour, Location: berlin}
	once := Window{Start: t0, End: t0.Add(time.Hour)}
	tests := []struct {
		name string
		w    Window
		at   time.Time
		want bool
	}{
		{"one-off before", once, t0.Add(-time.Second), false},
		{"one-off at start", once, t0, true},
		{"one-off at end", once, t0.Add(time.Hour), false},
		{"weekly on its day", lateSunday, time.Date(2025, 11, 23, 23, 30, 0, 0, berlin), true},
		{"weekly past midnight into Monday", lateSunday, time.Date(2025, 11, 24, 1, 59, 0, 0, berlin), true},
		{"weekly over", lateSunday, time.Date(2025, 11, 24, 2, 0, 0, 0, berlin), false},
		{"weekly other day", lateSunday, time.Date(2025, 11, 25, 23, 30, 0, 0, berlin), false},
		{"weekly in its zone, not UTC", lateSunday, time.Date(2025, 11, 23, 22, 30, 0, 0, time.UTC), true},
		{"weekly on a DST change", dst, time.Date(2025, 3, 30, 3, 30, 0, 0, berlin), true},
		{"weekly after a DST change", dst, time.Date(2025, 3, 30, 5, 30, 0, 0, berlin), false},
	}
	for _, tt := range tests {
		if got := tt.w.Active(tt.at); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseClockAndWeekdays(t *testing.T) {
	if got, err := ParseClock("23:45"); err != nil || got != 23*60+45 {
		t.Errorf("ParseClock(23:45): got %d %v, want 1425", got, err)
	}
	for _, bad := range []string{"24:00", "7pm", ""} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q): got no error", bad)
		}
	}
	if got, err := ParseWeekdays([]string{"Mon", "sun"}); err != nil || !reflect.DeepEqual(got, []time.Weekday{time.Monday, time.Sunday}) {
		t.Errorf("ParseWeekdays: got %v %v", got, err)
	}
	if _, err := ParseWeekdays([]string{"funday"}); err == nil {
		t.Error("ParseWeekdays(funday): got no error")
	}
}
