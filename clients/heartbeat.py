#!/usr/bin/env python3
"""heartbeat.py: send a heartbeat to a Heartbeat Monitor server.

Python 3.7+ standard library only. Settings come from flags or the HEARTBEAT_*
environment variables; run it with --help for the list. With --start or --exit N it
sends a ping instead (/ping/<key>/<serviceId>/start or /<N>), so that a cron line can
report a run: its start, then its exit status with the same --rid.

Exit codes: 0 accepted (HTTP 200, or 207 when part of a batch was refused),
1 not accepted or unreachable (the reason is printed on one line), 2 wrong usage.
"""

import argparse
import email.utils
import http.client
import json
import os
import random
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PROG = "heartbeat.py"
SERVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RUN_ID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
MAX_RETRY_AFTER = 60.0
MAX_BACKOFF = 30.0

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Failure(Exception):
    """A request that was not accepted. retry says whether another attempt may help;
    wait is the server's Retry-After in seconds, or None."""

    def __init__(self, reason, retry=False, wait=None):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.wait = wait


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # argparse would print the usage and exit; a usage error is one line here.
    def error(self, message):
        raise UsageError(message)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET and could report a login page's
    # 200 as an accepted beat: a redirect is an error instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def endpoint(base):
    """The heartbeat URL for a base URL: /api/heartbeat is added unless present."""
    url = base.strip().rstrip("/")
    return url if url.endswith("/api/heartbeat") else url + "/api/heartbeat"


def ping_url(base, key, service_id, kind="", rid=""):
    """The ping URL of a service: /ping/<key>/<serviceId>[/<kind>][?rid=...], with the
    key escaped. base may be the server's base URL or its /api/heartbeat URL."""
    url = base.strip().rstrip("/")
    if url.endswith("/api/heartbeat"):
        url = url[:-len("/api/heartbeat")].rstrip("/")
    url += "/ping/%s/%s" % (urllib.parse.quote(key, safe=""), urllib.parse.quote(service_id, safe=""))
    if kind:
        url += "/" + kind
    if rid:
        url += "?" + urllib.parse.urlencode({"rid": rid})
    return url


