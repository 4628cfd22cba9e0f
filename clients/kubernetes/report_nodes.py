#!/usr/bin/env python3
"""report_nodes.py: report every Kubernetes node as its own service, in one batch.

Runs in the CronJob of node-heartbeats.yaml, beside heartbeat.py (both come from one
ConfigMap). It lists the nodes through the API server with the pod's service account
and sends one batch to the Heartbeat Monitor: a Ready node is "up", a node that is not
Ready (condition False or Unknown, or no Ready condition at all) is "down".

Environment:
  HEARTBEAT_URL, HEARTBEAT_API_KEY   the server and a key covering the node services
                                     (a group key: see "Import" in the README)
  HEARTBEAT_SERVICE_PREFIX           put before each node name to make its serviceId (default "")
  CLUSTER_NAME                       reported in each beat's metadata (default "kubernetes")
  HEARTBEAT_TIMEOUT, HEARTBEAT_RETRIES  as for heartbeat.py
  KUBE_API_URL, KUBE_TOKEN_FILE, KUBE_CA_FILE
                                     override the in-cluster API address, token and CA
                                     (to run it outside a cluster, or in tests)
Exit codes as heartbeat.py: 0 accepted, 1 not accepted or unreachable, 2 wrong setup.
"""

import json
import os
import ssl
import sys
import urllib.parse
import urllib.request

# heartbeat.py sits beside this file in the CronJob's ConfigMap, one level up in the repo.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_here, os.path.dirname(_here)]
import heartbeat  # noqa: E402

PROG = "report_nodes.py"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ROLE_LABEL = "node-role.kubernetes.io/"


def list_nodes(api, token, ca_file, timeout):
    """All nodes, following the API's pagination."""
    ctx = ssl.create_default_context(cafile=ca_file) if api.startswith("https:") else None
    nodes, cont = [], ""
    while True:
        query = {"limit": "500"}
        if cont:
            query["continue"] = cont
        req = urllib.request.Request(api.rstrip("/") + "/api/v1/nodes?" + urllib.parse.urlencode(query))
        req.add_header("Authorization", "Bearer " + token)
        req.add_header("Accept", "application/json")
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            doc = json.load(resp)
        nodes.extend(doc.get("items") or [])
        cont = (doc.get("metadata") or {}).get("continue") or ""
        if not cont:
            return nodes


def node_beat(node, prefix, cluster):
    """The batch entry of one node."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    name = meta.get("name", "")
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    is_ready = bool(ready) and ready.get("status") == "True"
    roles = sorted(k[len(ROLE_LABEL):] for k in (meta.get("labels") or {}) if k.startswith(ROLE_LABEL))
    ip = next((a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), "")
    if is_ready:
        message = "Ready"
    elif ready is None:
        message = "NotReady: the node reports no Ready condition"
    else:
        why = ": ".join(x for x in (ready.get("reason"), ready.get("message")) if x)
        message = "NotReady (Ready=%s)%s" % (ready.get("status"), ": " + why if why else "")
    return {
        "serviceId": prefix + name,
        "status": "up" if is_ready else "down",
        "message": message[:1000],
        "metadata": {
            "cluster": cluster,
            "ip": ip,
            "role": ",".join(roles) or "worker",
            "status": "ready" if is_ready else "not-ready",
            "kubeletVersion": (status.get("nodeInfo") or {}).get("kubeletVersion", ""),
            "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        },
    }


def main(env=None):
    env = os.environ if env is None else env
    url, key = env.get("HEARTBEAT_URL", ""), env.get("HEARTBEAT_API_KEY", "")
    if not url or not key:
        print("%s: HEARTBEAT_URL and HEARTBEAT_API_KEY must be set" % PROG, file=sys.stderr)
        return heartbeat.EXIT_USAGE
    api = env.get("KUBE_API_URL") or "https://%s:%s" % (
        env.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"), env.get("KUBERNETES_SERVICE_PORT", "443"))
    try:
        timeout = float(env.get("HEARTBEAT_TIMEOUT", "10"))
        retries = int(env.get("HEARTBEAT_RETRIES", "3"))
        with open(env.get("KUBE_TOKEN_FILE", SA_DIR + "/token")) as f:
            token = f.read().strip()
    except (OSError, ValueError) as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return heartbeat.EXIT_USAGE
    prefix, cluster = env.get("HEARTBEAT_SERVICE_PREFIX", ""), env.get("CLUSTER_NAME", "kubernetes")

    try:
        nodes = list_nodes(api, token, env.get("KUBE_CA_FILE", SA_DIR + "/ca.crt"), timeout)
    except Exception as e:  # any failure to list is reported the same way: nothing sent
        print("%s: listing nodes from %s: %s" % (PROG, api, " ".join(str(e).split())), file=sys.stderr)
        return heartbeat.EXIT_FAILED
    beats = []
    for b in (node_beat(n, prefix, cluster) for n in nodes):
        if heartbeat.SERVICE_ID.match(b["serviceId"]):
            beats.append(b)
        else:
            print("%s: warning: %r is not a valid serviceId (at most 100 characters): not reported"
                  % (PROG, b["serviceId"]), file=sys.stderr)
    if not beats:
        print("%s: no node to report" % PROG, file=sys.stderr)
        return heartbeat.EXIT_FAILED
    body = json.dumps({"services": beats}, separators=(",", ":")).encode("utf-8")
    try:
        code, reply = heartbeat.send(url, key, body, timeout, retries)
    except heartbeat.Failure as f:
        print("%s: %s" % (PROG, f.reason), file=sys.stderr)
        return heartbeat.EXIT_FAILED
    for failed in heartbeat.failures(reply):
        print("%s: warning: %s" % (PROG, failed), file=sys.stderr)
    down = [b["serviceId"] for b in beats if b["status"] == "down"]
    print("ok: %d node(s) reported, %d not Ready%s (HTTP %d)"
          % (len(beats), len(down), ": " + ", ".join(down) if down else "", code))
    return heartbeat.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
