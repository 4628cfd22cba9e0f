package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/api"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// pingStatus is one service's entry of /api/status, as the route writes it.
type pingStatus = api.StatusResult

func (h *harness) pingStatus(sid string) pingStatus {
	h.t.Helper()
	res := h.do("GET", "/api/status?q="+sid, "", "Authorization: Bearer read-key-long-enough")
	var r struct {
		Summary struct {
			Results []pingStatus `json:"results"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &r); err != nil {
		h.t.Fatalf("status: %v in %s", err, body(res))
	}
	for _, s := range r.Summary.Results {
		if s.ServiceID == sid {
			return s
		}
	}
	h.t.Fatalf("%s is not in /api/status: %s", sid, body(res))
	return pingStatus{}
}

const (
	pingUUID  = "5b3e7a4e-2f0d-4c1a-9b8e-6d7f8a9b0c1d"
	pingRID1  = "0c8c6f6e-4a54-4b0e-8d1a-2b3c4d5e6f70"
	pingRID2  = "1d9d7a7f-5b65-4c1f-9e2b-3c4d5e6f7a81"
	pingNoRID = ""
)

// TestPingRunsEndToEnd: a cron job's start and exit status, by UUID and by key and
// serviceId, measured per run id with overlapping runs; a failure is down with its exit
// status; a log changes nothing; /api/status shows running, lastDuration,
// lastExitStatus, and the body is stored.
func TestPingRunsEndToEnd(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	svc := h.service("backup", "k-backup-key-long", map[string]any{"pingId": pingUUID, "interval": 3600, "stalenessThreshold": 7200})
	clock := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	h.setClock(clock)
	ping := func(method, path, body string) (int, string) {
		t.Helper()
		res := h.do(method, path, body)
		return res.Code, res.Body.String()
	}
	if code, b := ping("GET", "/ping/"+pingUUID+"/start?rid="+pingRID1, ""); code != 200 || b != "OK" {
		t.Fatalf("start: %d %q", code, b)
	}
	if st := h.pingStatus("backup"); !st.Running || st.Status != "unknown" {
		t.Fatalf("after a start: %+v; want running, still unknown (a start is no beat)", st)
	}
	h.setClock(clock.Add(time.Minute))
	if code, _ := ping("POST", "/ping/k-backup-key-long/backup/start?rid="+pingRID2, ""); code != 200 {
		t.Fatalf("second start by key: %d", code)
	}
	h.setClock(clock.Add(5 * time.Minute))
	if code, b := ping("POST", "/ping/"+pingUUID+"/0?rid="+pingRID1, "copied 3 files\nall done\n"); code != 200 || b != "OK" {
		t.Fatalf("finish of run 1: %d %q", code, b)
	}
	st := h.pingStatus("backup")
	if st.Status != "up" || !st.Running || st.LastDuration == nil || *st.LastDuration != 5*60*1000 || st.LastExitStatus == nil || *st.LastExitStatus != 0 {
		t.Fatalf("after run 1 ended: %+v; want up, run 2 still running, 5 min, exit 0", st)
	}
	if st.LastMessage != "all done" {
		t.Errorf("last message %q, want the body's last line", st.LastMessage)
	}
	h.setClock(clock.Add(8 * time.Minute))
	if code, _ := ping("POST", "/ping/"+pingUUID+"/log", "halfway"); code != 200 {
		t.Fatalf("log: %d", code)
	}
	if st := h.pingStatus("backup"); st.Status != "up" || *st.LastDuration != 5*60*1000 {
		t.Fatalf("a log changed the state: %+v", st)
	}
	h.setClock(clock.Add(10 * time.Minute))
	if code, _ := ping("GET", "/ping/k-backup-key-long/backup/3?rid="+pingRID2, ""); code != 200 {
		t.Fatalf("finish of run 2: %d", code)
	}
	st = h.pingStatus("backup")
	if st.Status != "down" || st.Running || *st.LastDuration != 9*60*1000 || *st.LastExitStatus != 3 || st.LastMessage != "exit status 3" {
		t.Fatalf("after run 2 failed: %+v; want down, nothing running, 9 min, exit 3", st)
	}
	var rows []struct {
		Kind       string `db:"kind"`
		RID        string `db:"rid"`
		Body       string `db:"body"`
		Status     string `db:"status"`
		Started    string `db:"started"`
		ExitStatus int    `db:"exitStatus"`
	}
	err := h.app.DB().NewQuery("SELECT kind, rid, body, status, started, exitStatus FROM heartbeats WHERE service = {:id} ORDER BY created").
		Bind(dbx.Params{"id": svc.Id}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"start " + pingRID1 + " ", "start " + pingRID2 + " ", "exit " + pingRID1 + " up", "log  ", "exit " + pingRID2 + " down"}
	if len(rows) != len(want) {
		t.Fatalf("stored rows: %+v", rows)
	}
	for i, r := range rows {
		if got := r.Kind + " " + r.RID + " " + r.Status; got != want[i] {
			t.Errorf("row %d: %q, want %q", i, got, want[i])
		}
	}
	if rows[2].Body != "copied 3 files\nall done\n" || rows[2].Started != "2026-11-30 03:00:00.000Z" || rows[4].ExitStatus != 3 {
		t.Errorf("finish rows: %+v", rows)
	}
	// A success without a rid ends nothing it cannot match, and clears the exit status.
	h.setClock(clock.Add(11 * time.Minute))
	ping("HEAD", "/ping/"+pingUUID, "")
	if st := h.pingStatus("backup"); st.Status != "up" || st.LastExitStatus != nil || *st.LastDuration != 9*60*1000 {
		t.Fatalf("after a plain success: %+v", st)
	}
	// What the engine holds survives a restart: the runs are stored.
	ping("GET", "/ping/"+pingUUID+"/start", "")
	h.reloadEngine()
	h.catchUp()
	if st := h.pingStatus("backup"); !st.Running || *st.LastDuration != 9*60*1000 {
		t.Fatalf("after a reload: %+v; want the open run and the last duration back", st)
	}
}

// TestPingMaxRuntime: a run still going past maxRuntime is down ("overrun"), even when
// the service never pinged before; a start's own ?timeout= bounds its run; the finish
// brings it back up.
func TestPingMaxRuntime(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	h.webhook("ops", "http://127.0.0.1:9/hook", "down", "up")
	h.service("nightly", "k-nightly-key-long", map[string]any{"pingId": pingUUID, "maxRuntime": 600})
	clock := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	h.setClock(clock)
	h.do("GET", "/ping/"+pingUUID+"/start", "")
	h.setClock(clock.Add(9 * time.Minute))
	h.catchUp()
	if st := h.pingStatus("nightly"); st.NextDeadline == nil || *st.NextDeadline != "2026-11-30T03:10:00.000Z" {
		t.Fatalf("within maxRuntime: %+v; want the deadline at start + 10 min", st)
	}
	h.setClock(clock.Add(10*time.Minute + time.Second))
	h.catchUp()
	if st := h.pingStatus("nightly"); st.Status != "down" || !st.Running {
		t.Fatalf("past maxRuntime: %+v; want down and still running", st)
	}
	inc := h.incident(h.recordID("nightly"))
	if inc.Status != "down" || !strings.HasPrefix(inc.StartedAt, "2026-11-30 03:10:00") {
		t.Errorf("incident %+v; want down from the bound", inc)
	}
	var msg string
	if err := h.app.DB().NewQuery("SELECT message FROM notifications WHERE event = 'down'").Row(&msg); err != nil {
		t.Fatalf("no down notification: %v", err)
	}
	if !strings.Contains(msg, `"cause":"overrun"`) || !strings.Contains(msg, `"runStartedAt":"2026-11-30T03:00:00Z"`) {
		t.Errorf("down notification %s; want the overrun cause and when the run started", msg)
	}
	h.setClock(clock.Add(12 * time.Minute))
	h.do("GET", "/ping/"+pingUUID, "")
	if st := h.pingStatus("nightly"); st.Status != "up" || st.Running {
		t.Fatalf("after the finish: %+v", st)
	}
	// ?timeout= on the start wins over maxRuntime.
	h.do("GET", "/ping/"+pingUUID+"/start?timeout=1m", "")
	h.setClock(clock.Add(13*time.Minute + time.Second))
	h.catchUp()
	if st := h.pingStatus("nightly"); st.Status != "down" {
		t.Fatalf("past the start's own timeout: %+v", st)
	}
}

// TestPingSchedule: a daily 03:00 job in Riga is late after 03:00 local time when it
// has not pinged since, and down after the grace.
func TestPingSchedule(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	h.service("daily", "k-daily-key-long", map[string]any{"pingId": pingUUID, "schedule": "0 3 * * *", "timezone": "Europe/Riga", "grace": 1800})
	// 03:05 Riga time (UTC+2 in winter) on 29 November: the job pinged.
	h.setClock(time.Date(2026, 11, 29, 1, 5, 0, 0, time.UTC))
	h.do("GET", "/ping/"+pingUUID, "")
	st := h.pingStatus("daily")
	if st.Status != "up" || st.NextExpected == nil || *st.NextExpected != "2026-11-30T01:00:00.000Z" || st.Timezone != "Europe/Riga" {
		t.Fatalf("after the ping: %+v; want the next run expected at 03:00 Riga", st)
	}
	h.setClock(time.Date(2026, 11, 30, 1, 0, 1, 0, time.UTC))
	h.catchUp()
	if st := h.pingStatus("daily"); st.Status != "late" {
		t.Fatalf("just after 03:00 Riga: %s, want late", st.Status)
	}
	h.setClock(time.Date(2026, 11, 30, 1, 30, 1, 0, time.UTC))
	h.catchUp()
	if st := h.pingStatus("daily"); st.Status != "down" {
		t.Fatalf("past grace: %s, want down", st.Status)
	}
}

func (h *harness) recordID(sid string) string {
	h.t.Helper()
	var id string
	if err := h.app.DB().NewQuery("SELECT id FROM services WHERE serviceId = {:sid}").Bind(dbx.Params{"sid": sid}).Row(&id); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// TestScheduleRefusedOnSave: a bad cron expression, one that never fires, and an unknown
// zone are refused with a 400 naming the field, through the records API the admin UI
// uses; nothing is saved.
func TestScheduleRefusedOnSave(t *testing.T) {
	h := newHarness(t)
	tok := h.authToken(core.CollectionNameSuperusers)
	for _, c := range []struct{ body, field, says string }{
		{`{"serviceId":"a","schedule":"0 24 * * *"}`, "schedule", "hour"},
		{`{"serviceId":"a","schedule":"0 0 30 2 *"}`, "schedule", "never fires"},
		{`{"serviceId":"a","schedule":"@fortnightly"}`, "schedule", "cron expression"},
		{`{"serviceId":"a","schedule":"0 3 * * *","timezone":"Mars/Olympus"}`, "timezone", "Unknown time zone"},
	} {
		res := h.do("POST", "/api/collections/services/records", c.body, "Authorization: "+tok, "Content-Type: application/json")
		var r struct {
			Data map[string]struct {
				Message string `json:"message"`
			} `json:"data"`
		}
		if err := json.Unmarshal(res.Body.Bytes(), &r); err != nil || res.Code != 400 {
			t.Errorf("%s: %d %s", c.body, res.Code, body(res))
			continue
		}
		if msg := r.Data[c.field].Message; !strings.Contains(msg, c.says) {
			t.Errorf("%s: %s; want an error under %s saying %q", c.body, body(res), c.field, c.says)
		}
	}
	if n := h.count("services", "", nil); n != 0 {
		t.Errorf("%d services saved", n)
	}
	res := h.do("POST", "/api/collections/services/records", `{"serviceId":"ok","schedule":"*/15 * * * *","timezone":"America/New_York"}`,
		"Authorization: "+tok, "Content-Type: application/json")
	if res.Code != 200 {
		t.Errorf("a good schedule: %d %s", res.Code, body(res))
	}
}

// TestPingIDRotation: clearing a service's pingId (as in the admin UI) gives it a new
// one at once: the old ping URL is "not found", the new one works.
func TestPingIDRotation(t *testing.T) {
	h := newHarness(t)
	svc := h.service("job", "k-job-key-long-enough", map[string]any{"pingId": pingUUID})
	if res := h.do("GET", "/ping/"+pingUUID, ""); res.Code != 200 {
		t.Fatalf("before: %d", res.Code)
	}
	svc.Set("pingId", "")
	if err := h.app.Save(svc); err != nil {
		t.Fatal(err)
	}
	fresh := svc.GetString("pingId")
	if fresh == "" || fresh == pingUUID {
		t.Fatalf("pingId after clearing it: %q", fresh)
	}
	if res := h.do("GET", "/ping/"+pingUUID, ""); res.Code != 404 || body(res) != "not found" {
		t.Errorf("the old URL: %d %q, want 404 not found", res.Code, body(res))
	}
	if res := h.do("GET", "/ping/"+fresh, ""); res.Code != 200 || body(res) != "OK" {
		t.Errorf("the new URL: %d %q", res.Code, body(res))
	}
}

// TestPingRunBoundDefaults: without maxRuntime or ?timeout=, a started run is bounded
// as Healthchecks bounds a started check: by the grace of a schedule, by threshold -
// interval for the interval rule.
func TestPingRunBoundDefaults(t *testing.T) {
	h := newHarness(t)
	h.apiKey("read-key-long-enough", []string{"read"}, nil, false)
	const other = "6c4f8b5f-3e1e-4d2b-8c9f-7e8f9a0b1c2d"
	h.service("daily", "k-daily-key-long", map[string]any{"pingId": pingUUID, "schedule": "0 3 * * *", "grace": 1800})
	h.service("often", "k-often-key-long", map[string]any{"pingId": other, "interval": 60, "stalenessThreshold": 180})
	clock := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	h.setClock(clock)
	h.do("GET", "/ping/"+pingUUID+"/start", "")
	h.do("GET", "/ping/"+other+"/start", "")
	h.setClock(clock.Add(119 * time.Second))
	h.catchUp()
	if st := h.pingStatus("often"); st.Status != "unknown" || !st.Running {
		t.Fatalf("often within threshold - interval: %+v", st)
	}
	h.setClock(clock.Add(121 * time.Second))
	h.catchUp()
	if st := h.pingStatus("often"); st.Status != "down" {
		t.Fatalf("often past threshold - interval (2 min): %+v, want down", st)
	}
	h.setClock(clock.Add(29 * time.Minute))
	h.catchUp()
	if st := h.pingStatus("daily"); st.Status != "unknown" {
		t.Fatalf("daily within grace: %+v", st)
	}
	h.setClock(clock.Add(31 * time.Minute))
	h.catchUp()
	if st := h.pingStatus("daily"); st.Status != "down" {
		t.Fatalf("daily past its grace (30 min) while running: %+v, want down", st)
	}
}

// TestPingCreateUsesDailyDefaults: a service made by its first ping (?create=1) gets
// Healthchecks' defaults for a new check, a day and an hour's grace, not the beat
// defaults that would call a daily job down the same morning.
func TestPingCreateUsesDailyDefaults(t *testing.T) {
	h := newHarness(t)
	h.apiKey("every-service-key-long", []string{"heartbeat"}, nil, false)
	res := h.do("GET", "/ping/every-service-key-long/nightly-db-dump?create=1", "")
	if res.Code != 201 || body(res) != "Created" {
		t.Fatalf("create: %d %q", res.Code, body(res))
	}
	var got struct {
		Interval  int `db:"interval"`
		Threshold int `db:"stalenessThreshold"`
	}
	if err := h.app.DB().NewQuery("SELECT interval, stalenessThreshold FROM services WHERE serviceId = 'nightly-db-dump'").One(&got); err != nil {
		t.Fatal(err)
	}
	if got.Interval != 86400 || got.Threshold != 90000 {
		t.Errorf("created with interval %d, threshold %d; want 86400 and 90000", got.Interval, got.Threshold)
	}
}
