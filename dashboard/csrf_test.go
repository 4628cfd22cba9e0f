package dashboard

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	first, err := loadSecret(dir)
	if err != nil || len(first) != secretBytes {
		t.Fatalf("first start: got %d bytes, %v", len(first), err)
	}
	fi, err := os.Stat(filepath.Join(dir, secretFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", fi, err)
	}
	again, err := loadSecret(dir)
	if err != nil || !bytes.Equal(first, again) {
		t.Errorf("restart: got a different secret (%v): open forms would all fail", err)
	}
	if err := os.WriteFile(filepath.Join(dir, secretFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSecret(dir); err == nil {
		t.Error("a damaged secret file must stop the start, not be used")
	}
}

func TestCSRFToken(t *testing.T) {
	key := bytes.Repeat([]byte{7}, secretBytes)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	bind := csrfBinding("session", "token-a")
	tok, err := newCSRF(key, bind, now)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: bind, Audience: jwt.ClaimStrings{csrfAudience},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		key   []byte
		token string
		bind  string
		at    time.Time
		want  bool
	}{
		{"valid", key, tok, bind, now.Add(time.Minute), true},
		{"another session", key, tok, csrfBinding("session", "token-b"), now, false},
		{"the login form's binding is not a session's", key, tok, csrfBinding("login", "token-a"), now, false},
		{"expired", key, tok, bind, now.Add(csrfTTL + time.Second), false},
		{"issued in the future", key, tok, bind, now.Add(-time.Hour), false},
		{"another key", bytes.Repeat([]byte{8}, secretBytes), tok, bind, now, false},
		{"alg none", key, none, bind, now, false},
		{"empty", key, "", bind, now, false},
	}
	for _, c := range cases {
		if got := checkCSRF(c.key, c.token, c.bind, c.at); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		headers map[string]string
		want    bool
	}{
		{map[string]string{"Origin": "http://example.com"}, true},
		{map[string]string{"Origin": "https://EXAMPLE.com"}, true}, // behind a TLS proxy the scheme differs
		{map[string]string{"Origin": "http://example.com:8080"}, false},
		{map[string]string{"Origin": "http://evil.example"}, false},
		{map[string]string{"Origin": "null", "Referer": "http://example.com/login"}, false},
		{map[string]string{"Referer": "http://example.com/login?next=/"}, true},
		{map[string]string{"Referer": "http://example.com.evil.example/"}, false},
		{map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-site"}, false},
		{map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, true},
		{map[string]string{}, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "http://example.com/login", nil)
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
		if got := sameOrigin(r); got != c.want {
			t.Errorf("%v: got %v, want %v", c.headers, got, c.want)
		}
	}
}
