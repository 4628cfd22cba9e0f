#!/usr/bin/env bash
# bench-scale.sh — the scale benchmark of issue 9: the server with 10,000,
# 100,000 and 1,000,000 services, one table per scale and a summary of the
# targets with PASS/MISS.
#
# Usage: bash scripts/bench-scale.sh        (or: make bench-scale)
#        BENCH_QUICK=1 bash scripts/bench-scale.sh      a quick look (minutes, not an hour)
#        BENCH_SCALES=10000 BENCH_QUICK=1 bash scripts/bench-scale.sh
#        BENCH_CRON=1 BENCH_SCALES=100000 BENCH_QUICK=1 make bench-scale   the same fleet as cron jobs
#
# For each scale, bin/scalebench:
#   1. writes a services.json of N services and times `heartbeat-monitor import` of it
#      (wall time and peak RSS); when that fails or takes longer than BENCH_IMPORT_TIMEOUT,
#      it loads the services with multi-row SQL INSERTs into a data dir the server
#      migrated instead, and says so;
#   2. starts the server (pinned to CPU 0) and times start-up to the first 200 of
#      /api/health and of /api/status (with a read key);
#   3. measures idle CPU (BENCH_IDLE with no load) and RSS;
#   4. sends beats open loop at a steady rate for BENCH_DURATION (p50/p99/max from each
#      beat's scheduled time, drops, errors, RSS and server CPU under load) and meanwhile
#      times a down alert: a service with a 3 s threshold, one beat, a webhook channel to
#      a receiver on 127.0.0.1; from the deadline to the notification row and the POST;
#   5. times GET /api/status (every service) and GET / (logged in through /login);
#   6. stops the server gracefully.
# The bench itself runs on CPU 1 (taskset), so the load generator does not share the
# server's CPU. Everything talks to 127.0.0.1 only.
#
# Environment:
#   BENCH_SCALES           services per scale, space separated (default "10000 100000 1000000")
#   BENCH_QUICK=1          short durations: 20s load, 5s idle, 1 fetch each (spans no or one
#                          minute boundary, so the boundary target reads MISS; for a look only)
#   BENCH_DURATION         steady load per scale (default 3m: spans at least two minute boundaries)
#   BENCH_IDLE             idle CPU window (default 30s)
#   BENCH_RATE             beats/s at every scale (default: 300, and 8500 at 1,000,000)
#   BENCH_INFLIGHT         most beats outstanding; a beat due past that is dropped and counted (512)
#   BENCH_IMPORT           auto (default), cli or bulk: how services get into the database
#   BENCH_IMPORT_TIMEOUT   the cli import is stopped after this long, then bulk (default 2m)
#   BENCH_SCALE_TIMEOUT    hard bound on each scale (default 45m)
#   BENCH_SERVER_ARGS      extra flags for `serve`
#   BENCH_KEEP=1           keep the work dirs (data, services.json, server.log)
#   BENCH_CRON=1           cron mode (issue 10): every service a cron job with a known pingId, a
#                          schedule (*/5 * * * *, 0 * * * *, 30 3 * * *), a zone (Europe/Riga,
#                          America/New_York, Australia/Sydney, UTC) and a grace, imported with
#                          `import --from healthchecks` (bulk: the same columns); the load pings in
#                          Healthchecks' dialect: 70 % GET /ping/<uuid>, 10 % /start?rid=, 10 % /0?rid=
#                          (the same rid, ~2 s later), 10 % /ping/<key>/<serviceId>. The run waits (up
#                          to 5 min) so that a */5 fire time, when a third of the fleet goes late at
#                          once, falls in the middle of the load. Same table and targets as plain.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCALES=${BENCH_SCALES:-"10000 100000 1000000"}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	DURATION=${BENCH_DURATION:-20s}
	IDLE=${BENCH_IDLE:-5s}
	REPEAT=1
	SETTLE=2s
else
	DURATION=${BENCH_DURATION:-3m}
	IDLE=${BENCH_IDLE:-30s}
	REPEAT=3
	SETTLE=5s
fi
RATE=${BENCH_RATE:-0}
INFLIGHT=${BENCH_INFLIGHT:-512}
IMPORT=${BENCH_IMPORT:-auto}
IMPORT_TIMEOUT=${BENCH_IMPORT_TIMEOUT:-2m}
SCALE_TIMEOUT=${BENCH_SCALE_TIMEOUT:-45m}
SERVER_ARGS=${BENCH_SERVER_ARGS:-}
KEEP=${BENCH_KEEP:-0}
MODE_ARGS=()
if [ "${BENCH_CRON:-0}" = 1 ]; then
	MODE_ARGS=(--cron)
fi

SERVER=./bin/heartbeat-monitor
SCALEBENCH=./bin/scalebench

WORK=$(mktemp -d -t heartbeat-scale.XXXXXX)
BENCH_PID=

log() { printf '==> %s\n' "$*" >&2; }

# cleanup stops a scale still running and removes the work dir. On SIGTERM
# scalebench stops its server gracefully and prints what it measured; a
# server whose scalebench died anyhow gets SIGTERM from the kernel
# (PR_SET_PDEATHSIG), so no server outlives the bench.
cleanup() {
	if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
		kill -TERM "$BENCH_PID" 2>/dev/null || true
		wait "$BENCH_PID" 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PIN_BENCH=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc --all)" -ge 2 ]; then
	PIN_BENCH=(taskset -c 1)
else
	log "WARNING: taskset missing or fewer than 2 CPUs: server and load generator are NOT pinned"
fi

log "building"
mkdir -p bin
CGO_ENABLED=0 go build -o "$SERVER" .
go build -o "$SCALEBENCH" ./cmd/scalebench

RESULTS=()
for n in $SCALES; do
	log "scale $n services${MODE_ARGS[0]+ (cron)} (load $DURATION, idle $IDLE); work dir $WORK/$n"
	mkdir -p "$WORK/$n"
	# scalebench bounds itself (--timeout); timeout(1) is the backstop.
	${PIN_BENCH[@]+"${PIN_BENCH[@]}"} timeout --signal=TERM --kill-after=2m "$SCALE_TIMEOUT" \
		"$SCALEBENCH" scale --services "$n" --bin "$SERVER" --work "$WORK/$n" \
		--import "$IMPORT" --importTimeout "$IMPORT_TIMEOUT" --rate "$RATE" --inflight "$INFLIGHT" \
		--duration "$DURATION" --idle "$IDLE" --settle "$SETTLE" --repeat "$REPEAT" \
		--serverArgs "$SERVER_ARGS" --timeout "$SCALE_TIMEOUT" --json "$WORK/$n.json" \
		${MODE_ARGS[@]+"${MODE_ARGS[@]}"} &
	BENCH_PID=$!
	rc=0
	wait "$BENCH_PID" || rc=$?
	BENCH_PID=
	if [ -f "$WORK/$n.json" ]; then
		RESULTS+=("$WORK/$n.json")
	else
		log "scale $n: no result (scalebench exited with $rc)"
	fi
	if [ "$KEEP" != 1 ]; then
		rm -rf "$WORK/$n/data" # the next scale needs the disk more than this one's data
	fi
done

if [ ${#RESULTS[@]} -gt 0 ]; then
	"$SCALEBENCH" summary "${RESULTS[@]}"
fi
