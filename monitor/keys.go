package monitor

import (
	"strings"
	"unicode/utf8"
)

// MinHandSetKeyLen is the fewest characters a key typed by a superuser may have;
// generated keys have 40.
const MinHandSetKeyLen = 16

// KeyTooShort reports whether key is shorter than a superuser may set by hand
// (surrounding spaces do not count: a bearer key is trimmed, so they can never match).
func KeyTooShort(key string) bool {
	return utf8.RuneCountInString(strings.TrimSpace(key)) < MinHandSetKeyLen
}
