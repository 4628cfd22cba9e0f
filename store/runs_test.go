package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/store"
)

// TestLoadRunsPairsStartsAndFinishes: the runs a service page shows are paired from
// its pings: a finish with a known start is measured, a finish without one is a run of
// unknown length, a start no finish ended has no end, and plain beats and logs are not
// runs at all.
func TestLoadRunsPairsStartsAndFinishes(t *testing.T) {
	app := newTestApp(t)
	svc := saveService(t, app, map[string]any{"serviceId": "backup"})
	t0 := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	at := func(m int) string { return store.DBDate(t0.Add(time.Duration(m) * time.Minute)) }
	const ridA, ridB, ridC = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003"
	type beat struct {
		kind, status string
		exit         int
		rid          string
		started      string
		created      string
	}
	beats := []beat{
		{"", "up", 0, "", "", at(0)},              // a plain beat: not a run
		{"start", "", 0, "", "", at(1)},           // rid-less start ...
		{"log", "", 0, "", "", at(2)},             // a log: not a run
		{"", "up", 0, "", at(1), at(4)},           // ... ended by a rid-less success: 3 min
		{"start", "", 0, ridA, "", at(10)},        // rid A ...
		{"start", "", 0, ridB, "", at(11)},        // rid B overlaps A ...
		{"exit", "down", 3, ridA, at(10), at(15)}, // A fails with exit status 3 after 5 min
		{"fail", "down", 0, "", "", at(20)},       // a failure without a known start
		{"exit", "up", 0, ridC, "", at(21)},       // a success with a rid whose start is unknown
		{"start", "", 0, "", "", at(30)},          // rid-less start never finished: abandoned ...
		{"start", "", 0, "", "", at(40)},          // ... replaced by this one, still open
		{"", "up", 0, "", "", at(41)},             // a plain beat again
	}
	var rows [][]any
	for i, b := range beats {
		rows = append(rows, []any{fmt.Sprintf("hb%013d", i), svc.Id, b.status, b.kind, b.exit, b.rid, b.started, b.created})
	}
	if err := store.InsertRows(app.DB(), "heartbeats", []string{"id", "service", "status", "kind", "exitStatus", "rid", "started", "created"}, rows); err != nil {
		t.Fatal(err)
	}

	runs, err := store.LoadRuns(app.DB(), svc.Id, 30)
	if err != nil {
		t.Fatal(err)
	}
	show := func(r store.Run) string {
		s := "start " + clock(r.Start) + " end " + clock(r.End)
		if r.Measured() {
			s += " took " + r.Duration.String()
		}
		if r.HasExit {
			s += fmt.Sprintf(" exit %d", r.Exit)
		}
		if r.Failed {
			s += " failed"
		}
		if r.RID != "" {
			s += " rid " + r.RID[:8]
		}
		return s
	}
	want := []string{
		"start 03:40 end -",
		"start 03:30 end -",
		"start - end 03:21 exit 0 rid cccccccc",
		"start - end 03:20 failed",
		"start 03:10 end 03:15 took 5m0s exit 3 failed rid aaaaaaaa",
		"start 03:11 end - rid bbbbbbbb",
		"start 03:01 end 03:04 took 3m0s",
	}
	var got []string
	for _, r := range runs {
		got = append(got, show(r))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs:\n got %q\nwant %q", got, want)
	}

	if runs, err := store.LoadRuns(app.DB(), svc.Id, 2); err != nil || len(runs) != 2 || show(runs[1]) != want[1] {
		t.Errorf("the last 2 runs: %v (err %v), want the newest two", runs, err)
	}
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04")
}
