package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heartbeat-monitor/heartbeat-monitor/testtool"
)

// fakeNode is a Node of the Kubernetes API as report_nodes.py reads it.
func fakeNode(name, ready, reason, ip string, labels map[string]string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"name": name, "labels": labels},
		"spec":     map[string]any{},
		"status": map[string]any{
			"conditions": []any{
				map[string]any{"type": "MemoryPressure", "status": "False"},
				map[string]any{"type": "Ready", "status": ready, "reason": reason, "message": "kubelet says " + reason},
			},
			"addresses": []any{map[string]any{"type": "InternalIP", "address": ip}, map[string]any{"type": "Hostname", "address": name}},
			"nodeInfo":  map[string]any{"kubeletVersion": "v1.31.2+k3s1"},
		},
	}
}

// TestKubernetesNodeReporter runs clients/kubernetes/report_nodes.py against a fake API
// server (two pages of nodes) and the real monitor: every node is its own service, and
// a node that is not Ready is stored as down.
func TestKubernetesNodeReporter(t *testing.T) {
	testtool.NeedPython(t)
	nodes := []string{"k8s-cp-1", "k8s-worker-1", "k8s-worker-2"}
	var ids []string
	for _, n := range nodes {
		ids = append(ids, shared.createService(t, n, "key-"+n+"-0123456789"))
	}
	shared.createKey(t, "k8s group", "key-k8s-group-0123456789", ids...)

	pages := [][]any{
		{fakeNode("k8s-cp-1", "True", "KubeletReady", "10.0.0.1", map[string]string{"node-role.kubernetes.io/control-plane": "true"}),
			fakeNode("k8s-worker-1", "False", "KubeletNotReady", "10.0.0.2", nil)},
		{fakeNode("k8s-worker-2", "Unknown", "NodeStatusUnknown", "10.0.0.3", nil)},
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/nodes" || r.Header.Get("Authorization") != "Bearer sa-token" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		page, next := 0, "page-2"
		if r.URL.Query().Get("continue") == "page-2" {
			page, next = 1, ""
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(map[string]any{"kind": "NodeList", "items": pages[page],
			"metadata": map[string]any{"continue": next}}); err != nil {
			t.Error(err)
		}
	}))
	defer api.Close()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("sa-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runProcess(t, []string{"HEARTBEAT_URL=" + shared.URL, "HEARTBEAT_API_KEY=key-k8s-group-0123456789",
		"KUBE_API_URL=" + api.URL, "KUBE_TOKEN_FILE=" + token, "CLUSTER_NAME=e2e", "PYTHONDONTWRITEBYTECODE=1"},
		"python3", filepath.Join(repoRoot, "clients", "kubernetes", "report_nodes.py"))
	if r.code != 0 || !strings.Contains(r.stdout, "3 node(s) reported, 2 not Ready: k8s-worker-1, k8s-worker-2") {
		t.Fatalf("report_nodes.py: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	want := map[string]struct{ status, role, state, ip, msg string }{
		"k8s-cp-1":     {"up", "control-plane", "ready", "10.0.0.1", "Ready"},
		"k8s-worker-1": {"down", "worker", "not-ready", "10.0.0.2", "NotReady (Ready=False): KubeletNotReady: kubelet says KubeletNotReady"},
		"k8s-worker-2": {"down", "worker", "not-ready", "10.0.0.3", "NotReady (Ready=Unknown): NodeStatusUnknown"},
	}
	for node, w := range want {
		b := shared.lastBeat(t, node)
		m := b.Metadata
		if b.Status != w.status || m["role"] != w.role || m["status"] != w.state || m["ip"] != w.ip || m["cluster"] != "e2e" ||
			!strings.HasPrefix(b.Message, w.msg) {
			t.Errorf("%s: got %+v, want status %s role %s state %s ip %s message %q", node, b, w.status, w.role, w.state, w.ip, w.msg)
		}
	}
}
