package app

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/dbx"
)

// addIncident stores an incident as the staleness check or the alert ticker would.
func (h *harness) addIncident(recordID, status string, start, end time.Time) {
	h.t.Helper()
	err := store.InsertRows(h.app.DB(), "incidents", []string{"id", "service", "status", "cause", "startedAt", "endedAt", "created", "updated"},
		[][]any{{itoa(int(start.Unix())) + "inc", recordID, status, "stale", store.DBDate(start), store.DBDate(end), store.DBDate(start), store.DBDate(start)}})
	if err != nil {
		h.t.Fatal(err)
	}
}

// setCreated moves a service's creation date, where uptime counting starts.
func (h *harness) setCreated(serviceID string, at time.Time) {
	h.t.Helper()
	_, err := h.app.DB().NewQuery("UPDATE services SET created = {:at} WHERE serviceId = {:sid}").
		Bind(dbx.Params{"at": store.DBDate(at), "sid": serviceID}).Execute()
	if err != nil {
		h.t.Fatal(err)
	}
}

// setFirstSeen stores when a service's first beat arrived, where uptime counting starts.
func (h *harness) setFirstSeen(serviceID string, at time.Time) {
	h.t.Helper()
	setState(h.t, h.app.DB(), serviceID, dbx.Params{"firstSeen": store.DBDate(at)})
}

// setBorn makes a service created at at and heard from since then.
func (h *harness) setBorn(serviceID string, at time.Time) {
	h.t.Helper()
	h.setCreated(serviceID, at)
	h.setFirstSeen(serviceID, at)
}

func TestUptimeAPI(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true })
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) // days: 24, 25, 26 (today)
	now := day.AddDate(0, 0, 2).Add(12 * time.Hour)
	h.setClock(now)

	steady := h.service("steady", "k1", nil)
	h.setBorn("steady", day.AddDate(0, -2, 0))
	setSeen(t, h, "steady", now.Add(-time.Minute), "up")
	h.addIncident(steady.Id, "down", day.Add(21*time.Hour), day.AddDate(0, 0, 1).Add(3*time.Hour)) // 3 h + 3 h across midnight
	h.addIncident(steady.Id, "degraded", day.AddDate(0, 0, 1).Add(6*time.Hour), day.AddDate(0, 0, 1).Add(8*time.Hour))

	h.service("fresh", "k2", nil)
	h.setBorn("fresh", day.AddDate(0, 0, 1).Add(12*time.Hour)) // noon of day 2
	setSeen(t, h, "fresh", now.Add(-20*time.Minute), "up")     // quiet for 20 min: down since 11:45

	paused := h.service("paused", "k3", nil)
	h.setBorn("paused", day.AddDate(0, -1, 0))
	setSeen(t, h, "paused", now.Add(-time.Minute), "up")
	h.addIncident(paused.Id, "down", day.Add(6*time.Hour), day.Add(12*time.Hour))
	if err := store.InsertRows(h.app.DB(), "pauses", []string{"id", "service", "startedAt", "endedAt"},
		[][]any{{"pause0000000001", paused.Id, store.DBDate(day.Add(9 * time.Hour)), store.DBDate(day.AddDate(0, 0, 1).Add(12 * time.Hour))}}); err != nil {
		t.Fatal(err)
	}

	h.service("silent", "k4", nil) // never sent a beat

	type day3 = [3]*float64
	pct := func(v float64) *float64 { return &v }
	cases := []struct {
		sid     string
		pct     day3
		down    day3
		overall *float64
	}{
		{"steady", day3{pct(87.5), pct(87.5), pct(100)}, day3{pct(3 * 3600), pct(3 * 3600), pct(0)}, pct(100 * (60 - 6) / 60.0)},
		// created at noon on day 2; down since 11:45 today (lastSeen + 5 min threshold),
		// which the live evaluation counts before any check has opened the incident.
		{"fresh", day3{nil, pct(100), pct(100 * (12*60 - 15) / (12 * 60.0))}, day3{nil, pct(0), pct(15 * 60)}, pct(100 * (24*60 - 15) / (24 * 60.0))},
		// paused from 09:00 on day 1 to noon on day 2: day 1 has 9 h monitored, 3 h down.
		{"paused", day3{pct(100 * 6 / 9.0), pct(100), pct(100)}, day3{pct(3 * 3600), pct(0), pct(0)}, pct(100 * (33 - 3) / 33.0)},
		{"silent", day3{nil, nil, nil}, day3{nil, nil, nil}, nil},
	}
	for _, c := range cases {
		t.Run(c.sid, func(t *testing.T) {
			res := h.do("GET", "/api/uptime?serviceId="+c.sid+"&days=3", "")
			if res.Code != 200 {
				t.Fatalf("got %d %s", res.Code, body(res))
			}
			var got api.UptimeReply
			if err := json.Unmarshal(res.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.ServiceID != c.sid || got.TotalDays != 3 || len(got.Days) != 3 {
				t.Fatalf("got %+v", got)
			}
			for i, d := range got.Days {
				if want := day.AddDate(0, 0, i).Format(time.DateOnly); d.Date != want {
					t.Errorf("day %d: got date %q, want %q", i, d.Date, want)
				}
				if !samePct(d.UptimePercentage, c.pct[i]) || !samePct(d.DowntimeSeconds, c.down[i]) {
					t.Errorf("day %d: got %v%% and %vs down, want %v%% and %vs", i, showPct(d.UptimePercentage), showPct(d.DowntimeSeconds), showPct(c.pct[i]), showPct(c.down[i]))
				}
			}
			if !samePct(got.OverallUptime, c.overall) {
				t.Errorf("overall: got %v, want %v", showPct(got.OverallUptime), showPct(c.overall))
			}
		})
	}

	t.Run("the exact shape", func(t *testing.T) {
		res := h.do("GET", "/api/uptime?serviceId=silent&days=1", "")
		want := `{"serviceId":"silent","days":[{"date":"2026-11-26","uptimePercentage":null,"downtimeSeconds":null}],"overallUptime":null,"totalDays":1}`
		if body(res) != want {
			t.Errorf("got %s\nwant %s", body(res), want)
		}
		res = h.do("GET", "/api/uptime?serviceId=steady", "")
		var got api.UptimeReply
		if err := json.Unmarshal(res.Body.Bytes(), &got); err != nil || got.TotalDays != 30 {
			t.Errorf("default window: got %d days, want 30 (%v)", got.TotalDays, err)
		}
	})

	t.Run("0 % is 0, not null", func(t *testing.T) {
		dead := h.service("dead", "k5", nil)
		h.setBorn("dead", day.AddDate(0, -1, 0))
		setSeen(t, h, "dead", day.AddDate(0, 0, -3), "up")
		h.addIncident(dead.Id, "down", day.AddDate(0, 0, -3).Add(5*time.Minute), time.Time{})
		res := h.do("GET", "/api/uptime?serviceId=dead&days=2", "")
		if !strings.Contains(body(res), `{"date":"2026-11-25","uptimePercentage":0,"downtimeSeconds":86400}`) ||
			!strings.Contains(body(res), `"overallUptime":0,`) {
			t.Errorf("got %s", body(res))
		}
	})
}