def build_body(ids, status, message, metadata):
    """The request body: one beat, or a batch of per-entry beats for several ids."""
    beats = []
    for sid in ids:
        beat = {"serviceId": sid, "status": status}
        if message:
            beat["message"] = message
        if metadata:
            beat["metadata"] = metadata
        beats.append(beat)
    doc = beats[0] if len(beats) == 1 else {"services": beats}
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(int(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            secs = when.timestamp() - (now if now is not None else time.time())
        except (TypeError, ValueError):
            return None
    if secs <= 0:
        return None
    return min(secs, MAX_RETRY_AFTER)


def backoff(attempt):
    """The wait before retry n: 1 s, 2 s, 4 s ... up to 30 s, plus up to a quarter more
    so that clients started by the same cron minute spread out."""
    base = min(2.0 ** min(attempt - 1, 5), MAX_BACKOFF)
    return base + random.uniform(0, base / 4)


def _one_line(text, limit=200):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def failures(reply):
    out = []
    for r in reply.get("results") or []:
        if isinstance(r, dict) and r.get("error"):
            out.append("%s: %s" % (r.get("serviceId"), r.get("error")))
    return out


def _request(req, timeout):
    """Makes one request; returns (code, text, headers) or raises a retryable Failure
    when no reply came back."""
    try:
        with _opener.open(req, timeout=timeout) as resp:
            code, raw, hdrs = resp.status, resp.read(1 << 20), resp.headers
    except urllib.error.HTTPError as e:
        code, raw, hdrs = e.code, e.read(1 << 20), e.headers
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # refused, DNS, TLS, timeout
        reason = getattr(e, "reason", e)
        raise Failure(_one_line(reason), retry=True)
    return code, raw.decode("utf-8", "replace"), hdrs


def _refused(code, reason, hdrs):
    """The Failure of a reply that is not an acceptance: retried on 429 and 5xx."""
    if 300 <= code < 400:
        return Failure("HTTP %d: redirected to %s (use the server's final URL)"
                       % (code, hdrs.get("Location", "?")))
    retry = code == 429 or code >= 500
    return Failure("HTTP %d: %s" % (code, reason), retry=retry,
                   wait=retry_after(hdrs.get("Retry-After")) if retry else None)


def post_once(url, key, body, timeout, headers):
    """One attempt. Returns (status code, reply object) when accepted, raises Failure."""
    req = urllib.request.Request(url, data=body, method="POST")
    for name, value in headers:
        req.add_header(name, value)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + key)
    req.add_header("User-Agent", "heartbeat.py")
    code, text, hdrs = _request(req, timeout)
    try:
        reply = json.loads(text)
        if not isinstance(reply, dict):
            reply = {}
    except ValueError:
        reply = {}
    if code in (200, 207):
        if reply.get("success") is True:
            return code, reply
        raise Failure("HTTP %d: unexpected reply (is the URL the heartbeat server?): %s"
                      % (code, _one_line(text) or "(empty reply)"))
    if reply.get("error"):
        reason = str(reply["error"])
    elif reply.get("message"):
        reason = str(reply["message"])
        if failures(reply):
            reason += ": " + "; ".join(failures(reply))
    else:
        reason = _one_line(text) or "(empty reply)"
    raise _refused(code, reason, hdrs)


def ping_once(url, body, timeout, headers):
    """One ping attempt. Returns (status code, "OK" or "Created"), raises Failure."""
    req = urllib.request.Request(url, data=body, method="POST")
    for name, value in headers:
        req.add_header(name, value)
    req.add_header("Content-Type", "text/plain; charset=utf-8")
    req.add_header("User-Agent", "heartbeat.py")
    code, text, hdrs = _request(req, timeout)
    if code in (200, 201):
        if text.strip() in ("OK", "Created"):
            return code, text.strip()
        raise Failure("HTTP %d: unexpected reply (is the URL the heartbeat server?): %s"
                      % (code, _one_line(text) or "(empty reply)"))
    raise _refused(code, _one_line(text) or "(empty reply)", hdrs)


def with_retries(once, retries=3, sleep=time.sleep):
    """Calls once() with a bounded retry on network errors, 5xx and 429 (never another
    4xx); returns its result or raises Failure with the last reason."""
    attempt = 1
    while True:
        try:
            return once()
        except Failure as f:
            if not f.retry or attempt > retries:
                if attempt > 1:
                    f.reason += " (after %d attempts)" % attempt
                raise
            sleep(f.wait if f.wait is not None else backoff(attempt))
            attempt += 1


def send(url, key, body, timeout=10.0, retries=3, headers=(), sleep=time.sleep):
    """Post body with a bounded retry on network errors, 5xx and 429 (never another
    4xx). Returns (status code, reply); raises Failure with the last reason."""
    return with_retries(lambda: post_once(endpoint(url), key, body, timeout, headers), retries, sleep)


def _env_flag(value):
    return (value or "").strip().lower() in ("1", "true", "yes")


def parse_args(argv, env):
    p = _Parser(
        prog=PROG,
        description="Send one heartbeat, or one batch when the service is a comma list, "
        "to a Heartbeat Monitor server. Options default to the environment variables "
        "in brackets.",
        epilog="A run: --start before the job, --exit $? after it (one ping per service; "
        "--message is the ping's body). Exit codes: 0 accepted (HTTP 200, or 207 when part of "
        "a batch was refused), 1 not accepted or unreachable, 2 wrong usage.")
    p.add_argument("-u", "--url", default=env.get("HEARTBEAT_URL", ""),
                   help="server base URL, e.g. https://monitor.example.com [HEARTBEAT_URL]")
    p.add_argument("-s", "--service", default=env.get("HEARTBEAT_SERVICE_ID", ""),
                   help="serviceId, or a comma list for one batch [HEARTBEAT_SERVICE_ID]")
    p.add_argument("-k", "--key", default=None,
                   help="API key; prefer the variable: arguments show in ps [HEARTBEAT_API_KEY]")
    p.add_argument("--status", default=env.get("HEARTBEAT_STATUS", "up"),
                   help="up, down or degraded (default up) [HEARTBEAT_STATUS]")
    p.add_argument("-m", "--message", default=env.get("HEARTBEAT_MESSAGE", ""),
                   help="message shown with the beat [HEARTBEAT_MESSAGE]")
    p.add_argument("--metadata", default=env.get("HEARTBEAT_METADATA", ""),
                   help="a JSON object; the hostname is added to it [HEARTBEAT_METADATA]")
    p.add_argument("--no-hostname", action="store_true",
                   default=_env_flag(env.get("HEARTBEAT_NO_HOSTNAME")),
                   help="leave the hostname out of the metadata [HEARTBEAT_NO_HOSTNAME=1]")
    p.add_argument("--header", action="append", default=[],
                   help="extra request header 'Name: value', repeatable (e.g. Cloudflare Access)")
    p.add_argument("--timeout", default=env.get("HEARTBEAT_TIMEOUT", "10"),
                   help="timeout of each attempt in seconds (default 10) [HEARTBEAT_TIMEOUT]")
    p.add_argument("--retries", default=env.get("HEARTBEAT_RETRIES", "3"),
                   help="retries on network errors, 5xx and 429 (default 3) [HEARTBEAT_RETRIES]")
    p.add_argument("--start", action="store_true",
                   help="ping /start instead of a beat: a run of the service began")
    p.add_argument("--exit", default=None, metavar="N",
                   help="ping the exit status N (0-255) of a run instead of a beat: 0 is up, "
                   "others are down")
    p.add_argument("--rid", default="",
                   help="run id (a UUID) tying a --start to its --exit; runs that overlap need one")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing when the beat is accepted")
    args = p.parse_args(argv)
    if args.key is None:
        args.key = env.get("HEARTBEAT_API_KEY", "")
    return args


def prepare(args):
    """Validates the arguments; returns (ids, status, metadata, headers, timeout, retries)."""
    missing = [name for name, value in (("--url (HEARTBEAT_URL)", args.url),
                                        ("--service (HEARTBEAT_SERVICE_ID)", args.service),
                                        ("--key (HEARTBEAT_API_KEY)", args.key)) if not value]
    if missing:
        raise UsageError("missing " + ", ".join(missing))
    if not re.match(r"^https?://.", args.url.strip()):
        raise UsageError("--url %r is not an http(s) URL" % args.url)
    status = args.status.strip().lower()
    if status not in ("up", "down", "degraded"):
        raise UsageError("--status %r is not up, down or degraded" % args.status)
    ids = [s.strip() for s in args.service.split(",") if s.strip()]
    if not ids:
        raise UsageError("--service names no service")
    for sid in ids:
        if not SERVICE_ID.match(sid):
            raise UsageError("service %r is not a valid serviceId (1-100 of A-Z a-z 0-9 . _ -)" % sid)
    metadata = {}
    if not args.no_hostname:
        metadata["hostname"] = socket.gethostname()
    if args.metadata.strip():
        try:
            extra = json.loads(args.metadata)
        except ValueError:
            extra = None
        if not isinstance(extra, dict):
            raise UsageError("--metadata must be a JSON object, like '{\"env\":\"prod\"}'")
        metadata.update(extra)
    headers = []
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise UsageError("--header %r is not 'Name: value'" % h)
        headers.append((name.strip(), value.strip()))
    try:
        timeout = float(args.timeout)
        retries = int(args.retries)
        if timeout <= 0 or retries < 0:
            raise ValueError
    except ValueError:
        raise UsageError("--timeout must be seconds > 0 and --retries a whole number >= 0")
    if args.start and args.exit is not None:
        raise UsageError("--start and --exit are two pings: give one")
    if args.exit is not None:
        if not re.match(r"^[0-9]{1,3}$", args.exit.strip()) or int(args.exit) > 255:
            raise UsageError("--exit %r is not an exit status 0-255" % args.exit)
    if args.rid and not RUN_ID.match(args.rid):
        raise UsageError("--rid %r is not a UUID" % args.rid)
    if args.rid and not (args.start or args.exit is not None):
        raise UsageError("--rid goes with --start or --exit")
    return ids, status, metadata, headers, timeout, retries


def ping_all(args, ids, headers, timeout, retries):
    """Sends the --start or --exit ping of each service; returns the exit code."""
    kind = "start" if args.start else str(int(args.exit))
    body = args.message.encode("utf-8")
    failed = []
    for sid in ids:
        url = ping_url(args.url, args.key, sid, kind, args.rid)
        try:
            code, text = with_retries(lambda: ping_once(url, body, timeout, headers), retries)
        except Failure as f:
            failed.append((sid, f.reason))
            continue
        if not args.quiet:
            print("ok: %s (HTTP %d)%s" % (text, code, "" if len(ids) == 1 else " " + sid))
    if len(ids) == 1 and failed:
        print("%s: %s" % (PROG, failed[0][1]), file=sys.stderr)
        return EXIT_FAILED
    for sid, reason in failed:
        print("%s: %s%s: %s" % (PROG, "" if len(failed) == len(ids) else "warning: ", sid, reason),
              file=sys.stderr)
    return EXIT_FAILED if len(failed) == len(ids) else EXIT_OK


def main(argv=None, env=None):
    env = os.environ if env is None else env
    try:
        args = parse_args(argv, env)
        ids, status, metadata, headers, timeout, retries = prepare(args)
    except UsageError as e:
        print("%s: %s (see --help)" % (PROG, e), file=sys.stderr)
        return EXIT_USAGE
    if args.start or args.exit is not None:
        return ping_all(args, ids, headers, timeout, retries)
    body = build_body(ids, status, args.message, metadata)
    try:
        code, reply = send(args.url, args.key, body, timeout, retries, headers)
    except Failure as f:
        print("%s: %s" % (PROG, f.reason), file=sys.stderr)
        return EXIT_FAILED
    for failed in failures(reply):
        print("%s: warning: %s" % (PROG, failed), file=sys.stderr)
    if not args.quiet:
        print("ok: %s (HTTP %d)" % (reply.get("message", ""), code))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
