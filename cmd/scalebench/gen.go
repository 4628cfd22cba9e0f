package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Bench services are named and keyed from their index alone, so the load
// generator can address any of a million services without reading a file.
const (
	// maxServices bounds --services: the largest scale, with room.
	maxServices = 2_000_000
	// benchThreshold is every bench service's stalenessThreshold in seconds
	// (the server's default).
	benchThreshold = 300
	// benchInterval is every bench service's interval in seconds (the
	// server's default).
	benchInterval = 120
)

// serviceID returns the serviceId of the i-th bench service.
func serviceID(i int) string {
	return fmt.Sprintf("sb-%07d", i)
}

// serviceKey returns the API key of the i-th bench service: 40 hex
// characters derived from the index, the same in every run (a bench key
// guards nothing; it only has to be long and distinct).
func serviceKey(i int) string {
	sum := sha256.Sum256([]byte("scalebench-key-" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:20])
}

// writeServicesJSON writes n bench services in the original worker's
// early services.json form, the one `heartbeat-monitor import` reads:
// {"services":[{"id","name","enabled","stalenessThreshold","apiKey"}]}.
// It streams, so a million services need no more memory than one.
func writeServicesJSON(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString("{\"services\":[\n"); err != nil {
		return fmt.Errorf("scalebench: gen: %w", err)
	}
	for i := range n {
		sep := ",\n"
		if i == n-1 {
			sep = "\n"
		}
		id := serviceID(i)
		_, err := fmt.Fprintf(bw, `{"id":%q,"name":%q,"enabled":true,"stalenessThreshold":%d,"apiKey":%q}%s`,
			id, "Bench service "+id[3:], benchThreshold, serviceKey(i), sep)
		if err != nil {
			return fmt.Errorf("scalebench: gen: %w", err)
		}
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return fmt.Errorf("scalebench: gen: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("scalebench: gen: %w", err)
	}
	return nil
}

// genFile writes n bench services to path.
func genFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("scalebench: gen: %w", err)
	}
	if err := writeServicesJSON(f, n); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("scalebench: gen: %w", err)
	}
	return nil
}

// genCmd is `scalebench gen --services N --out FILE`.
func genCmd(args []string) error {
	fs := flag.NewFlagSet("scalebench gen", flag.ContinueOnError)
	n := fs.Int("services", 10000, "number of services")
	out := fs.String("out", "services.json", "file to write")
	cron := fs.Bool("cron", false, "write cron checks in the JSON of Healthchecks' GET /api/v3/checks/ (for import --from healthchecks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkServices(*n); err != nil {
		return err
	}
	if *cron {
		return genChecksFile(*out, *n)
	}
	return genFile(*out, *n)
}

// checkServices validates a --services value.
func checkServices(n int) error {
	if n < 1 || n > maxServices {
		return fmt.Errorf("--services must be in [1, %d], got %d", maxServices, n)
	}
	return nil
}

// Cron mode (--cron): every bench service is a cron job with a known ping UUID, one of
// a few schedules in one of a few zones, and a grace; the load pings in Healthchecks'
// dialect instead of POST /api/heartbeat.

// cronSchedules are the bench's cron schedules, given out round robin by index: every
// five minutes (a third of the fleet expects a ping at the same instant, every five
// minutes), hourly, and daily at 03:30 in each zone.
var cronSchedules = []struct {
	expr  string
	grace int // seconds: long enough that no service goes down while a bench runs
}{
	{"*/5 * * * *", 900},
	{"0 * * * *", 1800},
	{"30 3 * * *", 3600},
}

// cronZones are the bench's time zones, given out by index / len(cronSchedules), so
// every schedule meets every zone.
var cronZones = []string{"Europe/Riga", "America/New_York", "Australia/Sydney", "UTC"}

// cronSpec is the schedule, zone and grace of the i-th bench service in cron mode.
func cronSpec(i int) (expr, tz string, grace int) {
	s := cronSchedules[i%len(cronSchedules)]
	return s.expr, cronZones[(i/len(cronSchedules))%len(cronZones)], s.grace
}

// pingID is the ping UUID of the i-th bench service: a fixed prefix and the index in
// decimal, a lower-case UUID (version 4 shape), distinct per index.
func pingID(i int) string {
	return fmt.Sprintf("5cb0be9c-0000-4000-8000-%012d", i)
}

// runID is the run id (rid) of the run started at load step n: a lower-case UUID.
func runID(n int64) string {
	return fmt.Sprintf("5cb0a11d-0000-4000-8000-%012d", n)
}

// writeChecksJSON writes n bench services as cron checks in the JSON of Healthchecks'
// GET /api/v3/checks/, the form `heartbeat-monitor import --from healthchecks` reads:
// the slug is the serviceId and the ping URL ends in the service's pingId. It streams.
func writeChecksJSON(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString("{\"checks\":[\n"); err != nil {
		return fmt.Errorf("scalebench: gen checks: %w", err)
	}
	for i := range n {
		sep := ",\n"
		if i == n-1 {
			sep = "\n"
		}
		id := serviceID(i)
		expr, tz, grace := cronSpec(i)
		_, err := fmt.Fprintf(bw, `{"name":%q,"slug":%q,"tags":"","desc":"","grace":%d,"schedule":%q,"tz":%q,"ping_url":%q,"manual_resume":false,"status":"new"}%s`,
			"Bench service "+id[3:], id, grace, expr, tz, "https://hc-ping.com/"+pingID(i), sep)
		if err != nil {
			return fmt.Errorf("scalebench: gen checks: %w", err)
		}
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return fmt.Errorf("scalebench: gen checks: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("scalebench: gen checks: %w", err)
	}
	return nil
}

// genChecksFile writes n bench cron checks to path.
func genChecksFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("scalebench: gen checks: %w", err)
	}
	if err := writeChecksJSON(f, n); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("scalebench: gen checks: %w", err)
	}
	return nil
}
