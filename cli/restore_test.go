package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreRefusesANonEmptyDir: restore into a directory that holds anything is
// refused (exit 2) without --force, and the directory's database is left as it was.
func TestRestoreRefusesANonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "data.db")
	if err := os.WriteFile(db, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newRestoreCommand(func(string) string { return "" })
	var stderr bytes.Buffer
	code := execute(c, []string{"--from", "file://" + t.TempDir(), "--dir", dir}, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--force") {
		t.Errorf("exit %d, stderr %q; want %d and a hint at --force", code, stderr.String(), exitUsage)
	}
	if b, err := os.ReadFile(db); err != nil || string(b) != "precious" {
		t.Errorf("data.db after a refused restore: %q, %v; want it untouched", b, err)
	}
	// With --force, a replica that holds nothing fails (exit 1) and leaves it too.
	stderr.Reset()
	code = execute(newRestoreCommand(func(string) string { return "" }),
		[]string{"--from", "file://" + t.TempDir(), "--dir", dir, "--force"}, &stderr)
	if code != exitFailed {
		t.Errorf("restore --force from an empty replica: exit %d (%s), want %d", code, stderr.String(), exitFailed)
	}
	if b, err := os.ReadFile(db); err != nil || string(b) != "precious" {
		t.Errorf("data.db after a failed restore: %q, %v; want it untouched", b, err)
	}
}
