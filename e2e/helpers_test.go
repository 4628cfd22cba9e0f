package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// beatLoad is beats under load: Workers goroutines each POST /api/heartbeat in a loop
// until stopped, beat i of worker g to service (g+i) % Services with the message
// Prefix+"<g>-<i>".
type beatLoad struct {
	Workers, Services int
	ServiceID, Key    string        // fmt formats of service n's serviceId and bearer key
	Prefix            string        // of every message, for finding the beats in the database
	Conns             int           // idle connections kept to the server
	Timeout           time.Duration // of each request
	// Every, when set, paces each worker to one beat per Every (open loop at
	// Workers/Every beats a second); zero sends the next beat as soon as a reply is in.
	Every time.Duration
	// Sent, when set, is called before each request goes out.
	Sent func()
	// Reply is called, from the workers, for every reply whose body was read: the beat's
	// message, the status, and whether it acknowledged the beat (200, "success":true).
	// A beat with no reply (the server is gone) is not reported: nothing is known of it.
	Reply func(msg string, status int, acked bool)
}

// start sends the load to url and returns the function that stops it and waits for
// every worker to return.
func (l beatLoad) start(url string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: l.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: l.Conns}}
	for g := 0; g < l.Workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var tick <-chan time.Time
			if l.Every > 0 {
				t := time.NewTicker(l.Every)
				defer t.Stop()
				tick = t.C
			}
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if tick != nil {
					select {
					case <-done:
						return
					case <-tick:
					}
				}
				svc := (g + i) % l.Services
				msg := fmt.Sprintf("%s%d-%d", l.Prefix, g, i)
				body := fmt.Sprintf(`{"serviceId":%q,"message":%q}`, fmt.Sprintf(l.ServiceID, svc), msg)
				req, err := http.NewRequest(http.MethodPost, url+"/api/heartbeat", strings.NewReader(body))
				if err != nil {
					panic(err) // a constant method and a test's URL: cannot fail
				}
				req.Header.Set("Authorization", "Bearer "+fmt.Sprintf(l.Key, svc))
				if l.Sent != nil {
					l.Sent()
				}
				resp, err := client.Do(req)
				if err != nil {
					continue // the server is gone: nothing was acknowledged
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					continue // no whole reply: the client cannot know
				}
				l.Reply(msg, resp.StatusCode, resp.StatusCode == http.StatusOK && strings.Contains(string(raw), `"success":true`))
			}
		}(g)
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// storedMessages is the set of heartbeat messages in db that start with prefix; a
// message stored twice is a test error.
func storedMessages(t *testing.T, db *sql.DB, prefix string) map[string]bool {
	t.Helper()
	stored := map[string]bool{}
	rows, err := db.Query("SELECT message FROM heartbeats WHERE message LIKE ? || '%'", prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		if stored[m] {
			t.Errorf("beat %s stored twice", m)
		}
		stored[m] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return stored
}

// newEventHook is a loopback webhook receiver, closed when the test ends, that decodes
// every delivery's event and incidentId and hands them to got (from the server's
// goroutines); a body that is not JSON is answered 400.
func newEventHook(t *testing.T, got func(event, incident string)) *httptest.Server {
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			Event      string `json:"event"`
			IncidentID string `json:"incidentId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got(v.Event, v.IncidentID)
	}))
	t.Cleanup(h.Close)
	return h
}

// statuses is every service's status on s, by serviceId, from GET /api/status.
func statuses(t *testing.T, s *server) map[string]string {
	t.Helper()
	var reply struct {
		Summary struct {
			Results []struct {
				ServiceID string `json:"serviceId"`
				Status    string `json:"status"`
			} `json:"results"`
		} `json:"summary"`
	}
	if err := s.api(http.MethodGet, "/api/status", nil, &reply); err != nil {
		t.Fatal(err)
	}
	st := map[string]string{}
	for _, r := range reply.Summary.Results {
		st[r.ServiceID] = r.Status
	}
	return st
}

// hmImport runs `import args... --dir dir` and fails the test unless it succeeds
// exactly when wantOK; it returns what the command printed.
func hmImport(t *testing.T, dir string, wantOK bool, args ...string) string {
	t.Helper()
	out, err := hm(nil, append(append([]string{"import"}, args...), "--dir", dir, "--dev=false")...)
	if (err == nil) != wantOK {
		t.Fatalf("import %v: error %v, want ok %t\n%s", args, err, wantOK, out)
	}
	return out
}

// importPrinted reports, as test errors, each of want that an import's output lacks.
func importPrinted(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("import output: missing %q in\n%s", w, out)
		}
	}
}

// serveDir starts a server on dir and stops it when the test ends; a failed stop is a
// test error.
func serveDir(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	s, err := startServer(dir, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}
