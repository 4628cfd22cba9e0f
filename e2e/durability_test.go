package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// openDB opens a data dir's SQLite file read-only for checking what was stored.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestKill9LosesNoAcknowledgedBeat sends beats from many goroutines, kills the server
// with SIGKILL while they are in flight, and expects every beat that got a 200 to be in
// the database; the server then starts again on the same data.
func TestKill9LosesNoAcknowledgedBeat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	const services = 40
	for i := 0; i < services; i++ {
		srv.createService(t, fmt.Sprintf("k9-%02d", i), fmt.Sprintf("k9-key-0123456789-%02d", i))
	}

	var acked sync.Map // message -> struct{}
	var nAcked, nSent atomic.Int64
	stopLoad := beatLoad{Workers: 32, Services: services, ServiceID: "k9-%02d", Key: "k9-key-0123456789-%02d",
		Prefix: "g", Conns: 64, Timeout: 5 * time.Second,
		Sent: func() { nSent.Add(1) },
		Reply: func(msg string, _ int, ok bool) {
			if ok {
				acked.Store(msg, struct{}{})
				nAcked.Add(1)
			}
		}}.start(srv.URL)
	// Kill at a moment when beats are in flight: right after the 1,500th acknowledgement.
	deadline := time.Now().Add(30 * time.Second)
	for nAcked.Load() < 1500 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	stopLoad()
	if nAcked.Load() < 1500 {
		t.Fatalf("only %d beats acknowledged before the deadline", nAcked.Load())
	}

	db := openDB(t, filepath.Join(dir, "data.db"))
	stored := storedMessages(t, db, "g")
	lost := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			lost++
		}
		return true
	})
	t.Logf("sent %d, acknowledged %d, stored %d, lost %d", nSent.Load(), nAcked.Load(), len(stored), lost)
	if lost > 0 {
		t.Fatalf("%d acknowledged beats lost after SIGKILL", lost)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// It starts again on the same data, with each service's lastSeen at its newest beat.
	again, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.stop()
	var newest, seen string
	check := openDB(t, filepath.Join(dir, "data.db"))
	if err := check.QueryRow("SELECT MAX(h.created), st.lastSeen FROM heartbeats h JOIN services s ON s.id = h.service JOIN service_states st ON st.id = s.id WHERE s.serviceId = 'k9-00'").Scan(&newest, &seen); err != nil {
		t.Fatal(err)
	}
	if seen != newest {
		t.Errorf("after restart k9-00 lastSeen %s, newest stored beat %s", seen, newest)
	}
	resp, err := http.Post(again.URL+"/api/heartbeat", "", strings.NewReader(`{"serviceId":"k9-00"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unauthenticated beat after restart: %d, want 401", resp.StatusCode)
	}
}

// TestSIGTERMUnderLoadAnswersTruly stops the server with SIGTERM while beats are in
// flight. Every beat answered 2xx is stored, and every beat answered 503 is not: clients
// retry a 503, so a 503 for a stored beat stores it twice. Before, PocketBase's
// cancelling of every request's context at shutdown turned beats the drain then
// committed into 503 "Heartbeat could not be stored, retry later".
func TestSIGTERMUnderLoadAnswersTruly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	const services = 40
	for i := 0; i < services; i++ {
		srv.createService(t, fmt.Sprintf("st-%02d", i), fmt.Sprintf("st-key-%02d-sixteen", i))
	}
	var answered sync.Map // message -> HTTP status
	var nAcked atomic.Int64
	// No answer (a timeout, a reset) is not recorded: the client cannot know, and nothing
	// is asserted of it.
	stopLoad := beatLoad{Workers: 32, Services: services, ServiceID: "st-%02d", Key: "st-key-%02d-sixteen",
		Prefix: "term-g", Conns: 64, Timeout: 10 * time.Second,
		Reply: func(msg string, code int, _ bool) {
			answered.Store(msg, code)
			if code == http.StatusOK {
				nAcked.Add(1)
			}
		}}.start(srv.URL)
	deadline := time.Now().Add(30 * time.Second)
	for nAcked.Load() < 1500 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stopErr := srv.stop()
	stopLoad()
	if stopErr != nil {
		t.Fatalf("graceful stop: %v", stopErr)
	}
	if nAcked.Load() < 1500 {
		t.Fatalf("only %d beats acknowledged before the deadline", nAcked.Load())
	}

	stored := storedMessages(t, openDB(t, filepath.Join(dir, "data.db")), "term-")
	byStatus := map[int]int{}
	lost, twice := 0, 0
	answered.Range(func(k, v any) bool {
		msg, code := k.(string), v.(int)
		byStatus[code]++
		switch {
		case code >= 200 && code < 300 && !stored[msg]:
			lost++
		case code == http.StatusServiceUnavailable && stored[msg]:
			twice++
		case code != 200 && code != http.StatusServiceUnavailable:
			t.Errorf("beat %s answered %d", msg, code)
		}
		return true
	})
	t.Logf("replies by status %v, %d beats stored", byStatus, len(stored))
	if lost > 0 {
		t.Errorf("%d beats answered 2xx are not stored", lost)
	}
	if twice > 0 {
		t.Errorf("%d beats answered 503 (retry later) are stored: their retries store them twice", twice)
	}
}

// TestSuccessfulBeatsStayOutOfRequestLog: PocketBase logs every request by default; a
// heartbeat that succeeded must not cost a log row, one that failed still shows up.
func TestSuccessfulBeatsStayOutOfRequestLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv.createService(t, "log-1", "log-key-0123456789")
	post := func(key string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/heartbeat", strings.NewReader(`{"serviceId":"log-1"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; i < 5; i++ {
		if got := post("log-key-0123456789"); got != 200 {
			t.Fatalf("beat: %d", got)
		}
	}
	if got := post("wrong"); got != 401 {
		t.Fatalf("bad key: %d", got)
	}
	if err := srv.stop(); err != nil { // a graceful stop flushes the request log
		t.Fatal(err)
	}
	db := openDB(t, filepath.Join(dir, "auxiliary.db"))
	rows, err := db.Query("SELECT message, data FROM _logs")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byStatus := map[float64]int{}
	refused := map[float64]float64{} // status -> count of the per-minute "heartbeat refusals" lines
	for rows.Next() {
		var msg, raw string
		if err := rows.Scan(&msg, &raw); err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		st, _ := d["status"].(float64)
		switch {
		case d["url"] == "/api/heartbeat":
			byStatus[st]++
		case msg == "heartbeat refusals":
			n, _ := d["count"].(float64)
			refused[st] += n
		}
	}
	t.Logf("log rows: %v, refusals: %v", byStatus, refused)
	// Refused beats are counted per minute instead of a row each; a stop logs the count.
	if len(byStatus) != 0 || len(refused) != 1 || refused[401] != 1 {
		t.Errorf("request log rows for /api/heartbeat by status: %v, want none; refusals counted: %v, want the one 401", byStatus, refused)
	}
}
