package views

import (
	"strconv"
	"strings"
	"time"
)

// runSlots is how many runs the chart has room for (dashboard reads as many); the
// newest run is at the right, so a service with few runs fills the chart from the right
// and bars keep their width as runs come in.
const runSlots = 30

// Geometry of the runs chart, in viewBox units: a slot per run, bars a little narrower.
const (
	slotWidth   = 10
	barWidth    = 8
	chartHeight = 100
	stubHeight  = 6 // a run whose length is not known
	minHeight   = 2 // the shortest measured run stays visible
)

// runBar is one bar of the runs chart.
type runBar struct {
	X, Y, H string
	Class   string // ok, fail, open, lost (no finish came), unknown (length not known)
	Title   string
}

// runState is what became of a run: ok, fail, open (still running), lost (a start no
// finish ended that is no longer open), or ok/fail for a finish.
func runState(r Run) string {
	switch {
	case r.End.IsZero() && r.Open:
		return "open"
	case r.End.IsZero():
		return "lost"
	case r.Failed:
		return "fail"
	}
	return "ok"
}

// runResult is the word for what became of a run.
func runResult(r Run) string {
	switch runState(r) {
	case "open":
		return "Running"
	case "lost":
		return "No finish"
	case "fail":
		return "Failed"
	}
	return "Succeeded"
}

// runLength is how long a run took or has taken so far, and whether that is known.
func runLength(r Run, now time.Time) (time.Duration, bool) {
	switch {
	case r.Measured:
		return r.Duration, true
	case r.Open && !r.Start.IsZero():
		return max(now.Sub(r.Start), 0), true
	}
	return 0, false
}

// runDuration is the table's duration cell: "5m 00s", "2m 10s so far", or "—".
func runDuration(r Run, now time.Time) string {
	d, ok := runLength(r, now)
	switch {
	case !ok:
		return "—"
	case r.Open:
		return Duration(d) + " so far"
	}
	return Duration(d)
}

// runExit is the exit status of a run, or "—" when it sent none.
func runExit(r Run) string {
	if !r.HasExit {
		return "—"
	}
	return strconv.Itoa(r.Exit)
}

// runBars draws runs (newest first) oldest on the left, each bar as tall as its run
// was long relative to the longest shown; a run of unknown length is a short stub.
func runBars(runs []Run, now time.Time) []runBar {
	runs = runs[:min(len(runs), runSlots)]
	longest := time.Duration(0)
	for _, r := range runs {
		if d, ok := runLength(r, now); ok {
			longest = max(longest, d)
		}
	}
	out := make([]runBar, 0, len(runs))
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		slot := runSlots - 1 - i
		h := stubHeight
		class := runState(r)
		if d, ok := runLength(r, now); ok && longest > 0 {
			h = max(minHeight, int(float64(chartHeight)*float64(d)/float64(longest)))
			if class == "open" {
				h = max(h, stubHeight) // a run that just began is still seen
			}
		} else if !ok && class != "lost" {
			class += " unknown"
		}
		out = append(out, runBar{
			X:     strconv.Itoa(slot*slotWidth + (slotWidth-barWidth)/2),
			Y:     strconv.Itoa(chartHeight - h),
			H:     strconv.Itoa(h),
			Class: class,
			Title: runTitle(r, now),
		})
	}
	return out
}

// runTitle is a bar's hover text: "2026-11-30 03:10:00 UTC · 5m 00s · exit 3 · Failed".
func runTitle(r Run, now time.Time) string {
	parts := []string{}
	if !r.Start.IsZero() {
		parts = append(parts, "started "+UTC(r.Start))
	} else {
		parts = append(parts, "ended "+UTC(r.End))
	}
	if d := runDuration(r, now); d != "—" {
		parts = append(parts, d)
	} else {
		parts = append(parts, "duration unknown")
	}
	if r.HasExit {
		parts = append(parts, "exit "+strconv.Itoa(r.Exit))
	}
	parts = append(parts, runResult(r))
	return strings.Join(parts, " · ")
}

// longestRun is the length the chart's full height stands for, "" when none is known.
func longestRun(runs []Run, now time.Time) string {
	longest, known := time.Duration(0), false
	for _, r := range runs[:min(len(runs), runSlots)] {
		if d, ok := runLength(r, now); ok {
			longest, known = max(longest, d), true
		}
	}
	if !known {
		return ""
	}
	return Duration(longest)
}

// chartLabel is what a screen reader says for the runs chart.
func chartLabel(runs []Run) string {
	failed := 0
	for _, r := range runs[:min(len(runs), runSlots)] {
		if r.Failed {
			failed++
		}
	}
	return "Duration of the last " + strconv.Itoa(min(len(runs), runSlots)) + " runs, " + strconv.Itoa(failed) + " failed"
}

// beatStatus is the status cell of a heartbeat: its status, with the kind of ping for
// a ping ("down · exit 3", "up · success"), or the kind alone for a start or a log,
// which report no status.
func beatStatus(b Beat) string {
	kind := b.Kind
	if kind == "exit" {
		kind = "exit " + strconv.Itoa(b.Exit)
	}
	switch {
	case kind == "":
		return orDash(b.Status)
	case b.Status == "":
		return kind
	}
	return b.Status + " · " + kind
}

// bodySummary is the first line of a ping's body, cut short, to open the whole of it.
func bodySummary(body string) string {
	line, _, more := strings.Cut(strings.TrimSpace(body), "\n")
	s := clip(strings.TrimSpace(line), 60)
	if s == "" {
		return "body"
	}
	if more && !strings.HasSuffix(s, "…") {
		s += " …"
	}
	return s
}

// expectedText is when the next ping is due, relative to now: "in 5m 00s" or
// "overdue by 2m 00s".
func expectedText(at, now time.Time) string {
	if at.Before(now) {
		return "overdue by " + Duration(now.Sub(at))
	}
	return "in " + Duration(at.Sub(now))
}
