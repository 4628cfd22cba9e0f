package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKillAroundTransitions kills the server with SIGKILL right around the moment twenty
// services pass their threshold together, again and again: before the engine decides,
// between its decision and the commit of the transitions, and just after. Each time the
// server starts again on the same data. Whatever the moment, no decision is taken twice
// (one incident at a time per service, one down notification per incident and channel,
// one recovery per alerted incident), nothing decided is lost (every down ends in an
// incident and a delivered alert), and every notification stored is delivered.
func TestKillAroundTransitions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	// Every round flips every service down and up: without flapping detection, so that
	// every incident is alerted and each alert can be counted.
	flags := []string{"--flapLimit", "0"}
	srv, err := startServer(dir, flags...)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	delivered := map[string]int{} // "incident event" -> deliveries
	hook := newEventHook(t, func(event, incident string) {
		mu.Lock()
		delivered[incident+" "+event]++
		mu.Unlock()
	})
	if err := srv.api(http.MethodPost, "/api/collections/channels/records", map[string]any{
		"name": "hook", "type": "webhook", "events": []string{"down", "up"}, "secrets": map[string]any{"url": hook.URL},
	}, nil); err != nil {
		t.Fatal(err)
	}
	const services = 20
	threshold := 2 * time.Second
	for i := range services {
		if err := srv.api(http.MethodPost, "/api/collections/services/records", map[string]any{
			"serviceId": fmt.Sprintf("tk-%02d", i), "apiKey": fmt.Sprintf("tk-key-0123456789-%02d", i), "interval": 1, "stalenessThreshold": 2,
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	beatAll := func() time.Time {
		var at time.Time
		for i := range services {
			at = alertsBeat(t, srv, fmt.Sprintf("tk-%02d", i), fmt.Sprintf("tk-key-0123456789-%02d", i))
		}
		return at
	}
	// Kill at these offsets from the moment the last beat's threshold passes.
	for round, offset := range []time.Duration{-30 * time.Millisecond, 0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond} {
		last := beatAll()
		time.Sleep(time.Until(last.Add(threshold + offset)))
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-srv.exited
		if srv, err = startServer(dir, flags...); err != nil {
			t.Fatalf("round %d: restart: %v", round, err)
		}
	}
	// Let every service go down for good once more, then recover them all, and wait
	// (bounded) until every incident is closed and every notification delivered: on a
	// busy machine that takes longer than a fixed pause.
	last := beatAll()
	time.Sleep(time.Until(last.Add(threshold + 500*time.Millisecond)))
	beatAll()
	db := openDB(t, filepath.Join(dir, "data.db"))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var open, pending int
		if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM incidents WHERE endedAt = ''),
			(SELECT COUNT(*) FROM notifications WHERE status != 'sent')`).Scan(&open, &pending); err == nil && open == 0 && pending == 0 {
			break
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	type incident struct {
		ID, Service, Started, Ended string
		Downs, Ups                  int
	}
	rows, err := db.Query(`SELECT i.id, s.serviceId, i.startedAt, i.endedAt,
		(SELECT COUNT(*) FROM notifications n WHERE n.incident = i.id AND n.event = 'down'),
		(SELECT COUNT(*) FROM notifications n WHERE n.incident = i.id AND n.event = 'up')
		FROM incidents i JOIN services s ON s.id = i.service ORDER BY s.serviceId, i.startedAt`)
	if err != nil {
		t.Fatal(err)
	}
	var incs []incident
	for rows.Next() {
		var in incident
		if err := rows.Scan(&in.ID, &in.Service, &in.Started, &in.Ended, &in.Downs, &in.Ups); err != nil {
			t.Fatal(err)
		}
		incs = append(incs, in)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	perService := map[string]int{}
	for i, in := range incs {
		perService[in.Service]++
		if in.Downs != 1 {
			t.Errorf("incident %s of %s: %d down notifications, want exactly 1", in.ID, in.Service, in.Downs)
		}
		if in.Ended == "" {
			t.Errorf("incident %s of %s still open after every service recovered", in.ID, in.Service)
		} else if in.Ups != 1 {
			t.Errorf("incident %s of %s: %d recoveries, want exactly 1", in.ID, in.Service, in.Ups)
		}
		if i+1 < len(incs) && incs[i+1].Service == in.Service && (in.Ended == "" || incs[i+1].Started < in.Ended) {
			t.Errorf("%s: incidents %s and %s overlap", in.Service, in.ID, incs[i+1].ID)
		}
		mu.Lock()
		if delivered[in.ID+" down"] == 0 || delivered[in.ID+" up"] == 0 {
			t.Errorf("incident %s of %s: down delivered %d times, up %d times; want both delivered", in.ID, in.Service, delivered[in.ID+" down"], delivered[in.ID+" up"])
		}
		mu.Unlock()
	}
	for i := range services {
		if id := fmt.Sprintf("tk-%02d", i); perService[id] == 0 {
			t.Errorf("%s went down at the end and has no incident", id)
		}
	}
	var orphans, undelivered int
	if err := db.QueryRow(`SELECT COUNT(*) FROM notifications n WHERE n.incident != '' AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = n.incident)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM notifications WHERE status != 'sent'`).Scan(&undelivered); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 || undelivered != 0 {
		t.Errorf("%d notifications of incidents that do not exist, %d not delivered; want none", orphans, undelivered)
	}
	mu.Lock()
	dups := 0
	for _, n := range delivered {
		if n > 1 {
			dups++
		}
	}
	mu.Unlock()
	t.Logf("%d incidents over %d services; %d notifications delivered more than once (a kill between a delivery and its record)", len(incs), services, dups)
}
