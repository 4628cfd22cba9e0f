// Command loadgen drives the heartbeat ingest benchmark.
//
// It only ever talks to loopback addresses (127.0.0.1, localhost or ::1) and
// every run is bounded in time and in request count.
//
// Subcommands:
//
//	loadgen [run] --url URL [flags]   send heartbeats or pings (closed or open loop)
//	loadgen setup --url URL [flags]   create services on the real server
//	loadgen count --db PATH           count rows of a table in a SQLite file
//	loadgen wait --url URL            wait until a GET returns 200
//	loadgen freeport                  print a free loopback TCP port
//	loadgen report FILE...            print a table from run --json outputs
//
// Run "loadgen SUBCOMMAND -h" for the flags of each.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
)

func main() {
	if err := dispatch(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// dispatch runs the subcommand named by args[0]; flags without a
// subcommand mean "run".
func dispatch(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return runCmd(args)
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:])
	case "setup":
		return setupCmd(args[1:])
	case "count":
		return countCmd(args[1:])
	case "wait":
		return waitCmd(args[1:])
	case "freeport":
		return freeportCmd(args[1:])
	case "report":
		return reportCmd(args[1:])
	default:
		return fmt.Errorf("unknown subcommand %q (want run, setup, count, wait, freeport or report)", args[0])
	}
}

// loopbackURL parses raw as an http(s) URL and refuses any host that is
// not 127.0.0.1, localhost or ::1. The trailing slash is trimmed so paths
// can be appended.
func loopbackURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("--url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse --url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("--url %q: scheme must be http or https", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
	default:
		return "", fmt.Errorf("--url %q: refusing non-loopback host %q (only 127.0.0.1, localhost or ::1)", raw, u.Hostname())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// serviceID returns the id of the i-th benchmark service.
func serviceID(i int) string {
	return fmt.Sprintf("svc-%05d", i)
}

// benchPingID returns the pingId setup gives the i-th benchmark service, so that a
// run can GET /ping/<pingId> without reading the server's database: a fixed prefix
// and the index in decimal, a valid lower-case UUID.
func benchPingID(i int) string {
	return fmt.Sprintf("be9c0000-0000-4000-8000-%012d", i)
}

// benchKey returns the key setup gives the i-th benchmark service.
func benchKey(i int) string {
	return "bench-key-" + serviceID(i)
}

// maxServices bounds --services (ids have five digits).
const maxServices = 100000

// checkServices validates a --services value.
func checkServices(n int) error {
	if n < 1 || n > maxServices {
		return fmt.Errorf("--services must be in [1, %d], got %d", maxServices, n)
	}
	return nil
}
