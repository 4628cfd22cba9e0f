package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEveryTypeHasPayloadTest: every registered type's payload builder has a case in
// the payload tests, so a type added without one fails here.
func TestEveryTypeHasPayloadTest(t *testing.T) {
	tested := map[reflect.Type]bool{reflect.TypeOf(pushoverTest): true, reflect.TypeOf(emailTest): true}
	for _, tt := range payloadTests {
		tested[reflect.TypeOf(tt.settings)] = true
	}
	for _, k := range registry {
		if !tested[reflect.TypeOf(k.New())] {
			t.Errorf("%s: no payload builder test case", k.Name)
		}
	}
}

// TestEveryTypeBuildsOnePayload: each type's settings build an HTTP request or an email,
// exactly one of them, so the sender knows how to deliver it.
func TestEveryTypeBuildsOnePayload(t *testing.T) {
	seen := map[Type]bool{}
	for _, k := range registry {
		if k.Name == "" || strings.ToLower(string(k.Name)) != string(k.Name) || seen[k.Name] {
			t.Errorf("type %q: want a unique lower-case name", k.Name)
		}
		seen[k.Name] = true
		s := k.New()
		_, http := s.(RequestBuilder)
		_, mail := s.(MailBuilder)
		if http == mail {
			t.Errorf("%s: builds a request %v, an email %v; want exactly one", k.Name, http, mail)
		}
		if reflect.ValueOf(s).Pointer() == reflect.ValueOf(k.New()).Pointer() {
			t.Errorf("%s: New returns shared settings; want fresh ones each call", k.Name)
		}
	}
}

// smsSettings is a type that exists only in TestAddingAType.
type smsSettings struct {
	URL    string `json:"url"`
	Number string `json:"number"`
}

func (s *smsSettings) Validate() error {
	return firstError(need("url", s.URL), checkURL("url", s.URL), need("number", s.Number))
}

func (s *smsSettings) BuildRequest(m Message) (Request, error) {
	return jsonRequest(s.URL, map[string]string{"to": s.Number, "text": m.Title()})
}

// TestAddingAType: one registry entry makes a type known everywhere: its name is among
// Types (the admin UI's dropdown), its settings are parsed and checked, and the
// sender delivers it.
func TestAddingAType(t *testing.T) {
	saved := registry
	t.Cleanup(func() { registry = saved })
	registry = append(slices.Clip(registry), Kind{Name: "sms", New: func() Settings { return new(smsSettings) }})

	if got := Types(); !slices.Contains(got, "sms") || len(got) != len(saved)+1 {
		t.Errorf("Types: got %v, want the registry's types and sms", got)
	}
	if _, err := Parse("sms", []byte(`{"number":"+100","url":"https://x","botToken":"1:x"}`), nil); err == nil || !strings.Contains(err.Error(), `sms channel: unknown setting "botToken" (sms channels take url, number, externalAlerts)`) {
		t.Errorf("Parse with a stray key: got %v", err)
	}
	if _, err := Parse("sms", []byte(`{"url":"https://x"}`), nil); err == nil || !strings.Contains(err.Error(), `sms channel: needs "number"`) {
		t.Errorf("Parse without a number: got %v", err)
	}
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		got <- string(body)
	}))
	defer srv.Close()
	ch, err := Parse("sms", []byte(`{"url":"`+srv.URL+`"}`), []byte(`{"number":"+100"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Sender{}).Send(context.Background(), ch, down); err != nil {
		t.Fatal(err)
	}
	if body := <-got; !strings.Contains(body, `"to":"+100"`) {
		t.Errorf("the endpoint got %s, want the message to +100", body)
	}
}

// TestSendWithoutSettings: a channel whose settings never loaded fails for good rather
// than panicking in the worker.
func TestSendWithoutSettings(t *testing.T) {
	err := (&Sender{}).Send(context.Background(), Channel{Name: "c", Type: Slack}, down)
	var e *Error
	if !errors.As(err, &e) || !e.Permanent {
		t.Errorf("got %v, want a permanent error", err)
	}
}
