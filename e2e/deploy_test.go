package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/testtool"
)

// Docker cannot run on the machines the tests run on, so the deployment files are
// checked the way Docker and flyctl would read them: the Dockerfile parsed into
// instructions, fly.toml parsed as TOML, and the paths they share compared.

const dataDir = "/pb_data"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line    int
	keyword string // upper case
	args    string
}

var dockerKeywords = []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
	"LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

// parseDockerfile splits a Dockerfile into instructions as Docker's parser does: parser
// directives and comments dropped, lines ending in a backslash joined with the next.
func parseDockerfile(text string) ([]instruction, error) {
	var out []instruction
	var cur *instruction
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue // comments and empty lines may sit inside a continued instruction, too
		}
		cont := strings.HasSuffix(trimmed, `\`)
		part := strings.TrimSuffix(trimmed, `\`)
		if cur == nil {
			kw, args, _ := strings.Cut(part, " ")
			cur = &instruction{line: i + 1, keyword: strings.ToUpper(kw), args: strings.TrimSpace(args)}
			if !slices.Contains(dockerKeywords, cur.keyword) {
				return nil, fmt.Errorf("line %d: unknown instruction %q", i+1, kw)
			}
		} else {
			cur.args += " " + strings.TrimSpace(part)
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: %s ends in a continuation", cur.line, cur.keyword)
	}
	return out, nil
}

// execForm returns the arguments of a JSON-array instruction. Docker silently runs an
// invalid array as a shell command, so an argument that looks like an array must be one.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	if !strings.HasPrefix(in.args, "[") {
		t.Errorf("line %d: %s %s: want the exec (JSON array) form", in.line, in.keyword, in.args)
		return strings.Fields(in.args)
	}
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
		t.Errorf("line %d: %s %s is not a JSON array of strings: %v", in.line, in.keyword, in.args, err)
	}
	return argv
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := parseDockerfile(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	// Split into stages, each starting with FROM.
	var stages [][]instruction
	stageNames := map[string]bool{}
	for _, in := range ins {
		if in.keyword == "FROM" {
			stages = append(stages, nil)
			f := strings.Fields(in.args)
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stageNames[f[2]] = true
			}
		}
		if len(stages) == 0 {
			if in.keyword != "ARG" {
				t.Fatalf("line %d: %s before the first FROM", in.line, in.keyword)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		t.Fatalf("stages: got %d, want a builder and a runtime stage", len(stages))
	}
	builder, runtime := stages[0], stages[len(stages)-1]
	if from := builder[0].args; !strings.HasPrefix(from, "golang:1.27") {
		t.Errorf("builder: FROM %s, want golang:1.27", from)
	}
	if from := runtime[0].args; strings.HasPrefix(from, "golang") {
		t.Errorf("runtime: FROM %s, want a small image, not the Go toolchain", from)
	}
	var buildRun string
	for _, in := range builder {
		if in.keyword == "RUN" && strings.Contains(in.args, "go build") {
			buildRun = in.args
		}
	}
	if !strings.Contains(buildRun, "CGO_ENABLED=0") {
		t.Errorf("builder: go build %q, want CGO_ENABLED=0 (a static binary for the runtime image)", buildRun)
	}

	last := map[string]instruction{}
	var volumes, exposed []string
	for _, in := range runtime {
		last[in.keyword] = in
		switch in.keyword {
		case "COPY":
			for _, f := range strings.Fields(in.args) {
				if from, ok := strings.CutPrefix(f, "--from="); ok && !stageNames[from] {
					t.Errorf("line %d: COPY --from=%s names no stage", in.line, from)
				}
			}
		case "VOLUME":
			volumes = append(volumes, execForm(t, in)...)
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		}
	}
	user := strings.Split(last["USER"].args, ":")[0]
	if user == "" || user == "root" || user == "0" {
		t.Errorf("runtime USER %q: want a non-root user", last["USER"].args)
	}
	if !slices.Contains(volumes, dataDir) {
		t.Errorf("VOLUME %v: want %s", volumes, dataDir)
	}
	if !slices.Contains(exposed, "8090") {
		t.Errorf("EXPOSE %v: want 8090", exposed)
	}
	if hc := last["HEALTHCHECK"].args; !strings.Contains(hc, "http://127.0.0.1:8090/api/health") {
		t.Errorf("HEALTHCHECK %q: want a check of /api/health on 8090", hc)
	}
	argv := append(execForm(t, last["ENTRYPOINT"]), execForm(t, last["CMD"])...)
	cmdline := strings.Join(argv, " ")
	for _, want := range []string{"heartbeat-monitor serve", "--http 0.0.0.0:8090", "--dir " + dataDir} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("ENTRYPOINT + CMD %q: want %q", cmdline, want)
		}
	}

	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "pb_data", "bin"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore: want %s kept out of the build context", want)
		}
	}
}

func TestParseDockerfileRejects(t *testing.T) {
	for _, bad := range []string{"FROM alpine\nRUNN true\n", "FROM alpine\nRUN true \\\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("parseDockerfile(%q): got no error", bad)
		}
	}
}

// flyConfig is the part of fly.toml the tests check.
type flyConfig struct {
	App   string `json:"app"`
	Build struct {
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Mounts      json.RawMessage `json:"mounts"` // a table or an array of tables
	HTTPService struct {
		InternalPort       int  `json:"internal_port"`
		ForceHTTPS         bool `json:"force_https"`
		AutoStopMachines   any  `json:"auto_stop_machines"`
		MinMachinesRunning int  `json:"min_machines_running"`
		Checks             []struct {
			Path   string `json:"path"`
			Method string `json:"method"`
		} `json:"checks"`
	} `json:"http_service"`
}

func TestFlyToml(t *testing.T) {
	python := testtool.NeedPython(t) // its tomllib parses TOML here
	out, err := exec.Command(python, "-c", `
import json, sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(json.dumps(tomllib.load(f)))
`, filepath.Join(repoRoot, "fly.toml")).Output()
	if err != nil {
		t.Fatalf("fly.toml does not parse as TOML: %v", err)
	}
	var cfg flyConfig
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var mounts []struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	}
	if err := json.Unmarshal(cfg.Mounts, &mounts); err != nil {
		mounts = mounts[:0]
		var one struct {
			Source      string `json:"source"`
			Destination string `json:"destination"`
		}
		if err := json.Unmarshal(cfg.Mounts, &one); err != nil {
			t.Fatalf("mounts: %s", cfg.Mounts)
		}
		mounts = append(mounts, one)
	}
	if len(mounts) != 1 || mounts[0].Destination != dataDir || mounts[0].Source == "" {
		t.Errorf("mounts: got %+v, want one volume at the Dockerfile's data dir %s", mounts, dataDir)
	}
	h := cfg.HTTPService
	if h.InternalPort != 8090 || !h.ForceHTTPS || h.MinMachinesRunning < 1 {
		t.Errorf("http_service: got port %d force_https %t min_machines_running %d, want 8090, true, >= 1",
			h.InternalPort, h.ForceHTTPS, h.MinMachinesRunning)
	}
	if h.AutoStopMachines != "off" && h.AutoStopMachines != false {
		t.Errorf("auto_stop_machines: got %v, want \"off\": the staleness check must keep running", h.AutoStopMachines)
	}
	if len(h.Checks) == 0 || h.Checks[0].Path != "/api/health" {
		t.Errorf("http_service.checks: got %+v, want a check of /api/health", h.Checks)
	}
	if cfg.Build.Dockerfile != "Dockerfile" || cfg.App == "" {
		t.Errorf("app %q build.dockerfile %q", cfg.App, cfg.Build.Dockerfile)
	}
}

// TestReadmeDeploySections keeps the README's deployment steps complete.
func TestReadmeDeploySections(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	sections := map[string][]string{
		"## Deploy to Fly.io": {"fly auth login", "fly apps create", "fly volumes create pb_data", "fly secrets set",
			"fly deploy --ha=false", "fly ssh console", "superuser upsert", "--dir /pb_data"},
		"## Run the binary":                  {"CGO_ENABLED=0", "[Service]", "--dir", "--https", "reverse proxy"},
		"## Clients":                         {"clients/heartbeat.sh", "clients/heartbeat.py", "clients/heartbeat.js", "heartbeat-monitor run", "heartbeat-monitor ping"},
		"## Import from the original worker": {"heartbeat-monitor import", "--keys", "--dryRun"},
	}
	for heading, wants := range sections {
		at := strings.Index(readme, heading+"\n")
		if at < 0 {
			t.Errorf("README: no %q section", heading)
			continue
		}
		body := readme[at+len(heading):]
		if end := strings.Index(body, "\n## "); end >= 0 {
			body = body[:end]
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("README %s: missing %q", heading, w)
			}
		}
	}
}
