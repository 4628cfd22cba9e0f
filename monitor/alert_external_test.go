package monitor

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseExternalAlert(t *testing.T) {
	tests := []struct {
		name string
		body string
		want ExternalAlert
		err  string
	}{
		{
			name: "alertmanager webhook",
			body: `{"receiver":"hm","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighMemory","severity":"critical","instance":"s1"},
				"annotations":{"summary":"High memory","description":"Above 90%"},"generatorURL":"http://prom/graph"}],
				"commonLabels":{"alertname":"HighMemory","severity":"critical"},"externalURL":"http://am:9093"}`,
			want: ExternalAlert{Format: "alertmanager", Source: "alertmanager", Title: "High memory", Message: "Above 90%",
				Severity: "critical", Status: "firing", URL: "http://prom/graph", Firing: 1,
				Labels:      map[string]string{"alertname": "HighMemory", "severity": "critical", "instance": "s1"},
				Annotations: map[string]string{"summary": "High memory", "description": "Above 90%"}},
		},
		{
			name: "alertmanager batch, all resolved, channels from a label",
			body: `{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"A","channels":"ops, pager"}},{"status":"resolved","labels":{"alertname":"B"}}]}`,
			want: ExternalAlert{Format: "alertmanager", Source: "alertmanager", Title: "A", Message: "[RESOLVED] A\n[RESOLVED] B",
				Severity: "warning", Status: "resolved", Resolved: 2, Channels: []string{"ops", "pager"},
				Labels: map[string]string{"alertname": "A", "channels": "ops, pager"}},
		},
		{
			name: "grafana unified alerting",
			body: `{"receiver":"hm","status":"firing","orgId":1,"title":"[FIRING:1] CPU","message":"CPU high","alerts":[{"status":"firing","labels":{"alertname":"CPU"},"annotations":{"summary":"CPU busy"}}]}`,
			want: ExternalAlert{Format: "grafana", Source: "grafana", Title: "[FIRING:1] CPU", Message: "CPU high",
				Severity: "warning", Status: "firing", Firing: 1,
				Labels: map[string]string{"alertname": "CPU"}, Annotations: map[string]string{"summary": "CPU busy"}},
		},
		{
			name: "grafana legacy alerting",
			body: `{"evalMatches":[{"value":95,"metric":"mem"}],"message":"Memory high","ruleName":"Mem","ruleUrl":"http://g/r","state":"alerting","title":"Mem on web-1"}`,
			want: ExternalAlert{Format: "grafana", Source: "grafana", Title: "Mem on web-1", Message: "Memory high",
				Severity: "critical", Status: "alerting", URL: "http://g/r", Labels: map[string]string{"ruleName": "Mem"}},
		},
		{
			name: "generic with a channel list",
			body: `{"title":"Backup failed","message":"Nightly backup failed","severity":"ERROR","channels":["ops"],"labels":{"env":"prod"}}`,
			want: ExternalAlert{Format: "generic", Source: "external", Title: "Backup failed", Message: "Nightly backup failed",
				Severity: "error", Channels: []string{"ops"}, Labels: map[string]string{"env": "prod"}},
		},
		{
			name: "generic with one channel name and the default severity",
			body: `{"title":"t","message":"m","channel":"ops","source":"cron"}`,
			want: ExternalAlert{Format: "generic", Source: "cron", Title: "t", Message: "m", Severity: "warning", Channels: []string{"ops"}},
		},
		{name: "not JSON", body: `{"title":`, err: ErrInvalidAlertJSON},
		{name: "a JSON array", body: `[1,2]`, err: ErrUnsupportedAlert},
		{name: "an object of no known format", body: `{"hello":"world"}`, err: ErrUnsupportedAlert},
		{name: "generic without a message", body: `{"title":"t"}`, err: ErrUnsupportedAlert},
		{name: "generic with an empty title", body: `{"title":" ","message":"m"}`, err: ErrUnsupportedAlert},
		{name: "a title that is not a string", body: `{"title":5,"message":"m"}`, err: "Invalid alert: title must be a string"},
		{name: "channels of the wrong type", body: `{"title":"t","message":"m","channels":{"a":1}}`, err: "Invalid alert: channels must be a list of channel names"},
		{name: "alerts that are not objects", body: `{"alerts":[1]}`, err: "Invalid alert: alerts.0 has the wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExternalAlert([]byte(tt.body))
			if tt.err != "" {
				var ae *AlertError
				if !errors.As(err, &ae) || ae.Msg != tt.err {
					t.Fatalf("got error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSeverityEvent(t *testing.T) {
	for sev, want := range map[string]Event{"critical": EventDown, "Error": EventDown, "warning": EventDegraded, "": EventDegraded, "info": EventUp, "ok": EventUp} {
		if got := SeverityEvent(sev); got != want {
			t.Errorf("SeverityEvent(%q): got %q, want %q", sev, got, want)
		}
	}
}

func TestExternalAlertBounds(t *testing.T) {
	long := make([]byte, MaxAlertTitleChars+50)
	for i := range long {
		long[i] = 'x'
	}
	got, err := ParseExternalAlert([]byte(`{"title":"` + string(long) + `","message":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(got.Title)); n != MaxAlertTitleChars {
		t.Errorf("title length: got %d, want %d", n, MaxAlertTitleChars)
	}
}
