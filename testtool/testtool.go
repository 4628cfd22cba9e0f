// Package testtool holds the one rule the tests follow for outside tools (Chromium,
// Python, Node): under CI=true a missing tool fails the test, elsewhere it skips it,
// saying so. CI runners set CI=true and .ci/run installs every tool the tests need, so a
// missing one there is a broken machine, not a reason to print ok.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether a missing tool fails the test instead of skipping it.
func Strict() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Need returns the path of the first of names found on PATH; when none is, the test
// fails under CI=true and is skipped elsewhere.
func Need(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, "none of %v is installed (.ci/run installs it)", names)
	return ""
}

// NeedPython returns python3 when it is 3.11 or newer, the oldest with tomllib and the
// oldest the client scripts are tested with.
func NeedPython(t testing.TB) string {
	t.Helper()
	p := Need(t, "python3")
	if err := exec.Command(p, "-c", "import sys; sys.exit(sys.version_info < (3, 11))").Run(); err != nil {
		Missing(t, "%s is older than 3.11 (.ci/run installs a newer one): %v", p, err)
	}
	return p
}

// Missing fails the test under CI=true and skips it elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf("SKIP: "+format, args...)
}
