package monitor

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits of the heartbeat payload. They bound what one beat can cost to store and show.
const (
	MaxBodyBytes     = 64 << 10
	MaxMessageChars  = 1000
	MaxMetadataBytes = 8 << 10
	MaxBatchEntries  = 1000
	MaxServiceIDLen  = 100
)

// Per-entry errors of a batch, worded as the seed contract has them.
const (
	ErrUnknownService = "Unknown serviceId"
	ErrInvalidKey     = "Invalid API key"
	ErrInvalidFormat  = "Invalid service format"
)

// Beat is one validated heartbeat as a client sent it.
type Beat struct {
	ServiceID string
	Token     string // per-entry key of a batch entry; empty means use the header key
	Status    string // up, down or degraded
	Message   string
	Metadata  []byte // a compact JSON object, or nil
}

// Request is a parsed heartbeat body: one beat, or a batch whose entries either parsed
// into Beats[i] or failed with EntryErrors[i].
type Request struct {
	Batch       bool
	Beats       []Beat
	EntryErrors []string
}

// PayloadError is a body the server refuses as a whole (a 400 with Msg).
type PayloadError struct{ Msg string }

func (e *PayloadError) Error() string { return e.Msg }

func payloadErr(msg string) error { return &PayloadError{Msg: msg} }

type rawBeat struct {
	ServiceID json.RawMessage `json:"serviceId"`
	Token     json.RawMessage `json:"token"`
	Status    json.RawMessage `json:"status"`
	Message   json.RawMessage `json:"message"`
	Metadata  json.RawMessage `json:"metadata"`
	Services  json.RawMessage `json:"services"`
}

// ParseHeartbeat decodes and validates a heartbeat body, single or batch. Any error it
// returns is a *PayloadError whose message can be shown to the client.
//
// Odd bytes never cost a beat: text is normalised as CleanText says, in the message and
// in the metadata's keys and values alike. A raw NUL byte is not valid inside JSON, so it
// is replaced before the body is parsed; a \u0000 escape and invalid UTF-8 are replaced
// as each string is read.
func ParseHeartbeat(body []byte) (Request, error) {
	body = bytes.TrimSpace(body)
	if bytes.IndexByte(body, 0) >= 0 {
		body = bytes.ReplaceAll(body, []byte{0}, []byte(string(utf8.RuneError)))
	}
	if len(body) == 0 {
		return Request{}, payloadErr("Request body is empty: expected a JSON object")
	}
	if body[0] != '{' {
		if !json.Valid(body) {
			return Request{}, payloadErr("Invalid JSON body")
		}
		return Request{}, payloadErr("Request body must be a JSON object")
	}
	var raw rawBeat
	if err := json.Unmarshal(body, &raw); err != nil {
		return Request{}, payloadErr("Invalid JSON body")
	}
	if !isNull(raw.Services) {
		return parseBatch(raw)
	}
	if isNull(raw.ServiceID) {
		return Request{}, payloadErr("serviceId is required")
	}
	b, err := parseBeat(raw, Beat{Status: string(Up)})
	if err != nil {
		return Request{}, err
	}
	return Request{Beats: []Beat{b}}, nil
}

func parseBatch(raw rawBeat) (Request, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw.Services, &entries); err != nil {
		return Request{}, payloadErr("services must be an array")
	}
	switch {
	case len(entries) == 0:
		return Request{}, payloadErr("services must not be empty")
	case len(entries) > MaxBatchEntries:
		return Request{}, payloadErr("services must have at most 1000 entries")
	}
	// Top-level status, message and metadata are defaults for every entry.
	defaults, err := parseBeat(rawBeat{Status: raw.Status, Message: raw.Message, Metadata: raw.Metadata}, Beat{Status: string(Up)})
	if err != nil {
		return Request{}, err
	}
	req := Request{Batch: true, Beats: make([]Beat, len(entries)), EntryErrors: make([]string, len(entries))}
	for i, e := range entries {
		e = bytes.TrimSpace(e)
		var entry rawBeat
		switch {
		case len(e) > 0 && e[0] == '"':
			entry.ServiceID = e
		case len(e) > 0 && e[0] == '{':
			if json.Unmarshal(e, &entry) != nil || !isNull(entry.Services) {
				req.EntryErrors[i] = ErrInvalidFormat
				continue
			}
		default:
			req.EntryErrors[i] = ErrInvalidFormat
			continue
		}
		b, err := parseBeat(entry, defaults)
		switch {
		case err != nil:
			req.EntryErrors[i] = err.Error()
			continue
		case b.ServiceID == "":
			req.EntryErrors[i] = ErrInvalidFormat
			continue
		}
		req.Beats[i] = b
	}
	return req, nil
}