func TestUptimeAPIErrors(t *testing.T) {
	h := newHarness(t)
	h.service("web-1", "k", nil)
	h.apiKey("read-key", []string{"read"}, nil, false)
	auth := "Authorization: Bearer read-key"
	cases := []struct {
		url, header string
		status      int
		body        string
	}{
		{"/api/uptime?serviceId=web-1", "", 401, `{"error":"Unauthorized"}`},
		{"/api/uptime", auth, 400, `{"error":"serviceId is required"}`},
		{"/api/uptime?serviceId=bad%20id", auth, 400, `{"error":"Invalid service format"}`},
		{"/api/uptime?serviceId=ghost", auth, 404, `{"error":"Unknown serviceId"}`},
		{"/api/uptime?serviceId=web-1&days=0", auth, 400, `{"error":"days must be an integer from 1 to 400"}`},
		{"/api/uptime?serviceId=web-1&days=401", auth, 400, `{"error":"days must be an integer from 1 to 400"}`},
		{"/api/uptime?serviceId=web-1&days=seven", auth, 400, `{"error":"days must be an integer from 1 to 400"}`},
	}
	for _, c := range cases {
		res := h.do("GET", c.url, "", c.header)
		if res.Code != c.status || body(res) != c.body {
			t.Errorf("GET %s: got %d %s, want %d %s", c.url, res.Code, body(res), c.status, c.body)
		}
	}
	if res := h.do("GET", "/api/uptime?serviceId=web-1&days=400", "", auth); res.Code != 200 {
		t.Errorf("400 days: got %d", res.Code)
	}
}

