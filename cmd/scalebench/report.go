package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// importResult is one timed `heartbeat-monitor import` of services.json.
type importResult struct {
	Seconds float64 `json:"seconds"`
	PeakMB  float64 `json:"peakMB"`
	Error   string  `json:"error,omitempty"`
	Output  string  `json:"output,omitempty"` // its last line
}

// stage is one step of a scale run, how long it took and how it ended.
type stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// scaleResult is everything measured at one scale; it is printed as a
// table and saved as JSON for the summary.
type scaleResult struct {
	Services int    `json:"services"`
	Date     string `json:"date"`
	// Mode is plain (POST /api/heartbeat, interval rule) or cron (cron jobs pinged in
	// Healthchecks' dialect).
	Mode       string `json:"mode,omitempty"`
	Conditions string `json:"conditions"`
	// DataPath says how the services got into the database: "cli import"
	// or "bulk SQL".
	DataPath    string        `json:"dataPath"`
	Import      *importResult `json:"import,omitempty"`
	BulkSeconds float64       `json:"bulkSeconds,omitempty"`

	StartHealthS float64 `json:"startHealthS,omitempty"`
	StartStatusS float64 `json:"startStatusS,omitempty"`
	RSSStartMB   float64 `json:"rssStartMB,omitempty"`
	IdleWindowS  float64 `json:"idleWindowS,omitempty"`
	IdleCPUPct   float64 `json:"idleCPUPct"`
	RSSIdleMB    float64 `json:"rssIdleMB,omitempty"`
	// IdleAfterCPUPct is idle CPU again after the load, with the beaten
	// services' deadlines pending (0 when not measured).
	IdleAfterCPUPct float64 `json:"idleAfterCPUPct"`

	Load        *loadResult `json:"load,omitempty"`
	LoadCPUPct  float64     `json:"loadCPUPct"`
	RSSLoadMB   float64     `json:"rssLoadPeakMB,omitempty"`
	HWMMB       float64     `json:"hwmMB,omitempty"`
	StatusMs    float64     `json:"statusMs,omitempty"`
	StatusBytes int64       `json:"statusBytes,omitempty"`
	// StatusResults is how many services one /api/status reply listed.
	StatusResults int          `json:"statusResults,omitempty"`
	OverviewMs    float64      `json:"overviewMs,omitempty"`
	OverviewB     int64        `json:"overviewBytes,omitempty"`
	Alert         *alertResult `json:"alert,omitempty"`
	// After is, in cron mode, the fleet's counts by state just after the load.
	After *fleetState `json:"after,omitempty"`
	StopS float64     `json:"stopS,omitempty"`

	Stages []stage `json:"stages"`
	// StoppedAt is set when the run could not go on: the stage and why.
	StoppedAt string `json:"stoppedAt,omitempty"`
}

// verdict is the outcome of one target.
type verdict string

const (
	pass        verdict = "PASS"
	miss        verdict = "MISS"
	notMeasured verdict = "n/a"
)

// check is one target of the issue beside the figure measured.
type check struct {
	Scale  int
	What   string
	Target string
	Got    string
	Result verdict
}

// judge is pass when ok, miss otherwise; notMeasured when measured is false.
func judge(measured, ok bool) verdict {
	switch {
	case !measured:
		return notMeasured
	case ok:
		return pass
	}
	return miss
}

// Issue 9's targets.
const (
	targetAlertMs       = 1000.0
	targetRSS10kMB      = 64.0
	targetImport100kS   = 10.0
	targetImport100kMB  = 300.0
	targetRate100k      = 300.0
	targetDuration100kS = 180.0
	targetP99100kMs     = 10.0
	targetMax100kMs     = 100.0
	targetIdleCPUPct    = 2.0
	targetStart1MS      = 15.0
	targetRSS1MMB       = 1024.0
	targetRate1M        = 8500.0
	targetP991MMs       = 50.0
)

// defaultRate is the steady beat rate of a scale: the 8,500/s
// (every service every 2 minutes) at a million, 300/s below.
func defaultRate(services int) float64 {
	if services >= 1_000_000 {
		return targetRate1M
	}
	return targetRate100k
}

// sustained reports whether a load run kept its rate: every scheduled
// beat sent and acknowledged, none dropped, within 1 % of the rate.
func sustained(l *loadResult, rate float64) bool {
	return l != nil && l.Rate >= rate && l.Dropped == 0 && l.Errors == 0 && l.AchievedPS >= 0.99*rate
}

