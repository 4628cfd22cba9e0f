package heartbeat

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPingURL(t *testing.T) {
	tests := []struct {
		base, key string
		p         Ping
		want      string
	}{
		{"https://m.example.com/", "k", Ping{ServiceID: "svc"}, "https://m.example.com/ping/k/svc"},
		{"https://m.example.com/api/heartbeat", "a/b c", Ping{ServiceID: "svc.1", Kind: "start", RunID: "r", Deadline: 7210500 * time.Millisecond},
			"https://m.example.com/ping/a%2Fb%20c/svc.1/start?rid=r&timeout=7211s"},
		{"http://h:8090", "k", Ping{ServiceID: "s", Kind: ExitKind(300)}, "http://h:8090/ping/k/s/255"},
	}
	for _, tt := range tests {
		if got := PingURL(tt.base, tt.key, tt.p); got != tt.want {
			t.Errorf("PingURL(%q, %q, %+v): got %q, want %q", tt.base, tt.key, tt.p, got, tt.want)
		}
	}
}

func TestNewRunID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewRunID(), NewRunID()
	if !v4.MatchString(a) || a == b {
		t.Errorf("got %q and %q, want two different v4 UUIDs", a, b)
	}
}

func TestPing(t *testing.T) {
	tests := []struct {
		name      string
		replies   []cannedReply
		wantErr   string
		wantCalls int
	}{
		{name: "OK", replies: []cannedReply{{code: 200, body: "OK"}}, wantCalls: 1},
		{name: "Created", replies: []cannedReply{{code: 201, body: "Created"}}, wantCalls: 1},
		{name: "not found is not retried", replies: []cannedReply{{code: 404, body: "not found"}}, wantErr: "HTTP 404: not found", wantCalls: 1},
		{name: "busy is retried", replies: []cannedReply{{code: 503, body: "Server busy, retry later", retryAfter: "1"}, {code: 200, body: "OK"}}, wantCalls: 2},
		{name: "a login page is not an OK", replies: []cannedReply{{code: 200, body: "<html>sign in</html>"}}, wantErr: "unexpected reply", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{replies: tt.replies}
			ts := httptest.NewServer(f)
			defer ts.Close()
			c := &Client{URL: ts.URL, Key: "k", Retries: 1, Sleep: func(context.Context, time.Duration) error { return nil }}
			err := c.Ping(context.Background(), Ping{ServiceID: "s", Kind: "3", Body: []byte("last line")})
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) || len(f.bodies) != tt.wantCalls {
				t.Fatalf("got %v after %d calls, want %q after %d", err, len(f.bodies), tt.wantErr, tt.wantCalls)
			}
			if f.bodies[0] != "last line" || !strings.HasPrefix(f.headers[0].Get("Content-Type"), "text/plain") || f.headers[0].Get("Authorization") != "" {
				t.Errorf("request: body %q headers %v", f.bodies[0], f.headers[0])
			}
		})
	}
}
