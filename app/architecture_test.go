package app

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// architectureDoc is the table of packages the code must match.
const architectureDoc = "../docs/ARCHITECTURE.md"

// TestArchitectureTable keeps docs/ARCHITECTURE.md true: every package of the module
// has a row, imports only the packages of ours its row lists (test files aside), and
// every row names a package that exists. It also holds the design's fixed rules:
// monitor imports the standard library only, engine no PocketBase, and store nothing of
// PocketBase but dbx.
func TestArchitectureTable(t *testing.T) {
	root := ".."
	module := modulePath(t, root)
	allowed := readArchitectureTable(t, architectureDoc)
	imports := packageImports(t, root)

	for pkg, imps := range imports {
		ours, listed := allowed[pkg]
		if !listed {
			t.Errorf("package %s has no row in %s", pkg, architectureDoc)
			continue
		}
		for _, imp := range imps {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok && !slices.Contains(ours, rel) {
				t.Errorf("%s imports %s, which its row in %s does not allow (allowed: %v)", pkg, rel, architectureDoc, ours)
			}
			first, _, _ := strings.Cut(imp, "/")
			switch {
			case pkg == "monitor" && strings.Contains(first, "."):
				t.Errorf("monitor imports %s: it must use the standard library only", imp)
			case pkg == "engine" && strings.HasPrefix(imp, "github.com/pocketbase/"):
				t.Errorf("engine imports %s: it must stay free of PocketBase", imp)
			case pkg == "store" && strings.HasPrefix(imp, "github.com/pocketbase/") && imp != "github.com/pocketbase/dbx":
				t.Errorf("store imports %s: it must use dbx alone", imp)
			}
		}
	}
	for pkg := range allowed {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("%s has a row for %s, which is not a package", architectureDoc, pkg)
		}
	}
}

// modulePath reads the module path from go.mod.
func modulePath(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(mod)
		}
	}
	t.Fatal("go.mod: no module line")
	return ""
}

// readArchitectureTable reads the rows "| `pkg` | holds | imports |" of the document:
// each package's allowed imports of ours ("(none...)" allows none).
func readArchitectureTable(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		if len(cols) != 3 {
			t.Fatalf("%s: a row needs three columns: %q", path, line)
		}
		name := strings.Trim(strings.TrimSpace(cols[0]), "`")
		name, _, _ = strings.Cut(name, " ") // "`.` (main)"
		name = strings.Trim(name, "`")
		list := []string{}
		if imps := strings.TrimSpace(cols[2]); !strings.HasPrefix(imps, "(none") {
			for _, p := range strings.Split(imps, ",") {
				list = append(list, strings.TrimSpace(p))
			}
		}
		out[name] = list
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no package table", path)
	}
	return out
}

// packageImports parses the Go files under root: each package directory (as a path
// from root, "." for the root) and the imports of its non-test files.
func packageImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "test-output" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil // a package of tests alone (e2e) has a row too
		}
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range file.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if !slices.Contains(out[pkg], p) {
				out[pkg] = append(out[pkg], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
