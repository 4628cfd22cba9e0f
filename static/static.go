// Package static holds the dashboard's assets (vendored htmx, CSS, a little JS), embedded
// in the binary so the dashboard makes no external request.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// HTMX is the vendored htmx build: htmx.org 2.0.11, dist/htmx.min.js of the npm package.
const HTMX = "htmx-2.0.11.min.js"

//go:embed app.css app.js favicon.svg htmx-2.0.11.min.js
var files embed.FS

// FS is the embedded assets, served under /static/.
var FS fs.FS = files

// versions maps an asset name to a short hash of its content, computed once.
var versions = hashAll()

func hashAll() map[string]string {
	v := map[string]string{}
	names, err := fs.Glob(files, "*")
	if err != nil {
		panic(err) // the pattern is constant
	}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		sum := sha256.Sum256(b)
		v[n] = hex.EncodeToString(sum[:6])
	}
	return v
}

// Path is the URL of an asset, with a content hash so browsers may cache it for good.
func Path(name string) string {
	return "/static/" + name + "?v=" + versions[name]
}

// Version is the content hash of an asset, or "" when there is no such asset.
func Version(name string) string { return versions[name] }