// checks lists the targets for r's scale with the figures of r.
func checks(r scaleResult) []check {
	var cs []check
	add := func(what, target, got string, v verdict) {
		cs = append(cs, check{Scale: r.Services, What: what, Target: target, Got: got, Result: v})
	}
	l := r.Load
	loaded := l != nil && l.OK > 0
	switch r.Services {
	case 10_000:
		add("RSS under load", fmt.Sprintf("< %.0f MB", targetRSS10kMB), mbText(r.RSSLoadMB, loaded), judge(loaded, r.RSSLoadMB < targetRSS10kMB))
	case 100_000:
		imp := r.Import != nil && r.Import.Error == ""
		add("import 100k", fmt.Sprintf("< %.0f s", targetImport100kS), importText(r.Import), judge(imp, imp && r.Import.Seconds < targetImport100kS))
		add("import 100k peak RSS", fmt.Sprintf("< %.0f MB", targetImport100kMB), importRSSText(r.Import), judge(imp, imp && r.Import.PeakMB < targetImport100kMB))
		ok := loaded && sustained(l, targetRate100k) && l.DurationS >= targetDuration100kS
		add("300 beats/s for 3 min", "no drop, no error", rateText(l), judge(loaded, ok))
		add("p99 at 300/s", fmt.Sprintf("< %.0f ms", targetP99100kMs), msText(l, func(l *loadResult) float64 { return l.P99Ms }), judge(loaded, loaded && l.P99Ms < targetP99100kMs))
		add("max at 300/s", fmt.Sprintf("< %.0f ms", targetMax100kMs), msText(l, func(l *loadResult) float64 { return l.MaxMs }), judge(loaded, loaded && l.MaxMs < targetMax100kMs))
		idle := max(r.IdleCPUPct, r.IdleAfterCPUPct) // the worse of before and after the load
		add("idle CPU (worse of before/after load)", fmt.Sprintf("< %.0f %% of a core", targetIdleCPUPct), pctText(idle, r.IdleWindowS > 0), judge(r.IdleWindowS > 0, idle < targetIdleCPUPct))
	case 1_000_000:
		started := r.StartStatusS > 0
		add("start-up", fmt.Sprintf("< %.0f s", targetStart1MS), secText(r.StartStatusS, started), judge(started, r.StartStatusS < targetStart1MS))
		peak := max(r.RSSLoadMB, r.HWMMB)
		add("RSS", fmt.Sprintf("< %.0f MB", targetRSS1MMB), mbText(peak, peak > 0), judge(peak > 0, peak < targetRSS1MMB))
		add("8,500 beats/s sustained", "no drop, no error", rateText(l), judge(loaded, loaded && sustained(l, targetRate1M)))
		add("p99 at 8,500/s", fmt.Sprintf("< %.0f ms", targetP991MMs), msText(l, func(l *loadResult) float64 { return l.P99Ms }), judge(loaded, loaded && l.P99Ms < targetP991MMs))
	}
	if loaded {
		add("load spans minute boundaries", ">= 2", itoa(l.MinuteMarks), judge(true, l.MinuteMarks >= 2))
	}
	a := r.Alert
	measured := a != nil && a.Error == "" && a.SeenMs != 0
	got := "not measured"
	switch {
	case measured:
		got = fmt.Sprintf("queued %+.0f ms, webhook %+.0f ms", a.QueuedMs, a.WebhookMs)
	case a != nil && a.Error != "":
		got = a.Error
	}
	add("down alert queued after deadline", fmt.Sprintf("<= %.0f ms", targetAlertMs), got, judge(a != nil, measured && a.QueuedMs <= targetAlertMs))
	return cs
}

func mbText(mb float64, ok bool) string {
	if !ok {
		return "not measured"
	}
	return fmt.Sprintf("%.1f MB", mb)
}

func secText(s float64, ok bool) string {
	if !ok {
		return "not measured"
	}
	return fmt.Sprintf("%.2f s", s)
}

func pctText(p float64, ok bool) string {
	if !ok {
		return "not measured"
	}
	return fmt.Sprintf("%.2f %%", p)
}

func importText(i *importResult) string {
	switch {
	case i == nil:
		return "not run"
	case i.Error != "":
		return i.Error
	}
	return fmt.Sprintf("%.1f s", i.Seconds)
}

func importRSSText(i *importResult) string {
	if i == nil {
		return "not run"
	}
	return fmt.Sprintf("%.0f MB", i.PeakMB)
}

// cpuBound is the server CPU (percent of its one core) from which a rate it did not
// keep is put down to the server's CPU rather than to waiting.
const cpuBound = 85.0

