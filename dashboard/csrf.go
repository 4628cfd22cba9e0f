package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Forms are protected three ways: the session cookie is SameSite=Lax, a POST must come
// from this origin (Origin, else Referer), and it must carry a CSRF token: a short-lived
// HS256 JWT of our own whose subject binds it to the session it was issued for.

const (
	csrfTTL      = 2 * time.Hour
	csrfAudience = "heartbeat-monitor/csrf"
	secretFile   = "dashboard.secret" // in pb_data, created on first start
	secretBytes  = 32
)

// loadSecret reads the server secret from dir, creating it on first start. It is
// the HMAC key of the CSRF tokens; deleting the file invalidates every open form.
func loadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, secretFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw := make([]byte, secretBytes)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("dashboard: make secret: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadSecret(dir) // another process won the race: use its secret
		} else if err != nil {
			return nil, fmt.Errorf("dashboard: create secret: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(raw) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("dashboard: write secret: %w", werr)
		}
		return raw, nil
	} else if err != nil {
		return nil, fmt.Errorf("dashboard: read secret: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < secretBytes {
		return nil, fmt.Errorf("dashboard: %s is not %d hex-encoded bytes; delete it to make a new one", path, secretBytes)
	}
	return key, nil
}

// csrfBinding is what a token is bound to: a hash of the session's auth token, or of
// the pre-login nonce cookie on the login form. The session itself never enters a token.
func csrfBinding(kind, secret string) string {
	sum := sha256.Sum256([]byte(kind + ":" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// newCSRF issues a token bound to binding, valid for csrfTTL from now.
func newCSRF(key []byte, binding string, now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Subject:   binding,
		Audience:  jwt.ClaimStrings{csrfAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(csrfTTL)),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("dashboard: sign csrf token: %w", err)
	}
	return tok, nil
}

// checkCSRF reports whether token is a valid, unexpired token of ours bound to binding.
func checkCSRF(key []byte, token, binding string, now time.Time) bool {
	if token == "" || len(token) > 1024 || binding == "" {
		return false
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(csrfAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(claims.Subject), []byte(binding)) == 1
}

// sameOrigin reports whether a form POST comes from a page of this server. Browsers
// send Origin on every POST; Referer is the fallback. A request with neither is refused:
// it did not come from our form.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	src := r.Header.Get("Origin")
	if src == "null" {
		return false // an opaque origin: a sandboxed frame or a cross-site redirect
	}
	if src == "" {
		src = r.Referer()
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
