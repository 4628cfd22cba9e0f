#!/usr/bin/env node
// heartbeat.js: send a heartbeat to a Heartbeat Monitor server.
//
// Node.js 18+ built-ins only, over http or https on any port. Settings come from flags or
// the HEARTBEAT_* environment variables; run it with --help for the list.
//
// With --start or --exit N it sends a ping instead (/ping/<key>/<serviceId>/start or
// /<N>), so that a cron line can report a run: its start, then its exit status with the
// same --rid.
//
// Exit codes: 0 accepted (HTTP 200, or 207 when part of a batch was refused),
// 1 not accepted or unreachable (the reason is printed on one line), 2 wrong usage.
'use strict';

const http = require('node:http');
const https = require('node:https');
const os = require('node:os');

const PROG = 'heartbeat.js';
const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const RUN_ID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const MAX_RETRY_AFTER = 60;
const MAX_BACKOFF = 30;
const [EXIT_OK, EXIT_FAILED, EXIT_USAGE] = [0, 1, 2];

const HELP = `usage: heartbeat.js [options]

Send one heartbeat, or one batch when the service is a comma list, to a Heartbeat
Monitor server. Options default to the environment variables in brackets.

  -u, --url URL          server base URL, e.g. https://monitor.example.com  [HEARTBEAT_URL]
  -s, --service IDS      serviceId, or a comma list for one batch  [HEARTBEAT_SERVICE_ID]
  -k, --key KEY          API key (prefer the variable: arguments show in ps)  [HEARTBEAT_API_KEY]
      --status STATUS    up, down or degraded (default up)  [HEARTBEAT_STATUS]
  -m, --message TEXT     message shown with the beat  [HEARTBEAT_MESSAGE]
      --metadata JSON    a JSON object; the hostname is added to it  [HEARTBEAT_METADATA]
      --no-hostname      leave the hostname out of the metadata  [HEARTBEAT_NO_HOSTNAME=1]
      --header 'N: V'    extra request header, repeatable (e.g. Cloudflare Access)
      --timeout SECONDS  timeout of each attempt (default 10)  [HEARTBEAT_TIMEOUT]
      --retries N        retries on network errors, 5xx and 429 (default 3)  [HEARTBEAT_RETRIES]
      --start            ping /start instead of a beat: a run of the service began
      --exit N           ping the exit status N (0-255) of a run instead of a beat:
                         0 is up, others are down
      --rid UUID         run id tying a --start to its --exit; runs that overlap need one
  -q, --quiet            print nothing when the beat is accepted
  -h, --help             this help

A run: --start before the job, --exit $? after it (one ping per service; --message
is the ping's body).

Exit codes: 0 accepted (HTTP 200, or 207 when part of a batch was refused),
1 not accepted or unreachable (the reason is printed on one line), 2 wrong usage.
`;

class UsageError extends Error {}

// Failure is a request that was not accepted; retry says whether another attempt may
// help, wait is the server's Retry-After in seconds (or null).
class Failure extends Error {
  constructor(reason, retry = false, wait = null) {
    super(reason);
    this.retry = retry;
    this.wait = wait;
  }
}

const VALUE_OPTS = {
  '-u': 'url', '--url': 'url', '-s': 'service', '--service': 'service', '-k': 'key', '--key': 'key',
  '--status': 'status', '-m': 'message', '--message': 'message', '--metadata': 'metadata',
  '--header': 'header', '--timeout': 'timeout', '--retries': 'retries', '--exit': 'exit', '--rid': 'rid',
};