// shortfall says, for a load run that did not keep its rate, how far it got and what
// held it back: the server's one core (CPU time per beat against what the rate allows),
// or, with CPU to spare, waiting (the writer's commits, the disk) or the generator's
// bound on beats in flight. Empty when the rate was kept.
func shortfall(r scaleResult) string {
	l := r.Load
	if l == nil || l.OK == 0 || sustained(l, l.Rate) {
		return ""
	}
	perBeat := r.LoadCPUPct / 100 / l.AchievedPS * 1e6 // server CPU µs per beat
	budget := 1e6 / l.Rate                             // µs a beat the rate allows on one core
	s := fmt.Sprintf("%.0f of %.0f beats/s (%.0f %%), %d dropped by the generator (more than its bound in flight); ",
		l.AchievedPS, l.Rate, l.AchievedPS/l.Rate*100, l.Dropped)
	if r.LoadCPUPct >= cpuBound {
		return s + fmt.Sprintf("the server's one core was %.0f %% busy at %.0f µs of CPU a beat, and the rate allows %.0f µs: CPU-bound", r.LoadCPUPct, perBeat, budget)
	}
	return s + fmt.Sprintf("the server's core was only %.0f %% busy (%.0f µs a beat): beats waited, not computed (commits, disk, locks)", r.LoadCPUPct, perBeat)
}

func rateText(l *loadResult) string {
	if l == nil {
		return "not run"
	}
	s := fmt.Sprintf("%.1f/s of %.0f/s for %.0f s, %d dropped, %d errors", l.AchievedPS, l.Rate, l.DurationS, l.Dropped, l.Errors)
	if l.FirstError != "" {
		s += " (first: " + l.FirstError + ")"
	}
	return s
}

func msText(l *loadResult, f func(*loadResult) float64) string {
	if l == nil || l.OK == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.2f ms", f(l))
}

// table renders rows as aligned columns separated by two spaces; the first
// row is the header, underlined.
func table(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		var sb strings.Builder
		for i, c := range r {
			if i > 0 {
				sb.WriteString("  ")
			}
			sb.WriteString(c)
			if i < len(r)-1 {
				sb.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))))
			}
		}
		fmt.Fprintln(w, sb.String())
	}
	for i, r := range rows {
		line(r)
		if i == 0 {
			under := make([]string, len(r))
			for j := range r {
				under[j] = strings.Repeat("-", widths[j])
			}
			line(under)
		}
	}
}

// printScale prints one scale's figures as a table.
func printScale(w io.Writer, r scaleResult) {
	fmt.Fprintf(w, "\n==== %s services, %s (%s) ====\n", humanCount(r.Services), modeText(r.Mode), r.Date)
	fmt.Fprintf(w, "conditions: %s\n", r.Conditions)
	rows := [][]string{{"measure", "value"}}
	add := func(k, v string) { rows = append(rows, []string{k, v}) }
	add("services loaded by", r.DataPath)
	if r.Import != nil {
		v := fmt.Sprintf("%.1f s, peak RSS %.0f MB", r.Import.Seconds, r.Import.PeakMB)
		if r.Import.Error != "" {
			v += " FAILED: " + r.Import.Error
		}
		add("import "+humanCount(r.Services)+" (heartbeat-monitor import)", v)
	}
	if r.BulkSeconds > 0 {
		add("bulk SQL insert", fmt.Sprintf("%.1f s", r.BulkSeconds))
	}
	if r.StartHealthS > 0 {
		add("start-up to /api/health 200", fmt.Sprintf("%.2f s", r.StartHealthS))
	}
	if r.StartStatusS > 0 {
		add("start-up to /api/status?perPage=1 200", fmt.Sprintf("%.2f s (RSS then %.1f MB)", r.StartStatusS, r.RSSStartMB))
	}
	if r.IdleWindowS > 0 {
		add("idle CPU, before any beat", fmt.Sprintf("%.2f %% of a core over %.0f s (RSS %.1f MB)", r.IdleCPUPct, r.IdleWindowS, r.RSSIdleMB))
	}
	if l := r.Load; l != nil {
		add("steady load", fmt.Sprintf("%.0f beats/s open loop for %.0f s over %s services, %d minute boundaries",
			l.Rate, l.DurationS, humanCount(l.Services), l.MinuteMarks))
		add("  sent / ok / dropped / errors", fmt.Sprintf("%d / %d / %d / %d (%.1f/s achieved; %d were a service's first beat of the run)",
			l.Scheduled-l.Dropped, l.OK, l.Dropped, l.Errors, l.AchievedPS, l.FirstBeats))
		if l.FirstError != "" {
			add("  first error", l.FirstError)
		}
		add("  latency p50 / p99 / max", fmt.Sprintf("%.2f / %.2f / %.2f ms (the slowest due at +%.1f s)", l.P50Ms, l.P99Ms, l.MaxMs, l.MaxAtS))
		add("  max near minute boundaries (-1 s..+5 s)", fmt.Sprintf("%.2f ms; p99 away from them %.2f ms", l.BoundaryMaxMs, l.OffBoundaryP99Ms))
		if len(l.Kinds) > 0 {
			add("  requests by kind (acknowledged)", kindsText(l))
		}
		if l.FireAtS > 0 {
			add("  around the */5 fire time (-1 s..+5 s)", fmt.Sprintf("at +%.1f s into the load: p99 %.2f ms, max %.2f ms", l.FireAtS, l.FireP99Ms, l.FireMaxMs))
		}
		add("  server CPU under load", fmt.Sprintf("%.1f %% of a core", r.LoadCPUPct))
		if l.AchievedPS > 0 && r.LoadCPUPct > 0 {
			add("  server CPU per request", fmt.Sprintf("%.0f µs", r.LoadCPUPct/100/l.AchievedPS*1e6))
		}
		if why := shortfall(r); why != "" {
			add("  how far it got, and why", why)
		}
		add("  RSS under load (peak sampled)", fmt.Sprintf("%.1f MB", r.RSSLoadMB))
	}
	if f := r.After; f != nil {
		add("fleet just after the load", fmt.Sprintf("%d up, %d late, %d down, %d unknown", f.Up, f.Late, f.Down, f.Unknown))
	}
	if r.IdleAfterCPUPct > 0 {
		add("idle CPU, after the load", fmt.Sprintf("%.2f %% of a core (deadlines of the beaten services pending)", r.IdleAfterCPUPct))
	}
	if r.HWMMB > 0 {
		add("VmHWM (peak RSS of the server)", fmt.Sprintf("%.1f MB", r.HWMMB))
	}
	if r.StatusMs > 0 {
		add("GET /api/status (all services)", fmt.Sprintf("%.1f ms median, %s, %d services listed", r.StatusMs, humanBytes(r.StatusBytes), r.StatusResults))
	}
	if r.OverviewMs > 0 {
		add("GET / overview (logged in)", fmt.Sprintf("%.1f ms median, %s", r.OverviewMs, humanBytes(r.OverviewB)))
	}
	if a := r.Alert; a != nil {
		v := fmt.Sprintf("probe created at +%.1f s into the load, threshold %d s: row queued %+.0f ms, seen by poll %+.0f ms, webhook %+.0f ms after the deadline",
			a.StartS, a.ThresholdS, a.QueuedMs, a.SeenMs, a.WebhookMs)
		if a.Error != "" {
			v = "FAILED: " + a.Error
		}
		add("down alert", v)
	}
	if r.StopS > 0 {
		add("graceful stop", fmt.Sprintf("%.2f s", r.StopS))
	}
	for _, s := range r.Stages {
		if s.Error != "" {
			add("error in "+s.Name, s.Error)
		}
	}
	if r.StoppedAt != "" {
		add("STOPPED at", r.StoppedAt)
	}
	table(w, rows)
}

