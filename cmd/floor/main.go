// Command floor is the "one-insert-per-request" baseline for the heartbeat
// ingest benchmark.
//
// It speaks the same wire contract as the real server's POST /api/heartbeat
// but does the least work a correct implementation could do: read the body
// (at most 64 KiB), decode the JSON, check the Bearer key against an
// in-memory map with a constant-time compare, insert one row into SQLite in
// its own autocommit transaction through a single writer connection, and
// reply 200. Comparing the real server against this program tells how much
// the framework and its extra features cost on top of the unavoidable work.
//
// Usage:
//
//	floor --addr 127.0.0.1:8091 --db /tmp/floor.db --services 1000
//
// GET /count returns the number of rows in the heartbeats table as plain
// text. SIGINT or SIGTERM shut the server down gracefully: in-flight
// requests finish and the database is closed before the process exits.
package main

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

// maxBodyBytes bounds the request body the handler reads.
const maxBodyBytes = 64 << 10

// dsnPragmas are appended to the database path: WAL journal, NORMAL sync
// and a generous busy timeout, the same settings the real server uses.
const dsnPragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// createTable is the schema of the only table the floor writes.
const createTable = `CREATE TABLE IF NOT EXISTS heartbeats (
	id       TEXT PRIMARY KEY,
	service  TEXT,
	status   TEXT,
	message  TEXT,
	metadata TEXT,
	created  TEXT
)`

// timeLayout is the layout of the "created" column and of the reply's
// timestamp (UTC, millisecond precision).
const timeLayout = "2006-01-02T15:04:05.000Z"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// run parses the flags, opens the database and serves until a signal.
func run(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address (host:port)")
	dbPath := fs.String("db", "floor.db", "SQLite database file")
	services := fs.Int("services", 1000, "number of services svc-00000..svc-(N-1), key bench-key-<serviceId>")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *services < 0 || *services > 100000 {
		return fmt.Errorf("--services must be in [0, 100000], got %d", *services)
	}

	db, err := openDB(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	handler, err := newHandler(db, serviceKeys(*services))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("floor: listening on %s, db %s, %d services", *addr, *dbPath, *services)

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", *addr, err)
	case <-ctx.Done():
	}
	log.Printf("floor: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// openDB opens (creating if needed) the SQLite database at path with one
// writer connection and makes sure the heartbeats table exists.
func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+dsnPragmas)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(createTable); err != nil {
		db.Close()
		return nil, fmt.Errorf("create heartbeats table in %s: %w", path, err)
	}
	return db, nil
}

// serviceKeys returns the in-memory key map: svc-00000..svc-(n-1), each
// with key "bench-key-<serviceId>".
func serviceKeys(n int) map[string][]byte {
	keys := make(map[string][]byte, n)
	for i := range n {
		id := fmt.Sprintf("svc-%05d", i)
		keys[id] = []byte("bench-key-" + id)
	}
	return keys
}

// beat is the request body of POST /api/heartbeat.
type beat struct {
	ServiceID string          `json:"serviceId"`
	Status    string          `json:"status"`
	Message   string          `json:"message"`
	Metadata  json.RawMessage `json:"metadata"`
}

// reply is the response body of POST /api/heartbeat.
type reply struct {
	Success   bool   `json:"success"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp,omitempty"`
}

// server holds the handler's dependencies.
type server struct {
	db     *sql.DB
	keys   map[string][]byte
	insert *sql.Stmt
}

// insertSQL stores one heartbeat.
const insertSQL = `INSERT INTO heartbeats (id, service, status, message, metadata, created) VALUES (?, ?, ?, ?, ?, ?)`

// newHandler returns the floor's HTTP handler. The insert statement is
// prepared once up front.
func newHandler(db *sql.DB, keys map[string][]byte) (http.Handler, error) {
	insert, err := db.Prepare(insertSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare insert: %w", err)
	}
	s := &server{db: db, keys: keys, insert: insert}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/heartbeat", s.heartbeat)
	mux.HandleFunc("GET /count", s.count)
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, reply{Success: true, Message: "ok"})
	})
	return mux, nil
}

// heartbeat handles POST /api/heartbeat.
func (s *server) heartbeat(w http.ResponseWriter, r *http.Request) {
	key, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		writeJSON(w, http.StatusUnauthorized, reply{Message: "missing or malformed Authorization header"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, reply{Message: "body too large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, reply{Message: "cannot read body"})
		return
	}
	var b beat
	if err := json.Unmarshal(body, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, reply{Message: "invalid JSON body"})
		return
	}
	if b.ServiceID == "" || b.Status == "" {
		writeJSON(w, http.StatusBadRequest, reply{Message: "serviceId and status are required"})
		return
	}
	want, known := s.keys[b.ServiceID]
	if !known {
		// Compare anyway so unknown and known services take similar time.
		want = []byte("key-unknown-service-placeholder")
	}
	if subtle.ConstantTimeCompare([]byte(key), want) != 1 || !known {
		writeJSON(w, http.StatusUnauthorized, reply{Message: "invalid API key"})
		return
	}

	metadata := "{}"
	if len(b.Metadata) > 0 && string(b.Metadata) != "null" {
		metadata = string(b.Metadata)
	}
	now := time.Now().UTC().Format(timeLayout)
	_, err = s.insert.ExecContext(r.Context(), newID(), b.ServiceID, b.Status, b.Message, metadata, now)
	if err != nil {
		log.Printf("floor: insert heartbeat for %s: %v", b.ServiceID, err)
		writeJSON(w, http.StatusInternalServerError, reply{Message: "cannot store heartbeat"})
		return
	}
	writeJSON(w, http.StatusOK, reply{Success: true, Message: "Heartbeat received", Timestamp: now})
}

// count handles GET /count: the number of stored heartbeats as plain text.
func (s *server) count(w http.ResponseWriter, r *http.Request) {
	var n int64
	if err := s.db.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM heartbeats`).Scan(&n); err != nil {
		http.Error(w, "count heartbeats: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%d\n", n)
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// idAlphabet is the alphabet of generated row ids (PocketBase style).
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a random 15-character row id.
func newID() string {
	var b [15]byte
	for i := range b {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b[:])
}

// writeJSON writes v as a JSON response with the given status code.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(buf, '\n'))
}
