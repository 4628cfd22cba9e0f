package replicate

import (
	"strings"
	"testing"
)

// TestNewClientRefusesBadURLs: a replica URL of the wrong shape is refused before
// anything starts, and the error never shows the credentials the URL carried.
func TestNewClientRefusesBadURLs(t *testing.T) {
	env := func(string) string { return "" }
	for _, u := range []string{
		"ftp://host/path",
		"file://host/relative",
		"s3:///no-bucket",
		"backups/here",
		"s3",
	} {
		if _, err := NewClient(u, "", env); err == nil {
			t.Errorf("%q: accepted", u)
		}
	}
	_, err := NewClient("file://AKIDSECRET:topsecret@host/x", "", env)
	if err == nil || strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "AKIDSECRET") {
		t.Errorf("error %v: want a refusal without the credentials", err)
	}
	if _, err := NewClient("/var/lib/replica", "", env); err != nil {
		t.Errorf("a plain absolute path: %v", err)
	}
	if _, err := NewClient("s3://bucket/monitor", "http://127.0.0.1:9000", env); err != nil {
		t.Errorf("an s3 URL with an endpoint: %v", err)
	}
}

// TestRedact: user information and the query (where credentials go) are left out.
func TestRedact(t *testing.T) {
	got := Redact("s3://KEY:SECRET@bucket/path?endpoint=http://x&secret-access-key=S")
	if got != "s3://bucket/path" {
		t.Errorf("Redact: %q", got)
	}
}