func samePct(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

func showPct(p *float64) any {
	if p == nil {
		return "null"
	}
	return *p
}

// TestUptimeStartsAtFirstBeat: the time between creating a service and its first beat
// is no data. A service whose first beat says "down" has 0 %, not the share of the day
// it spent waiting for its first beat; that holds after retention pruned the first beats.
func TestUptimeStartsAtFirstBeat(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicStatus = true; c.KeepHeartbeats = 2 })
	h.person("users", "ann@example.com")
	created := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	clock := created
	at := func(d time.Duration) { clock = created.Add(d); h.setClock(clock) }
	beat := func(sid, status string) {
		t.Helper()
		res := h.do("POST", "/api/heartbeat", `{"serviceId":"`+sid+`","status":"`+status+`"}`, "Authorization: Bearer "+sid+"-key")
		if res.Code != 200 {
			t.Fatalf("beat %s %s: got %d %s", sid, status, res.Code, body(res))
		}
		// The writer holds back a repeat of the same status for a second of wall time;
		// this test's clock runs faster, so it writes lastSeen as the writer soon would.
		setSeen(t, h, sid, clock, status)
	}
	for _, sid := range []string{"first-down", "quiet-then-up", "pruned"} {
		h.service(sid, sid+"-key", nil)
		h.setCreated(sid, created)
	}
	// Created at 06:00, all three are quiet for the first hour. Then, every 2 minutes:
	// quiet-then-up says up; pruned says up, but down from 08:00 to 09:00; first-down
	// beats once, at 09:00, saying down. Now is 11:00.
	for m := 60; m < 5*60; m += 2 {
		at(time.Duration(m) * time.Minute)
		beat("quiet-then-up", "up")
		if m >= 120 && m < 180 {
			beat("pruned", "down")
		} else {
			beat("pruned", "up")
		}
		if m == 180 {
			beat("first-down", "down")
		}
		if err := h.s.alerts.CheckStaleness(clock); err != nil {
			t.Fatal(err)
		}
	}
	at(5 * time.Hour)
	if err := h.s.prune(clock); err != nil { // retention keeps the newest two beats
		t.Fatal(err)
	}
	if n := h.count("heartbeats", "service = (SELECT id FROM services WHERE serviceId = 'pruned')", nil); n != 2 {
		t.Fatalf("retention kept %d beats, want 2", n)
	}

	b := newBrowser(h, "10.0.9.1")
	b.login("ann@example.com", dashPassword)
	uptime24h := regexp.MustCompile(`<div id="uptime-24h"><b>([^<]*)</b>`)
	cases := []struct {
		sid  string
		want float64
		page string
	}{
		{"first-down", 0, "0%"},
		{"quiet-then-up", 100, "100%"},
		{"pruned", 75, "75%"}, // 1 h down of the 4 h since the first beat, not of the 5 h since creation nor of the last 4 minutes kept
	}
	for _, c := range cases {
		t.Run(c.sid, func(t *testing.T) {
			var got api.UptimeReply
			res := h.do("GET", "/api/uptime?serviceId="+c.sid+"&days=2", "")
			if err := json.Unmarshal(res.Body.Bytes(), &got); err != nil {
				t.Fatalf("got %d %s", res.Code, body(res))
			}
			if !samePct(got.OverallUptime, &c.want) || !samePct(got.Days[1].UptimePercentage, &c.want) || got.Days[0].UptimePercentage != nil {
				t.Errorf("/api/uptime: got overall %v, today %v, yesterday %v; want %v %%, %v %% and no data",
					showPct(got.OverallUptime), showPct(got.Days[1].UptimePercentage), showPct(got.Days[0].UptimePercentage), c.want, c.want)
			}
			m := uptime24h.FindStringSubmatch(body(b.send("GET", "/services/"+c.sid, nil)))
			if m == nil || m[1] != c.page {
				t.Errorf("service page, 24 hours: got %q, want %q", m, c.page)
			}
		})
	}

	t.Run("firstSeen is written once, by the server", func(t *testing.T) {
		svc, err := h.app.FindFirstRecordByData("services", "serviceId", "first-down")
		if err != nil {
			t.Fatal(err)
		}
		firstSeen := func() time.Time {
			t.Helper()
			st, err := h.app.FindRecordById("service_states", svc.Id)
			if err != nil {
				t.Fatal(err)
			}
			return st.GetDateTime("firstSeen").Time()
		}
		want := created.Add(3 * time.Hour)
		if got := firstSeen(); !got.Equal(want) {
			t.Fatalf("firstSeen %v, want the first beat %v", got, want)
		}
		beat("first-down", "up")
		svc.Set("name", "First down") // an admin's save of the service's settings
		if err := h.app.Save(svc); err != nil {
			t.Fatal(err)
		}
		if got := firstSeen(); !got.Equal(want) {
			t.Errorf("after another beat and a save: firstSeen %v, want %v", got, want)
		}
	})
}
