package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the same pure-Go SQLite driver PocketBase uses
)

// pbDateLayout is how PocketBase stores dates in SQLite.
const pbDateLayout = "2006-01-02 15:04:05.000Z"

// Bulk insert sizes: rows per INSERT statement (14 columns each keeps a
// statement under SQLite's 32,766 bound variables) and rows per transaction.
const (
	bulkRowsPerInsert = 500
	bulkRowsPerTx     = 50_000
)

// bulkColumns are the services columns the bulk path sets, exactly as the
// migrations and the record hooks would (every other column keeps the
// default PocketBase gives it: ” for text and dates, 0, false, '[]'). Every
// service gets its pingId (the field autogenerates one on a save); in cron
// mode it also gets its schedule, timezone and grace (maxRuntime 0: no bound).
var bulkColumns = []string{"id", "serviceId", "name", "apiKey", "interval", "stalenessThreshold", "paused",
	"pingId", "schedule", "timezone", "grace", "maxRuntime", "created", "updated"}

// recordIDs hands out PocketBase-style record ids: 15 characters of
// [a-z0-9], random but reproducible from the seed.
type recordIDs struct {
	r *rand.Rand
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func newRecordIDs(seed uint64) *recordIDs {
	return &recordIDs{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *recordIDs) next() string {
	var b [15]byte
	for i := range b {
		b[i] = idAlphabet[g.r.IntN(len(idAlphabet))]
	}
	return string(b[:])
}

// openDataDB opens the data.db of a PocketBase data dir for writing.
func openDataDB(dir string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", filepath.Join(dir, "data.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("scalebench: open data.db: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkColumns fails unless table has every column in want: the bulk path
// then says which migration it no longer matches instead of writing junk.
func checkColumns(ctx context.Context, db *sql.DB, table string, want []string) error {
	rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return fmt.Errorf("scalebench: columns of %s: %w", table, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("scalebench: columns of %s: %w", table, err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scalebench: columns of %s: %w", table, err)
	}
	if len(have) == 0 {
		return fmt.Errorf("scalebench: table %s does not exist (was the data dir migrated?)", table)
	}
	for _, c := range want {
		if !have[c] {
			return fmt.Errorf("scalebench: table %s has no column %s: the bulk path no longer matches the migrations", table, c)
		}
	}
	return nil
}

// bulkInsertServices writes services from..n-1 into the services table of
// a migrated, stopped data dir, with multi-row INSERTs in big transactions;
// with cron, each is a cron job (cronSpec).
func bulkInsertServices(ctx context.Context, dir string, from, n int, now time.Time, cron bool) error {
	db, err := openDataDB(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkColumns(ctx, db, "services", bulkColumns); err != nil {
		return err
	}
	ids := newRecordIDs(uint64(from)<<20 ^ uint64(n))
	stamp := now.UTC().Format(pbDateLayout)
	for txStart := from; txStart < n; txStart += bulkRowsPerTx {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("scalebench: begin: %w", err)
		}
		txEnd := min(txStart+bulkRowsPerTx, n)
		// Statements are prepared on the transaction: the pool has one
		// connection, and the transaction holds it.
		stmts := map[int]*sql.Stmt{}
		prepare := func(rows int) (*sql.Stmt, error) {
			if s, ok := stmts[rows]; ok {
				return s, nil
			}
			s, err := tx.PrepareContext(ctx, insertSQL("services", bulkColumns, rows))
			if err != nil {
				return nil, fmt.Errorf("scalebench: prepare insert: %w", err)
			}
			stmts[rows] = s
			return s, nil
		}
		for start := txStart; start < txEnd; start += bulkRowsPerInsert {
			end := min(start+bulkRowsPerInsert, txEnd)
			args := make([]any, 0, (end-start)*len(bulkColumns))
			for i := start; i < end; i++ {
				id := serviceID(i)
				expr, tz, grace := "", "", 0
				if cron {
					expr, tz, grace = cronSpec(i)
				}
				args = append(args, ids.next(), id, "Bench service "+id[3:], serviceKey(i),
					benchInterval, benchThreshold, false, pingID(i), expr, tz, grace, 0, stamp, stamp)
			}
			stmt, err := prepare(end - start)
			if err != nil {
				return errors.Join(err, tx.Rollback())
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return errors.Join(fmt.Errorf("scalebench: insert services %d..%d: %w", start, end-1, err), tx.Rollback())
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("scalebench: commit: %w", err)
		}
	}
	return nil
}

// insertSQL is a multi-row INSERT of rows rows into table.
func insertSQL(table string, cols []string, rows int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s) VALUES ", table, `"`+strings.Join(cols, `", "`)+`"`)
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(one)
	}
	return sb.String()
}

// insertReadKey adds an api_keys record with the read scope for every
// service to a stopped data dir, so /api/status can be timed from the
// first instant the server answers.
func insertReadKey(ctx context.Context, dir, key string, now time.Time) error {
	return insertAPIKey(ctx, dir, "scalebench read key", key, "read", now)
}

// insertAPIKey adds an enabled api_keys record with one scope for every
// service to a stopped data dir.
func insertAPIKey(ctx context.Context, dir, name, key, scope string, now time.Time) error {
	db, err := openDataDB(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	cols := []string{"id", "name", "key", "services", "scopes", "disabled", "created", "updated"}
	if err := checkColumns(ctx, db, "api_keys", cols); err != nil {
		return err
	}
	stamp := now.UTC().Format(pbDateLayout)
	_, err = db.ExecContext(ctx, insertSQL("api_keys", cols, 1),
		newRecordIDs(uint64(now.UnixNano())^uint64(len(name))).next(), name, key, "[]", `["`+scope+`"]`, false, stamp, stamp)
	if err != nil {
		return fmt.Errorf("scalebench: insert %s: %w", name, err)
	}
	return nil
}

// countRows counts the rows of table in a stopped data dir.
func countRows(ctx context.Context, dir, table string) (int, error) {
	db, err := openDataDB(dir)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+table+`"`).Scan(&n); err != nil {
		return 0, fmt.Errorf("scalebench: count %s: %w", table, err)
	}
	return n, nil
}

// warmFleet makes the benchmark's services a steady fleet before the server starts:
// each one up, its last beat at now, beating every interval (threshold twice that). At
// start the restart grace gives them all a fresh interval, and the steady load then
// beats every service within it, so the load measures a fleet that keeps beating rather
// than a fleet of first beats, each a change of state (unknown -> up) with its log row.
func warmFleet(ctx context.Context, dir string, now time.Time, interval time.Duration) error {
	db, err := openDataDB(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	at := now.UTC().Format(pbDateLayout)
	secs := int(interval / time.Second)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("scalebench: warm the fleet: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE services SET interval = ?1, stalenessThreshold = ?2 WHERE serviceId LIKE 'sb-%'`, secs, 2*secs)
	if err != nil {
		return errors.Join(fmt.Errorf("scalebench: warm the fleet: %w", err), tx.Rollback())
	}
	// Each service's state row is keyed by its record id, as the server writes it.
	_, err = tx.ExecContext(ctx, `INSERT INTO service_states (id, service, lastSeen, lastStatus, status, statusChangedAt, firstSeen)
		SELECT id, id, ?1, 'up', 'up', ?1, ?1 FROM services WHERE serviceId LIKE 'sb-%'
		ON CONFLICT(id) DO UPDATE SET lastSeen = excluded.lastSeen, lastStatus = 'up', status = 'up',
			statusChangedAt = excluded.statusChangedAt, firstSeen = excluded.firstSeen`, at)
	if err != nil {
		return errors.Join(fmt.Errorf("scalebench: warm the fleet's state: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("scalebench: warm the fleet: %w", err)
	}
	return nil
}

// warmInterval is the interval of a warmed fleet of n services beaten round robin at
// rate beats/s: one round (n/rate) with half again to spare, plus the minute the bench
// spends between the start and the load, and never under 180 s.
func warmInterval(n int, rate float64) time.Duration {
	round := time.Duration(float64(n) / rate * float64(time.Second))
	return max(3*time.Minute, round*3/2+time.Minute).Round(time.Second)
}
