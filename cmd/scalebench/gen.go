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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkServices(*n); err != nil {
		return err
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
