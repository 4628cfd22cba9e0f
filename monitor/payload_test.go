package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHeartbeatSingle(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    Beat
		wantErr string
	}{
		{"minimal", `{"serviceId":"web-1"}`, Beat{ServiceID: "web-1", Status: "up"}, ""},
		{"pretty printed, as the original bash client sends",
			"{\n  \"serviceId\": \"web-1\",\n  \"status\": \"up\",\n  \"metadata\": {\n    \"hostname\": \"h1\",\n    \"timestamp\": \"2026-01-01T00:00:00Z\"\n  },\n  \"message\": \"Heartbeat from h1\"\n}\n",
			Beat{ServiceID: "web-1", Status: "up", Message: "Heartbeat from h1", Metadata: []byte(`{"hostname":"h1","timestamp":"2026-01-01T00:00:00Z"}`)}, ""},
		{"status is case-insensitive", `{"serviceId":"a","status":"DeGraded"}`, Beat{ServiceID: "a", Status: "degraded"}, ""},
		{"null fields are absent", `{"serviceId":"a","status":null,"message":null,"metadata":null}`, Beat{ServiceID: "a", Status: "up"}, ""},
		{"token in a single body", `{"serviceId":"a","token":"k"}`, Beat{ServiceID: "a", Token: "k", Status: "up"}, ""},
		{"message of exactly 1000 characters", `{"serviceId":"a","message":"` + strings.Repeat("é", 1000) + `"}`, Beat{ServiceID: "a", Status: "up", Message: strings.Repeat("é", 1000)}, ""},
		{"empty body", ``, Beat{}, "Request body is empty: expected a JSON object"},
		{"not JSON", `serviceId=a`, Beat{}, "Invalid JSON body"},
		{"truncated JSON", `{"serviceId":"a"`, Beat{}, "Invalid JSON body"},
		{"JSON array", `["a"]`, Beat{}, "Request body must be a JSON object"},
		{"JSON string", `"a"`, Beat{}, "Request body must be a JSON object"},
		{"missing serviceId", `{"status":"up"}`, Beat{}, "serviceId is required"},
		{"empty object", `{}`, Beat{}, "serviceId is required"},
		{"serviceId not a string", `{"serviceId":42}`, Beat{}, "Invalid service format"},
		{"serviceId empty", `{"serviceId":""}`, Beat{}, "Invalid service format"},
		{"serviceId with a slash", `{"serviceId":"a/b"}`, Beat{}, "Invalid service format"},
		{"serviceId starting with a dot", `{"serviceId":".a"}`, Beat{}, "Invalid service format"},
		{"serviceId of 101 chars", `{"serviceId":"` + strings.Repeat("a", 101) + `"}`, Beat{}, "Invalid service format"},
		{"unknown status", `{"serviceId":"a","status":"ok"}`, Beat{}, "status must be one of up, down, degraded"},
		{"status not a string", `{"serviceId":"a","status":1}`, Beat{}, "status must be a string"},
		{"message not a string", `{"serviceId":"a","message":{"x":1}}`, Beat{}, "message must be a string"},
		{"message of 1001 characters", `{"serviceId":"a","message":"` + strings.Repeat("x", 1001) + `"}`, Beat{}, "message exceeds 1000 characters"},
		{"metadata an array", `{"serviceId":"a","metadata":[1]}`, Beat{}, "metadata must be a JSON object"},
		{"metadata a string", `{"serviceId":"a","metadata":"x"}`, Beat{}, "metadata must be a JSON object"},
		{"metadata over 8 KiB", `{"serviceId":"a","metadata":{"x":"` + strings.Repeat("x", 8190) + `"}}`, Beat{}, "metadata exceeds 8 KiB (8192 bytes)"},
		{"token not a string", `{"serviceId":"a","token":5}`, Beat{}, "token must be a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := ParseHeartbeat([]byte(c.body))
			if c.wantErr != "" {
				var pe *PayloadError
				if !errors.As(err, &pe) || pe.Msg != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if req.Batch || len(req.Beats) != 1 {
				t.Fatalf("got batch=%v with %d beats, want one single beat", req.Batch, len(req.Beats))
			}
			got := req.Beats[0]
			if got.ServiceID != c.want.ServiceID || got.Status != c.want.Status || got.Message != c.want.Message ||
				got.Token != c.want.Token || string(got.Metadata) != string(c.want.Metadata) {
				t.Errorf("got %+v (metadata %s), want %+v (metadata %s)", got, got.Metadata, c.want, c.want.Metadata)
			}
		})
	}
}

func TestParseHeartbeatMetadataAtLimit(t *testing.T) {
	// {"x":"..."} is 8 bytes of framing: 8184 chars of value make exactly 8192 bytes.
	body := `{"serviceId":"a","metadata":{"x":"` + strings.Repeat("x", 8184) + `"}}`
	req, err := ParseHeartbeat([]byte(body))
	if err != nil {
		t.Fatalf("8192 bytes of metadata refused: %v", err)
	}
	if n := len(req.Beats[0].Metadata); n != 8192 {
		t.Fatalf("metadata is %d bytes, want 8192", n)
	}
}