function parseArgs(argv, env) {
  const o = {
    url: env.HEARTBEAT_URL || '',
    service: env.HEARTBEAT_SERVICE_ID || '',
    key: env.HEARTBEAT_API_KEY || '',
    status: env.HEARTBEAT_STATUS || 'up',
    message: env.HEARTBEAT_MESSAGE || '',
    metadata: env.HEARTBEAT_METADATA || '',
    noHostname: ['1', 'true', 'yes'].includes((env.HEARTBEAT_NO_HOSTNAME || '').toLowerCase()),
    headers: [],
    timeout: env.HEARTBEAT_TIMEOUT || '10',
    retries: env.HEARTBEAT_RETRIES || '3',
    quiet: false,
    help: false,
    start: false,
    exit: null,
    rid: '',
  };
  for (let i = 0; i < argv.length; i++) {
    let opt = argv[i];
    let val;
    if (opt === '-h' || opt === '--help') { o.help = true; continue; }
    if (opt === '-q' || opt === '--quiet') { o.quiet = true; continue; }
    if (opt === '--no-hostname') { o.noHostname = true; continue; }
    if (opt === '--start') { o.start = true; continue; }
    const eq = opt.indexOf('=');
    if (opt.startsWith('--') && eq > 0) {
      val = opt.slice(eq + 1);
      opt = opt.slice(0, eq);
    }
    const name = VALUE_OPTS[opt];
    if (!name) throw new UsageError(`unknown option ${opt}`);
    if (val === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${opt} needs a value`);
      val = argv[++i];
    }
    if (name === 'header') o.headers.push(val); else o[name] = val;
  }
  return o;
}

// prepare validates the options into what a request needs.
function prepare(o) {
  const missing = [['--url (HEARTBEAT_URL)', o.url], ['--service (HEARTBEAT_SERVICE_ID)', o.service],
    ['--key (HEARTBEAT_API_KEY)', o.key]].filter(([, v]) => !v).map(([n]) => n);
  if (missing.length) throw new UsageError(`missing ${missing.join(', ')}`);
  let url;
  try {
    url = new URL(endpoint(o.url));
  } catch {
    throw new UsageError(`--url '${o.url}' is not an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url '${o.url}' is not an http(s) URL`);
  }
  const status = o.status.trim().toLowerCase();
  if (!['up', 'down', 'degraded'].includes(status)) {
    throw new UsageError(`--status '${o.status}' is not up, down or degraded`);
  }
  const ids = o.service.split(',').map((s) => s.trim()).filter(Boolean);
  if (!ids.length) throw new UsageError('--service names no service');
  for (const id of ids) {
    if (!SERVICE_ID.test(id)) throw new UsageError(`service '${id}' is not a valid serviceId (1-100 of A-Z a-z 0-9 . _ -)`);
  }
  const metadata = {};
  if (!o.noHostname) metadata.hostname = os.hostname();
  if (o.metadata.trim()) {
    let extra;
    try {
      extra = JSON.parse(o.metadata);
    } catch {
      extra = null;
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) {
      throw new UsageError(`--metadata must be a JSON object, like '{"env":"prod"}'`);
    }
    Object.assign(metadata, extra);
  }
  const headers = {};
  for (const h of o.headers) {
    const at = h.indexOf(':');
    if (at <= 0 || !h.slice(0, at).trim()) throw new UsageError(`--header '${h}' is not 'Name: value'`);
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
  }
  const timeout = Number(o.timeout);
  const retries = Number(o.retries);
  if (!(timeout > 0) || !Number.isInteger(retries) || retries < 0) {
    throw new UsageError('--timeout must be seconds > 0 and --retries a whole number >= 0');
  }
  if (o.start && o.exit !== null) throw new UsageError('--start and --exit are two pings: give one');
  if (o.exit !== null && (!/^[0-9]{1,3}$/.test(o.exit.trim()) || Number(o.exit) > 255)) {
    throw new UsageError(`--exit '${o.exit}' is not an exit status 0-255`);
  }
  if (o.rid && !RUN_ID.test(o.rid)) throw new UsageError(`--rid '${o.rid}' is not a UUID`);
  if (o.rid && !o.start && o.exit === null) throw new UsageError('--rid goes with --start or --exit');
  return { url, ids, status, metadata, headers, timeout, retries };
}

// pingURL is the ping URL of a service: /ping/<key>/<serviceId>[/<kind>][?rid=...], with
// the key escaped. base may be the server's base URL or its /api/heartbeat URL.
function pingURL(base, key, serviceId, kind = '', rid = '') {
  let u = base.trim().replace(/\/+$/, '');
  if (u.endsWith('/api/heartbeat')) u = u.slice(0, -'/api/heartbeat'.length).replace(/\/+$/, '');
  u += `/ping/${encodeURIComponent(key)}/${encodeURIComponent(serviceId)}`;
  if (kind) u += `/${kind}`;
  if (rid) u += `?rid=${encodeURIComponent(rid)}`;
  return new URL(u);
}

// endpoint returns the heartbeat URL for a base URL: /api/heartbeat is added unless present.
function endpoint(base) {
  const u = base.trim().replace(/\/+$/, '');
  return u.endsWith('/api/heartbeat') ? u : `${u}/api/heartbeat`;
}

// buildBody is one beat, or a batch of per-entry beats for several ids.
function buildBody(ids, status, message, metadata) {
  const beats = ids.map((serviceId) => {
    const b = { serviceId, status };
    if (message) b.message = message;
    if (Object.keys(metadata).length) b.metadata = metadata;
    return b;
  });
  return JSON.stringify(beats.length === 1 ? beats[0] : { services: beats });
}

function retryAfter(value, now = Date.now()) {
  if (!value) return null;
  let secs = /^\s*\d+\s*$/.test(value) ? Number(value) : (Date.parse(value) - now) / 1000;
  if (!(secs > 0)) return null;
  return Math.min(secs, MAX_RETRY_AFTER);
}

// backoff is the wait before retry n: 1 s, 2 s, 4 s ... up to 30 s, plus up to a quarter
// more so that clients started by the same cron minute spread out.
function backoff(attempt) {
  const base = Math.min(2 ** Math.min(attempt - 1, 5), MAX_BACKOFF);
  return base + Math.random() * (base / 4);
}

function oneLine(text, limit = 200) {
  const s = String(text).split(/\s+/).filter(Boolean).join(' ');
  return s.length <= limit ? s : `${s.slice(0, limit)}…`;
}

function failures(reply) {
  return (Array.isArray(reply.results) ? reply.results : [])
    .filter((r) => r && r.error)
    .map((r) => `${r.serviceId}: ${r.error}`);
}

// postOnce makes one attempt; it resolves { code, reply } when accepted and rejects with
// a Failure otherwise. A ping (ping true) sends body as text, without the key in a
// header (it is in the URL), and is accepted by a plain "OK" or "Created".
function postOnce(url, key, body, timeoutSecs, extraHeaders, ping = false) {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const payload = Buffer.from(body, 'utf8');
    const headers = {
      ...extraHeaders,
      'Content-Type': ping ? 'text/plain; charset=utf-8' : 'application/json',
      'Content-Length': payload.length,
      'User-Agent': 'heartbeat.js',
    };
    if (!ping) headers.Authorization = `Bearer ${key}`;
    const req = lib.request(url, { method: 'POST', headers }, (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size <= 1 << 20) chunks.push(c);
      });
      res.on('error', (e) => reject(new Failure(oneLine(e.message), true)));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode;
        let reply = {};
        if (ping) {
          if ((code === 200 || code === 201) && ['OK', 'Created'].includes(text.trim())) {
            return resolve({ code, reply: { message: text.trim() } });
          }
        } else {
          try {
            const parsed = JSON.parse(text);
            if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) reply = parsed;
          } catch { /* not JSON: judged below */ }
          if ((code === 200 || code === 207) && reply.success === true) return resolve({ code, reply });
        }
        if (code === 200 || code === 201 || code === 207) {
          return reject(new Failure(`HTTP ${code}: unexpected reply (is the URL the heartbeat server?): ${oneLine(text) || '(empty reply)'}`));
        }
        if (code >= 300 && code < 400) {
          return reject(new Failure(`HTTP ${code}: redirected to ${res.headers.location || '?'} (use the server's final URL)`));
        }
        let reason = oneLine(text) || '(empty reply)';
        if (reply.error) reason = String(reply.error);
        else if (reply.message) {
          reason = String(reply.message);
          if (failures(reply).length) reason += `: ${failures(reply).join('; ')}`;
        }
        const retry = code === 429 || code >= 500;
        return reject(new Failure(`HTTP ${code}: ${reason}`, retry, retry ? retryAfter(res.headers['retry-after']) : null));
      });
    });
    // One deadline for the whole attempt, as curl's --max-time.
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutSecs}s`)), timeoutSecs * 1000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(new Failure(oneLine(e.message || e.code || String(e)), true));
    });
    req.end(payload);
  });
}

async function send(p, key, body, url = p.url, ping = false) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await postOnce(url, key, body, p.timeout, p.headers, ping);
    } catch (f) {
      if (!(f instanceof Failure)) throw f;
      if (!f.retry || attempt > p.retries) {
        if (attempt > 1) f.message += ` (after ${attempt} attempts)`;
        throw f;
      }
      const wait = f.wait !== null ? f.wait : backoff(attempt);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  }
}

// pingAll sends the --start or --exit ping of each service and returns the exit code.
async function pingAll(o, p) {
  const kind = o.start ? 'start' : String(Number(o.exit));
  const failed = [];
  for (const id of p.ids) {
    try {
      const { code, reply } = await send(p, o.key, o.message, pingURL(o.url, o.key, id, kind, o.rid), true);
      if (!o.quiet) process.stdout.write(`ok: ${reply.message} (HTTP ${code})${p.ids.length === 1 ? '' : ` ${id}`}\n`);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      failed.push([id, e.message]);
    }
  }
  if (p.ids.length === 1 && failed.length) {
    process.stderr.write(`${PROG}: ${failed[0][1]}\n`);
    return EXIT_FAILED;
  }
  const all = failed.length === p.ids.length;
  for (const [id, reason] of failed) process.stderr.write(`${PROG}: ${all ? '' : 'warning: '}${id}: ${reason}\n`);
  return all ? EXIT_FAILED : EXIT_OK;
}

async function main(argv, env) {
  let o;
  let p;
  try {
    o = parseArgs(argv, env);
    if (o.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    p = prepare(o);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${PROG}: ${e.message} (see --help)\n`);
    return EXIT_USAGE;
  }
  if (o.start || o.exit !== null) return pingAll(o, p);
  const body = buildBody(p.ids, p.status, o.message, p.metadata);
  try {
    const { code, reply } = await send(p, o.key, body);
    for (const f of failures(reply)) process.stderr.write(`${PROG}: warning: ${f}\n`);
    if (!o.quiet) process.stdout.write(`ok: ${reply.message || ''} (HTTP ${code})\n`);
    return EXIT_OK;
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    process.stderr.write(`${PROG}: ${e.message}\n`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => { process.exitCode = code; },
    (e) => { process.stderr.write(`${PROG}: ${oneLine(e && e.stack ? e.message : e)}\n`); process.exitCode = EXIT_FAILED; },
  );
}

module.exports = { endpoint, pingURL, buildBody, retryAfter, backoff, send, main };
