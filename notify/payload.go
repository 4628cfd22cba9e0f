package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
)

// Request is an HTTP request a payload builder makes: everything the sender needs,
// nothing it has to decide. The builders (each type's BuildRequest) are pure, so each
// is table-tested without a server.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// jsonRequest is a POST of v as JSON. HTML is not escaped: the receivers read JSON,
// and a message should arrive as the service wrote it.
func jsonRequest(url string, v any) (Request, error) {
	body, err := marshal(v)
	if err != nil {
		return Request{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Request{Method: http.MethodPost, URL: url, Header: h, Body: body}, nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("notify: encode payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// color is the message's colour: red, orange or green, as 0xRRGGBB.
func (m Message) color() int {
	switch m.Severity() {
	case "critical":
		return 0xD92D20
	case "warning":
		return 0xF79009
	}
	if m.Event == "up" || m.Event == EventExternal {
		return 0x12B76A
	}
	return 0x2E90FA
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
