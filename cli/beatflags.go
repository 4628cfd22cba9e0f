package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/cli/heartbeat"
	"github.com/heartbeat-monitor/heartbeat-monitor/monitor"
	"github.com/spf13/pflag"
)

// lookupEnv is os.LookupEnv; tests pass a map instead.
type lookupEnv func(string) (string, bool)

// beatOptions are the settings ping and run share. A flag left unset takes its HEARTBEAT_*
// variable, read after parsing so that --help never prints a key taken from the
// environment.
type beatOptions struct {
	url        string
	services   string
	key        string
	meta       []string // k=v
	headers    []string // "Name: value"
	timeout    time.Duration
	retries    int
	noHostname bool

	timeoutFlag string // the name of the HTTP timeout flag
}

// beatEnv maps flag names to their environment variables (the timeout is apart: it is
// read as seconds).
var beatEnv = map[string]string{
	"url":        "HEARTBEAT_URL",
	"service":    "HEARTBEAT_SERVICE_ID",
	"key":        "HEARTBEAT_API_KEY",
	"retries":    "HEARTBEAT_RETRIES",
	"noHostname": "HEARTBEAT_NO_HOSTNAME",
}

// addFlags registers the shared flags; timeoutFlag names the HTTP timeout flag, which is
// --timeout for ping and --pingTimeout for run (whose --timeout limits the command).
func (o *beatOptions) addFlags(f *pflag.FlagSet, timeoutFlag string) {
	f.StringVar(&o.url, "url", "", "server base URL, e.g. https://monitor.example.com ($HEARTBEAT_URL)")
	f.StringVar(&o.services, "service", "", "serviceId, or a comma list for one batch ($HEARTBEAT_SERVICE_ID)")
	f.StringVar(&o.key, "key", "", "API key, sent as a Bearer token ($HEARTBEAT_API_KEY; prefer it: flags show in ps)")
	f.StringArrayVar(&o.meta, "meta", nil, "metadata key=value, repeatable (merged over the JSON object in $HEARTBEAT_METADATA)")
	f.StringArrayVar(&o.headers, "header", nil, "extra request header 'Name: value', repeatable (e.g. Cloudflare Access)")
	f.DurationVar(&o.timeout, timeoutFlag, heartbeat.DefaultTimeout, "HTTP timeout of each attempt ($HEARTBEAT_TIMEOUT, seconds)")
	f.IntVar(&o.retries, "retries", heartbeat.DefaultRetries, "retries on network errors, 5xx and 429, with backoff ($HEARTBEAT_RETRIES)")
	f.BoolVar(&o.noHostname, "noHostname", false, "leave the hostname out of the metadata ($HEARTBEAT_NO_HOSTNAME=1)")
	o.timeoutFlag = timeoutFlag
}

// fromEnv fills the flags the command line left unset from the environment.
func (o *beatOptions) fromEnv(f *pflag.FlagSet, env lookupEnv) error {
	if v, ok := env("HEARTBEAT_TIMEOUT"); ok && v != "" && !f.Changed(o.timeoutFlag) {
		d, err := parseSeconds(v)
		if err != nil {
			return fmt.Errorf("HEARTBEAT_TIMEOUT: %w", err)
		}
		o.timeout = d
	}
	for flag, name := range beatEnv {
		v, ok := env(name)
		if !ok || v == "" || f.Changed(flag) {
			continue
		}
		if err := f.Set(flag, v); err != nil {
			return fmt.Errorf("%s=%q: %w", name, v, err)
		}
	}
	return nil
}

// parseSeconds reads a timeout given as seconds ("10", "2.5") or a Go duration ("10s").
func parseSeconds(v string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a timeout in seconds", v)
	}
	return d, nil
}

// client validates the options and builds the HTTP client and the list of service ids.
func (o *beatOptions) client() (*heartbeat.Client, []string, error) {
	var missing []string
	if o.url == "" {
		missing = append(missing, "--url ($HEARTBEAT_URL)")
	}
	if o.services == "" {
		missing = append(missing, "--service ($HEARTBEAT_SERVICE_ID)")
	}
	if o.key == "" {
		missing = append(missing, "--key ($HEARTBEAT_API_KEY)")
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("--url %q is not an http(s) URL", o.url)
	}
	var ids []string
	for _, id := range strings.Split(o.services, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !monitor.ValidServiceID(id) {
			return nil, nil, fmt.Errorf("service %q is not a valid serviceId (1-100 of A-Z a-z 0-9 . _ -)", id)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, nil, errors.New("--service names no service")
	}
	header := http.Header{}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, nil, fmt.Errorf("--header %q is not 'Name: value'", h)
		}
		header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	c := &heartbeat.Client{URL: o.url, Key: o.key, Header: header, Timeout: o.timeout, Retries: o.retries}
	return c, ids, nil
}

// metadata builds the metadata object: the hostname, then $HEARTBEAT_METADATA, then
// --meta pairs (later ones win).
func (o *beatOptions) metadata(env lookupEnv) (map[string]any, error) {
	m := map[string]any{}
	if !o.noHostname {
		if h, err := os.Hostname(); err == nil {
			m["hostname"] = h
		}
	}
	if raw, ok := env("HEARTBEAT_METADATA"); ok && strings.TrimSpace(raw) != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(raw), &extra); err != nil || extra == nil {
			return nil, fmt.Errorf("HEARTBEAT_METADATA is not a JSON object: %s", raw)
		}
		for k, v := range extra {
			m[k] = v
		}
	}
	for _, kv := range o.meta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--meta %q is not key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

// beats is one beat per service id, all alike.
func beats(ids []string, b heartbeat.Beat) []heartbeat.Beat {
	out := make([]heartbeat.Beat, len(ids))
	for i, id := range ids {
		out[i] = b
		out[i].ServiceID = id
	}
	return out
}