// parseBeat validates the fields of one beat; fields it lacks come from def.
func parseBeat(raw rawBeat, def Beat) (Beat, error) {
	b := def
	if !isNull(raw.ServiceID) {
		if json.Unmarshal(raw.ServiceID, &b.ServiceID) != nil || !ValidServiceID(b.ServiceID) {
			return Beat{}, payloadErr(ErrInvalidFormat)
		}
	}
	if !isNull(raw.Token) {
		if json.Unmarshal(raw.Token, &b.Token) != nil {
			return Beat{}, payloadErr("token must be a string")
		}
	}
	if !isNull(raw.Status) {
		var s string
		if json.Unmarshal(raw.Status, &s) != nil {
			return Beat{}, payloadErr("status must be a string")
		}
		s = strings.ToLower(strings.TrimSpace(s))
		switch Status(s) {
		case Up, Down, Degraded:
			b.Status = s
		default:
			return Beat{}, payloadErr("status must be one of up, down, degraded")
		}
	}
	if !isNull(raw.Message) {
		if json.Unmarshal(raw.Message, &b.Message) != nil {
			return Beat{}, payloadErr("message must be a string")
		}
		b.Message = CleanText(b.Message)
		if utf8.RuneCountInString(b.Message) > MaxMessageChars {
			return Beat{}, payloadErr("message exceeds 1000 characters")
		}
	}
	if !isNull(raw.Metadata) {
		m := bytes.TrimSpace(raw.Metadata)
		if m[0] != '{' {
			return Beat{}, payloadErr("metadata must be a JSON object")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, m); err != nil {
			return Beat{}, payloadErr("metadata must be a JSON object")
		}
		// The limit applies to what is stored, so it is checked after normalising.
		meta := cleanJSON(buf.Bytes())
		if len(meta) > MaxMetadataBytes {
			return Beat{}, payloadErr("metadata exceeds 8 KiB (8192 bytes)")
		}
		b.Metadata = meta
	}
	return b, nil
}

// CleanText is s with every NUL character and every byte that is not part of valid UTF-8
// replaced by U+FFFD, one for each, as encoding/json reads invalid bytes. Stored text and
// the pages that show it hold no NUL and no invalid UTF-8: browsers, SQLite tools and
// shell clients all cope badly with them.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// cleanJSON normalises every string (keys and values) of compact, valid JSON with
// CleanText. A string holding invalid UTF-8 or a \u escape is decoded and encoded again:
// decoding replaces invalid bytes and lone surrogates with U+FFFD, CleanText the NULs.
// Other strings, numbers and the layout are kept byte for byte.
func cleanJSON(js []byte) []byte {
	if utf8.Valid(js) && !bytes.Contains(js, []byte(`\u`)) {
		return js
	}
	out := make([]byte, 0, len(js)+16)
	for i := 0; i < len(js); {
		if js[i] != '"' {
			out = append(out, js[i])
			i++
			continue
		}
		end := i + 1
		for js[end] != '"' {
			if js[end] == '\\' {
				end++
			}
			end++
		}
		tok := js[i : end+1]
		i = end + 1
		var s string
		if (utf8.Valid(tok) && !bytes.Contains(tok, []byte(`\u`))) || json.Unmarshal(tok, &s) != nil {
			out = append(out, tok...)
			continue
		}
		out = appendJSONString(out, CleanText(s))
	}
	return out
}

// appendJSONString appends s as a JSON string, leaving <, > and & as they are.
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) != nil { // a Go string always encodes
		return append(dst, `""`...)
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

func isNull(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) == 0 || string(r) == "null"
}

// ValidServiceID reports whether id is 1-100 chars of [A-Za-z0-9._-] starting alphanumeric.
func ValidServiceID(id string) bool {
	if len(id) == 0 || len(id) > MaxServiceIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}
