package app

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
	if strictTools() {
		t.Fatalf("CI=true: none of %v is installed (.ci/run installs it)", names)
	}
	t.Skipf("SKIP: none of %v is installed (.ci/run installs it)", names)
	return ""
}
