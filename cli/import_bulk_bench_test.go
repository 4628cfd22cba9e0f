package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkImportBulk100k imports 100,000 generated services into a new data dir with
// the binary's app (hooks bound) and reports the time of the import and the process's
// peak RSS. Issue 9 asks for under 10 s and 300 MB. The process also holds the test
// binary; the binary alone is measured with:
//
//	python3 - <<'EOF' > /tmp/s100k.json   # or: go run ./cmd/scalebench gen --services 100000 --out /tmp/s100k.json
//	print('{"services":[' + ','.join('{"id":"sb-%07d","name":"Bench %d","enabled":true,"stalenessThreshold":300,"apiKey":"key-%07d-0123456789abcdef"}' % (i, i, i) for i in range(100000)) + ']}')
//	EOF
//	CGO_ENABLED=0 go build -o /tmp/hm . && /usr/bin/time -v /tmp/hm import /tmp/s100k.json --dir /tmp/d100k --dev=false >/dev/null
//
// Run it alone: go test -run '^$' -bench ImportBulk100k -benchtime 1x ./cli/
func BenchmarkImportBulk100k(b *testing.B) {
	const n = 100_000
	file := writeBenchServices(b, n)
	for b.Loop() {
		b.StopTimer()
		app := newHookedApp(b)
		b.StartTimer()
		start := time.Now()
		var out bytes.Buffer
		c := newImportCommand(app)
		c.SetArgs([]string{file})
		c.SetOut(&out)
		if err := c.Execute(); err != nil {
			b.Fatal(err)
		}
		if !strings.Contains(out.String(), fmt.Sprintf("services: %d created", n)) {
			b.Fatalf("output:\n%s", tail(out.String()))
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/import")
	}
	b.ReportMetric(float64(peakRSSKB(b))/1024, "peak-MB")
}

func writeBenchServices(b *testing.B, n int) string {
	b.Helper()
	path := b.TempDir() + "/services.json"
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprint(w, `{"services":[`)
	for i := range n {
		if i > 0 {
			fmt.Fprint(w, ",\n")
		}
		fmt.Fprintf(w, `{"id":"sb-%07d","name":"Bench %d","enabled":true,"stalenessThreshold":300,"apiKey":"key-%07d-0123456789abcdef"}`, i, i, i)
	}
	fmt.Fprint(w, "]}\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakRSSKB is the process's peak resident set (VmHWM), in KiB.
func peakRSSKB(b *testing.B) int {
	b.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
