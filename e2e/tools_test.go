package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// strictTools reports whether a missing tool fails the test instead of skipping it: CI
// runners set CI=true, and .ci/run installs every tool the tests need, so a missing
// one there is a broken machine, not a reason to print ok.
func strictTools() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// needTool returns the path of the first of names found on PATH. When none is, the
// test fails under CI=true and is skipped, saying so, elsewhere.
func needTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	missingTool(t, "%v is not installed (.ci/run installs it)", names)
	return ""
}

// needPython returns python3 when it is 3.11 or newer, the oldest with tomllib and the
// oldest the client scripts are tested with.
func needPython(t *testing.T) string {
	t.Helper()
	p := needTool(t, "python3")
	if err := exec.Command(p, "-c", "import sys; sys.exit(sys.version_info < (3, 11))").Run(); err != nil {
		missingTool(t, "%s is older than 3.11 (.ci/run installs a newer one): %v", p, err)
	}
	return p
}

// missingTool fails the test under CI=true and skips it elsewhere.
func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	if strictTools() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf("SKIP: "+format, args...)
}