func TestParseHeartbeatBatch(t *testing.T) {
	body := `{"status":"degraded","message":"from batch","services":[
		"a",
		{"serviceId":"b","token":"kb"},
		{"serviceId":"c","status":"down","metadata":{"cluster":"k3s","status":"not-ready"}},
		42,
		{"token":"x"},
		{"serviceId":"bad id"},
		{"serviceId":"d","status":"sideways"},
		["nested"]
	]}`
	req, err := ParseHeartbeat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !req.Batch || len(req.Beats) != 8 {
		t.Fatalf("batch=%v beats=%d, want a batch of 8", req.Batch, len(req.Beats))
	}
	want := []struct {
		id, status, msg, token, meta, err string
	}{
		{"a", "degraded", "from batch", "", "", ""},
		{"b", "degraded", "from batch", "kb", "", ""},
		{"c", "down", "from batch", "", `{"cluster":"k3s","status":"not-ready"}`, ""},
		{err: ErrInvalidFormat},
		{err: ErrInvalidFormat},
		{err: ErrInvalidFormat},
		{err: "status must be one of up, down, degraded"},
		{err: ErrInvalidFormat},
	}
	for i, w := range want {
		b, e := req.Beats[i], req.EntryErrors[i]
		if e != w.err {
			t.Errorf("entry %d: error %q, want %q", i, e, w.err)
			continue
		}
		if w.err == "" && (b.ServiceID != w.id || b.Status != w.status || b.Message != w.msg || b.Token != w.token || string(b.Metadata) != w.meta) {
			t.Errorf("entry %d: got %+v (metadata %s), want %+v", i, b, b.Metadata, w)
		}
	}
}