// printSummary prints every scale's targets with PASS or MISS.
func printSummary(w io.Writer, results []scaleResult) {
	rows := [][]string{{"scale", "target", "wanted", "measured", "result"}}
	var passed, missed int
	for _, r := range results {
		for _, c := range checks(r) {
			rows = append(rows, []string{scaleLabel(r), c.What, c.Target, c.Got, string(c.Result)})
			switch c.Result {
			case pass:
				passed++
			case miss:
				missed++
			}
		}
		if r.StoppedAt != "" {
			rows = append(rows, []string{scaleLabel(r), "run stopped", "", r.StoppedAt, string(miss)})
			missed++
		}
	}
	fmt.Fprintln(w, "\n==== summary: issue 9 targets ====")
	table(w, rows)
	fmt.Fprintf(w, "%d PASS, %d MISS\n", passed, missed)
}

// humanCount writes 10000 as 10k and 1000000 as 1M.
func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return itoa(n/1000) + "k"
	}
	return itoa(n)
}

// humanBytes writes a size in B, KB or MB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// readResults loads scale results saved as JSON.
func readResults(paths []string) ([]scaleResult, error) {
	var out []scaleResult
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("scalebench: summary: %w", err)
		}
		var r scaleResult
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("scalebench: summary: %s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// modeText describes a run's mode for its table's heading.
func modeText(mode string) string {
	if mode == "cron" {
		return "cron jobs pinged in Healthchecks' dialect"
	}
	return "POST /api/heartbeat"
}

// scaleLabel is a run's scale in the summary, with its mode when not plain.
func scaleLabel(r scaleResult) string {
	if r.Mode == "cron" {
		return humanCount(r.Services) + " cron"
	}
	return humanCount(r.Services)
}

// kindsText is the mix of a load's acknowledged requests, in a fixed order.
func kindsText(l *loadResult) string {
	var parts []string
	for k := kindHeartbeat; k <= kindSlug; k++ {
		if n := l.Kinds[k.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	s := strings.Join(parts, ", ")
	if l.FinishDelayS > 0 {
		s += fmt.Sprintf(" (each finish %.1f s after its start, same rid)", l.FinishDelayS)
	}
	return s
}
