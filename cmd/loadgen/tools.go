package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite"
)

// identRe matches a plain SQL identifier, so a table name can be put into
// a query safely.
var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// countCmd prints the number of rows of a table in a SQLite database file.
// The server that writes the file should be stopped first.
func countCmd(args []string) error {
	fs := flag.NewFlagSet("loadgen count", flag.ContinueOnError)
	dbPath := fs.String("db", "", "SQLite database file")
	table := fs.String("table", "heartbeats", "table to count")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, err := countRows(*dbPath, *table)
	if err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}

// countRows returns the row count of table in the database at path.
func countRows(path, table string) (int64, error) {
	if path == "" {
		return 0, errors.New("--db is required")
	}
	if !identRe.MatchString(table) {
		return 0, fmt.Errorf("invalid table name %q", table)
	}
	// Refuse to create an empty database by accident.
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("database file: %w", err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT COUNT(*) FROM "` + table + `"`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s in %s: %w", table, path, err)
	}
	return n, nil
}

// waitCmd polls a URL with GET until it answers 200 or the timeout ends.
func waitCmd(args []string) error {
	fs := flag.NewFlagSet("loadgen wait", flag.ContinueOnError)
	rawURL := fs.String("url", "", "full URL to poll (loopback only), e.g. http://127.0.0.1:8090/api/health")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long (at most 10m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := loopbackURL(*rawURL)
	if err != nil {
		return err
	}
	if *timeout <= 0 || *timeout > maxDuration {
		return fmt.Errorf("--timeout must be in (0, %s], got %s", maxDuration, *timeout)
	}
	return waitReady(context.Background(), u, *timeout)
}

// waitReady GETs u every 100 ms until it answers 200.
func waitReady(ctx context.Context, u string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := newClient(1, 2*time.Second)
	defer client.CloseIdleConnections()
	last := "no attempt"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("build request for %s: %w", u, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last: %s)", u, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeportCmd prints a TCP port that is free on 127.0.0.1 right now.
func freeportCmd(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("freeport takes no arguments, got %q", args)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return fmt.Errorf("release port %d: %w", port, err)
	}
	fmt.Println(port)
	return nil
}

// reportCmd reads result files written by "run --json" and prints a table,
// then the throughput ratio of program --a over program --b for every
// (mode, concurrency) both have.
func reportCmd(args []string) error {
	fs := flag.NewFlagSet("loadgen report", flag.ContinueOnError)
	a := fs.String("a", "ours", "label of the program in the ratio's numerator")
	b := fs.String("b", "floor", "label of the program in the ratio's denominator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("report needs at least one result file")
	}
	var results []result
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read result: %w", err)
		}
		var r result
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("parse result %s: %w", path, err)
		}
		results = append(results, r)
	}
	return writeReport(os.Stdout, results, *a, *b)
}

// writeReport prints the results table and the a/b throughput ratios.
func writeReport(w io.Writer, results []result, a, b string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "program\tmode\tclients\tservices\tbeats/s\tp50 ms\tp99 ms\tmax ms\tnon-2xx\tdropped\t")
	for _, r := range results {
		mode := r.Mode
		if r.Mode == "open" {
			mode = fmt.Sprintf("open@%g/s", r.Rate)
		}
		non2xx := r.Status429 + r.Status503 + r.OtherErrors
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%d\t\n",
			r.Label, mode, r.Concurrency, r.Services, r.BeatsPerSec, r.P50Ms, r.P99Ms, r.MaxMs, non2xx, r.Dropped)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	type key struct {
		mode string
		c    int
	}
	byA := map[key]result{}
	for _, r := range results {
		if r.Label == a {
			byA[key{r.Mode, r.Concurrency}] = r
		}
	}
	var lines []string
	for _, r := range results {
		if r.Label != b {
			continue
		}
		ra, ok := byA[key{r.Mode, r.Concurrency}]
		if !ok || r.BeatsPerSec <= 0 {
			continue
		}
		if r.Mode == "open" {
			// Both programs get the same offered rate, so compare tails
			// and drops rather than throughput.
			lines = append(lines, fmt.Sprintf("open loop at %g/s, %d workers: p50 %.2f vs %.2f ms, p99 %.2f vs %.2f ms, max %.2f vs %.2f ms, dropped %d vs %d (%s vs %s)",
				r.Rate, r.Concurrency, ra.P50Ms, r.P50Ms, ra.P99Ms, r.P99Ms, ra.MaxMs, r.MaxMs, ra.Dropped, r.Dropped, a, b))
			continue
		}
		lines = append(lines, fmt.Sprintf("ratio %s/%s beats/s, %s loop, %d clients: %.2f (%.0f / %.0f); p99 %.2f vs %.2f ms",
			a, b, r.Mode, r.Concurrency, ra.BeatsPerSec/r.BeatsPerSec, ra.BeatsPerSec, r.BeatsPerSec, ra.P99Ms, r.P99Ms))
	}
	if len(lines) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
	return nil
}