func TestParseHeartbeatBatchErrors(t *testing.T) {
	many, _ := json.Marshal(map[string]any{"services": make([]string, MaxBatchEntries+1)})
	cases := map[string]string{
		`{"services":[]}`:                        "services must not be empty",
		`{"services":"a"}`:                       "services must be an array",
		`{"services":{"serviceId":"a"}}`:         "services must be an array",
		`{"services":["a"],"status":"nope"}`:     "status must be one of up, down, degraded",
		`{"services":["a"],"metadata":"nope"}`:   "metadata must be a JSON object",
		string(many):                             "services must have at most 1000 entries",
		`{"serviceId":"a","services":[]}`:        "services must not be empty",
		`{"services":["a"],"message":["a","b"]}`: "message must be a string",
	}
	for body, want := range cases {
		_, err := ParseHeartbeat([]byte(body))
		var pe *PayloadError
		if !errors.As(err, &pe) || pe.Msg != want {
			name := body
			if len(name) > 60 {
				name = name[:60]
			}
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}

func TestParseHeartbeatNormalisesText(t *testing.T) {
	const bad = "\uFFFD"
	cases := []struct {
		name, body, msg, meta string
	}{
		{"invalid UTF-8 in the message", "{\"serviceId\":\"a\",\"message\":\"ok\xff\xfe!\"}", "ok" + bad + bad + "!", ""},
		{"raw NUL in the message", "{\"serviceId\":\"a\",\"message\":\"a\x00b\"}", "a" + bad + "b", ""},
		{"escaped NUL in the message", `{"serviceId":"a","message":"a\u0000b"}`, "a" + bad + "b", ""},
		{"lone surrogate in the message", `{"serviceId":"a","message":"x\ud800"}`, "x" + bad, ""},
		{"invalid UTF-8 in a metadata value", "{\"serviceId\":\"a\",\"metadata\":{\"k\":\"v\xc3\"}}", "", `{"k":"v` + bad + `"}`},
		{"invalid UTF-8 in a metadata key", "{\"serviceId\":\"a\",\"metadata\":{\"\xffk\":1}}", "", `{"` + bad + `k":1}`},
		{"raw NUL in metadata", "{\"serviceId\":\"a\",\"metadata\":{\"k\x00\":\"\x00v\"}}", "", `{"k` + bad + `":"` + bad + `v"}`},
		{"escaped NUL in metadata, nested", `{"serviceId":"a","metadata":{"a":[{"b\u0000":"\u0000"}],"n":1.50}}`, "", `{"a":[{"b` + bad + `":"` + bad + `"}],"n":1.50}`},
		{"an escaped backslash before u0000 is text", `{"serviceId":"a","metadata":{"p":"C:\\u0000"}}`, "", `{"p":"C:\\u0000"}`},
		{"other escapes keep their meaning", `{"serviceId":"a","metadata":{"h":"\u003cb\u003e \u00e9 \ud83d\ude00 \"q\""}}`, "", `{"h":"<b> é 😀 \"q\""}`},
		{"valid text is kept byte for byte", `{"serviceId":"a","message":"été ✓","metadata":{"k":"été","e":"\n"}}`, "été ✓", `{"k":"été","e":"\n"}`},
		{"batch defaults and entries alike", "{\"message\":\"m\x00\",\"services\":[{\"serviceId\":\"a\",\"metadata\":{\"x\":\"\xff\"}}]}", "m" + bad, `{"x":"` + bad + `"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := ParseHeartbeat([]byte(c.body))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			b := req.Beats[0]
			if b.Message != c.msg || string(b.Metadata) != c.meta {
				t.Errorf("got message %q metadata %q, want %q %q", b.Message, b.Metadata, c.msg, c.meta)
			}
		})
	}
}

func TestParseHeartbeatMetadataLimitAfterNormalising(t *testing.T) {
	// 8184 bytes of value make exactly 8192 bytes of metadata; one invalid byte among
	// them becomes the three bytes of U+FFFD, and what would be stored is over the limit.
	body := `{"serviceId":"a","metadata":{"x":"` + strings.Repeat("x", 8183) + "\xff" + `"}}`
	if _, err := ParseHeartbeat([]byte(body)); err == nil || err.Error() != "metadata exceeds 8 KiB (8192 bytes)" {
		t.Fatalf("err = %v, want the 8 KiB limit applied to the normalised metadata", err)
	}
	body = `{"serviceId":"a","metadata":{"x":"` + strings.Repeat("x", 8181) + "\xff" + `"}}`
	req, err := ParseHeartbeat([]byte(body))
	if err != nil || len(req.Beats[0].Metadata) != MaxMetadataBytes {
		t.Fatalf("err = %v, want exactly 8192 normalised bytes accepted", err)
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"plain":          "plain",
		"\x00":           "\uFFFD",
		"a\xffb":         "a\uFFFDb",
		"\xe2\x82":       "\uFFFD\uFFFD",
		"ok \uFFFD kept": "ok \uFFFD kept",
		"é\x00\xc3\x00é": "é\uFFFD\uFFFD\uFFFDé",
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidServiceID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "A9": true, "svc.prod_1-a": true, strings.Repeat("z", 100): true,
		"": false, "-a": false, "_a": false, ".a": false, "a b": false, "a/b": false, "ü": false,
		strings.Repeat("z", 101): false, "a\n": false,
	} {
		if got := ValidServiceID(id); got != want {
			t.Errorf("ValidServiceID(%q) = %v, want %v", id, got, want)
		}
	}
}

// FuzzParseHeartbeat checks that no body makes the decoder panic, and that whatever it
// accepts respects the limits the store relies on. The seed corpus runs in `make test`.
func FuzzParseHeartbeat(f *testing.F) {
	for _, s := range []string{
		`{"serviceId":"web-1"}`,
		`{"serviceId":"web-1","status":"down","message":"disk full","metadata":{"host":"h"}}`,
		`{"services":["a","b"]}`,
		`{"services":[{"serviceId":"a","token":"k1"},{"serviceId":"b"}]}`,
		`{"services":[{"serviceId":"n1","metadata":{"status":"not-ready"}}],"status":"up"}`,
		`{"services":[1,null,{},[]]}`,
		`[]`, `null`, `{"serviceId":null}`, `{"metadata":{"a":[1,2,{"b":null}]},"serviceId":"x"}`,
		"{\"serviceId\":\"\xff\xfe\"}", `{"serviceId":"a","message":"\u0000"}`,
		"{\"serviceId\":\"a\",\"message\":\"\x00\xff\",\"metadata\":{\"\x00\":\"\xfe\\u0000\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseHeartbeat(body)
		if err != nil {
			var pe *PayloadError
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("error %v is not a PayloadError with a message", err)
			}
			return
		}
		if len(req.Beats) == 0 || len(req.Beats) > MaxBatchEntries {
			t.Fatalf("accepted %d beats", len(req.Beats))
		}
		for i, b := range req.Beats {
			if req.Batch && req.EntryErrors[i] != "" {
				continue
			}
			if !ValidServiceID(b.ServiceID) {
				t.Fatalf("accepted serviceId %q", b.ServiceID)
			}
			if b.Status != "up" && b.Status != "down" && b.Status != "degraded" {
				t.Fatalf("accepted status %q", b.Status)
			}
			if len([]rune(b.Message)) > MaxMessageChars || len(b.Metadata) > MaxMetadataBytes {
				t.Fatalf("accepted an oversized beat")
			}
			if b.Metadata != nil && !json.Valid(b.Metadata) {
				t.Fatalf("metadata %q is not valid JSON", b.Metadata)
			}
			if !utf8.ValidString(b.Message) || strings.ContainsRune(b.Message, 0) ||
				!utf8.Valid(b.Metadata) || bytes.IndexByte(b.Metadata, 0) >= 0 || jsonHasNUL(b.Metadata) {
				t.Fatalf("accepted text with a NUL or invalid UTF-8: message %q metadata %q", b.Message, b.Metadata)
			}
		}
	})
}

// jsonHasNUL reports whether a key or string value of js decodes to text with a NUL.
func jsonHasNUL(js []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(js))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}
