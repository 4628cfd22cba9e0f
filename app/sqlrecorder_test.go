package app

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pocketbase/dbx"
)

// sqlRecorders holds the recorder of a test (see newTestApp): the test stores its
// *sqlRecorder under its *testing.T before building its harness.
var sqlRecorders sync.Map

// sqlRecorder keeps every distinct statement text the app's SQLite connections are
// given: dbx queries and the ingest writer's raw database/sql statements alike, with
// their placeholders, exactly as SQLite prepares them.
type sqlRecorder struct {
	mu     sync.Mutex
	paused bool
	seen   map[string]bool
	order  []string
}

// recordSQL registers a recorder for t, so the harness t builds reports to it.
func recordSQL(t *testing.T) *sqlRecorder {
	rec := &sqlRecorder{seen: map[string]bool{}}
	sqlRecorders.Store(t, rec)
	t.Cleanup(func() { sqlRecorders.Delete(t) })
	return rec
}

func (r *sqlRecorder) add(query string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || r.seen[query] {
		return
	}
	r.seen[query] = true
	r.order = append(r.order, query)
}

// pause stops recording until the returned func is called: for the test's own setup.
func (r *sqlRecorder) pause() (resume func()) {
	r.mu.Lock()
	r.paused = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.paused = false
		r.mu.Unlock()
	}
}

func (r *sqlRecorder) statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.order)
}

// sqliteDSNPragmas are the connection pragmas of core.DefaultDBConnect.
const sqliteDSNPragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_defensive=1"

// connect is a core.BaseAppConfig.DBConnect: PocketBase's SQLite driver, wrapped.
func (r *sqlRecorder) connect(dbPath string) (*dbx.DB, error) {
	probe, err := sql.Open("sqlite", "")
	if err != nil {
		return nil, fmt.Errorf("app test: sqlite driver: %w", err)
	}
	drv := probe.Driver()
	if err := probe.Close(); err != nil {
		return nil, fmt.Errorf("app test: sqlite driver: %w", err)
	}
	return dbx.NewFromDB(sql.OpenDB(recordingConnector{dsn: dbPath + sqliteDSNPragmas, drv: drv, rec: r}), "sqlite"), nil
}

type recordingConnector struct {
	dsn string
	drv driver.Driver
	rec *sqlRecorder
}

func (c recordingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: conn, rec: c.rec}, nil
}

func (c recordingConnector) Driver() driver.Driver { return c.drv }

// recordingConn records each statement text and hands it on; it implements the
// optional interfaces by delegating, or by driver.ErrSkip where database/sql falls
// back to Prepare (which is recorded too).
type recordingConn struct {
	driver.Conn
	rec *sqlRecorder
}

func (c *recordingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *recordingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.rec.add(query)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *recordingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.rec.add(query)
	return e.ExecContext(ctx, query, args)
}

func (c *recordingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.rec.add(query)
	return q.QueryContext(ctx, query, args)
}

func (c *recordingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // the fallback database/sql itself uses
}

func (c *recordingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *recordingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *recordingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
