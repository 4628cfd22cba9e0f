#!/usr/bin/env bash
# bench.sh — heartbeat ingest benchmark: our server against the "floor"
# (a bare net/http + one SQLite insert per request), in one run.
#
# Usage: bash scripts/bench.sh      (or: make bench)
#        BENCH_ONLY=ping bash scripts/bench.sh   (the ping section alone, ~1.5 min)
#
# Environment:
#   BENCH_DURATION        length of each measured run (Go duration, default 20s)
#   BENCH_ROUNDS          alternating ours/floor rounds of the closed-loop runs (default 2)
#   BENCH_WARMUP          unmeasured warm-up before each program's runs (default 2s, 0 to skip)
#   BENCH_RATE            open-loop rate in beats/s (default 3000)
#   BENCH_SERVICES        services in pass 1 (default 1000)
#   BENCH_SERVICES_LARGE  services in pass 2, the RSS pass (default 10000)
#   BENCH_SKIP_OURS=1     bench the floor only (for when the server does not build)
#   BENCH_ONLY=ping       run only the ping section, on a server of its own
#   BENCH_PING_DURATION   length of each run of the ping section (default 3500ms)
#   BENCH_PING_ROUNDS     rounds of the ping section (default 6; each round runs the
#                         three endpoints, the order rotating from round to round, so a
#                         multiple of 3 puts each endpoint in each place equally often)
#   BENCH_PING_CLIENTS    closed-loop clients of the ping section (default 64)
#
# All traffic goes to 127.0.0.1. Servers run pinned to CPU 0 and the load
# generator to CPU 1 (when taskset exists). Every heartbeat acknowledged with
# a 2xx must be in the database after a graceful stop: the script checks the
# row counts and exits non-zero on a mismatch. During each of our server's runs
# the size of its write-ahead log (data.db-wal) is sampled every 50 ms; the
# script prints the largest size and the size once the load has settled, and
# exits non-zero when the log went past WAL_BOUND_MB.
#
# The ping section measures, on one server and one fleet, the server's CPU time per
# acknowledged request for POST /api/heartbeat, GET /ping/<pingId> and GET
# /ping/<key>/<serviceId>, in short rounds whose order rotates (A B C, B C A, C A B) so
# that neither the machine's drift nor one run's leftover work (a checkpoint, the
# collector) always lands on the same endpoint. Each round gives a ratio ping/heartbeat
# of runs seconds apart; the verdict per ping path, PASS or MISS for "ping CPU/beat <=
# heartbeat CPU/beat", is on the median of those ratios with no tolerance (the median,
# so that one round hit by someone else's burst of work on a shared machine does not
# decide it); the ratio of the pooled figures (all ticks over all replies) is printed
# beside it.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${BENCH_DURATION:-20s}
ROUNDS=${BENCH_ROUNDS:-2}
WARMUP=${BENCH_WARMUP:-2s}
RATE=${BENCH_RATE:-3000}
SERVICES=${BENCH_SERVICES:-1000}
SERVICES_LARGE=${BENCH_SERVICES_LARGE:-10000}
SKIP_OURS=${BENCH_SKIP_OURS:-0}
ONLY=${BENCH_ONLY:-}
PING_DURATION=${BENCH_PING_DURATION:-3500ms}
PING_ROUNDS=${BENCH_PING_ROUNDS:-6}
PING_CLIENTS=${BENCH_PING_CLIENTS:-64}
case "$ONLY" in
"" | ping) ;;
*)
	echo "bench: BENCH_ONLY must be empty or ping, got '$ONLY'" >&2
	exit 2
	;;
esac
if [ "$ONLY" = ping ] && [ "$SKIP_OURS" = 1 ]; then
	echo "bench: BENCH_ONLY=ping needs our server (BENCH_SKIP_OURS=1 is set)" >&2
	exit 2
fi
WAL_BOUND_MB=64 # the write-ahead log may never pass this (a 1 GB volume must not fill)
SU_EMAIL=bench@example.com
SU_PASSWORD=bench-password-1234

SERVER=./bin/heartbeat-monitor
FLOOR=./bin/floor
LOADGEN=./bin/loadgen

WORK=$(mktemp -d -t heartbeat-bench.XXXXXX)
RESULTS=$WORK/results
mkdir -p "$RESULTS"
PIDS=()
FAILED=0

log() { printf '==> %s\n' "$*" >&2; }

# cleanup kills every server this script started and removes the temp dir.
cleanup() {
	local pid
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- pinning ---------------------------------------------------------------
PIN_SERVER=()
PIN_LOAD=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	PIN_SERVER=(taskset -c 0)
	PIN_LOAD=(taskset -c 1)
else
	log "WARNING: taskset missing or fewer than 2 CPUs: server and load generator are NOT pinned"
fi

# ---- build -----------------------------------------------------------------
log "building"
mkdir -p bin
if [ "$SKIP_OURS" != 1 ]; then
	go build -o "$SERVER" .
fi
go build -o "$FLOOR" ./cmd/floor
go build -o "$LOADGEN" ./cmd/loadgen

# ---- helpers ---------------------------------------------------------------

# forget_pid PID: drop PID from the cleanup list.
forget_pid() {
	local keep=() p
	for p in ${PIDS[@]+"${PIDS[@]}"}; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=(${keep[@]+"${keep[@]}"})
}

# wait_healthy URL LOGFILE: wait until URL answers 200, else show the log.
wait_healthy() {
	if ! "$LOADGEN" wait --url "$1" --timeout 60s; then
		log "server did not become healthy; last lines of $2:"
		tail -n 40 "$2" >&2 || true
		return 1
	fi
}

# stop_server PID NAME: SIGTERM, wait up to 60 s for a graceful exit.
stop_server() {
	local pid=$1 name=$2 i rc=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "ERROR: $name did not stop within 60s after SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		FAILED=1
	fi
	wait "$pid" 2>/dev/null || rc=$?
	forget_pid "$pid"
	if [ "$rc" -ne 0 ]; then
		log "WARNING: $name exited with status $rc"
	fi
}

# start_ours DATA_DIR PORT: create the superuser, start our server pinned
# to CPU 0 and wait for /api/health. Sets SERVER_PID. It runs with --sync normal,
# the floor's synchronous setting, so the two are compared like for like; what the
# default --sync full costs is measured by bench-sync.sh.
start_ours() {
	local data=$1 port=$2
	mkdir -p "$data"
	"$SERVER" superuser upsert "$SU_EMAIL" "$SU_PASSWORD" --dir "$data" --dev=false \
		>"$data.superuser.log" 2>&1 || {
		log "superuser upsert failed:"
		cat "$data.superuser.log" >&2
		return 1
	}
	${PIN_SERVER[@]+"${PIN_SERVER[@]}"} "$SERVER" serve --dir "$data" --dev=false \
		--http "127.0.0.1:$port" --rateLimit 0 --keepHeartbeats 0 --sync normal >"$data.server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_healthy "http://127.0.0.1:$port/api/health" "$data.server.log"
}

# start_floor DB PORT SERVICES: start the floor pinned to CPU 0. Sets FLOOR_PID.
start_floor() {
	local db=$1 port=$2 services=$3
	${PIN_SERVER[@]+"${PIN_SERVER[@]}"} "$FLOOR" --addr "127.0.0.1:$port" --db "$db" \
		--services "$services" >"$db.log" 2>&1 &
	FLOOR_PID=$!
	PIDS+=("$FLOOR_PID")
	wait_healthy "http://127.0.0.1:$port/api/health" "$db.log"
}

# load NAME URL SERVICES [loadgen flags...]: run the load generator pinned
# to CPU 1, save its JSON to $RESULTS/NAME.json (NAME starting with "_" is
# not reported) and add its 2xx count to LAST_OK. With WAL_FILE set, the
# size of that write-ahead log is sampled during the run (see check_wal).
load() {
	local name=$1 url=$2 services=$3 t0 t1
	shift 3
	if [ -n "${WAL_FILE:-}" ]; then
		set -- "$@" --wal "$WAL_FILE"
	fi
	t0=$(cpu_ticks "${TARGET_PID:-}")
	${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" run --url "$url" --services "$services" --json "$@" \
		>"$RESULTS/$name.json"
	t1=$(cpu_ticks "${TARGET_PID:-}")
	if [ -n "${WAL_FILE:-}" ]; then
		check_wal "$name" "$RESULTS/$name.json"
	fi
	LAST_OK=$(sed -n 's/.*"ok2xx":\([0-9]*\).*/\1/p' "$RESULTS/$name.json")
	if [ -z "$LAST_OK" ]; then
		log "ERROR: no ok2xx in $RESULTS/$name.json"
		return 1
	fi
	if [ -n "$t0" ] && [ -n "$t1" ]; then
		echo "$((t1 - t0))" >"$RESULTS/$name.ticks"
	fi
	if [ -n "$t0" ] && [ -n "$t1" ] && [ "$LAST_OK" -gt 0 ]; then
		# Server CPU time (user + system) per acknowledged beat, in microseconds: less
		# sensitive than beats/s to whatever else the machine is doing.
		awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$LAST_OK" 'BEGIN { printf "%.1f\n", t * 1e6 / hz / n }' >"$RESULTS/$name.cpu"
	fi
}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_ticks PID: user + system CPU ticks used so far by PID (empty without a PID).
cpu_ticks() {
	[ -n "$1" ] || return 0
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || true
}

# check_rows NAME DB EXPECTED: compare the heartbeat row count with the
# number of acknowledged beats.
DURABILITY=()
check_rows() {
	local name=$1 db=$2 want=$3 got
	got=$("$LOADGEN" count --db "$db" --table heartbeats)
	if [ "$got" -eq "$want" ]; then
		DURABILITY+=("OK        $name: $got rows == $want acknowledged beats")
	else
		DURABILITY+=("MISMATCH  $name: $got rows != $want acknowledged beats")
		FAILED=1
	fi
	log "${DURABILITY[-1]}"
}

# check_wal NAME JSON: record the write-ahead log figures of a run; a log
# past WAL_BOUND_MB fails the bench.
WAL_LINES=()
check_wal() {
	local name=$1 json=$2 max after settle
	max=$(sed -n 's/.*"maxBytes":\([0-9]*\).*/\1/p' "$json")
	after=$(sed -n 's/.*"afterBytes":\([0-9]*\).*/\1/p' "$json")
	settle=$(sed -n 's/.*"settleS":\([0-9.]*\).*/\1/p' "$json")
	if [ -z "$max" ] || [ -z "$after" ]; then
		WAL_LINES+=("ERROR     $name: no WAL figures in $json")
		FAILED=1
	elif [ "$max" -gt $((WAL_BOUND_MB << 20)) ]; then
		WAL_LINES+=("OVER      $name: max $(mb $((max / 1024))) MB during load > $WAL_BOUND_MB MB; $(mb $((after / 1024))) MB ${settle}s after it")
		FAILED=1
	else
		WAL_LINES+=("OK        $name: max $(mb $((max / 1024))) MB during load; $(mb $((after / 1024))) MB ${settle}s after it")
	fi
	log "${WAL_LINES[-1]}"
}

# rss_kb PID FIELD: a memory figure from /proc/PID/status in kB.
rss_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

# sample_rss PID OUT: append VmRSS (kB) every 200 ms while PID lives.
sample_rss() {
	local v
	while kill -0 "$1" 2>/dev/null; do
		v=$(rss_kb "$1" VmRSS)
		if [ -n "$v" ]; then
			echo "$v" >>"$2"
		fi
		sleep 0.2
	done
}

mb() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ---- ping section: CPU per beat of the three ways to beat ----------------------
PING_EPS=(heartbeat ping-uuid ping-slug)

# ping_section URL PID: on the running server PID (its SERVICES services made by
# loadgen setup), a 1 s unmeasured warm-up of each endpoint, then PING_ROUNDS rounds
# of the three endpoints, the order rotated by one each round. Sets PING_SECTION_OK
# to the 2xx replies of all of them (each one a heartbeats row).
ping_section() {
	local url=$1 pid=$2 ep round k
	PING_SECTION_OK=0
	log "ping section: ${PING_EPS[*]}, $PING_ROUNDS rounds of $PING_DURATION each, $PING_CLIENTS clients"
	for ep in "${PING_EPS[@]}"; do
		load "_ping-warmup-$ep" "$url" "$SERVICES" --label "$ep" --endpoint "$ep" --mode closed \
			--concurrency "$PING_CLIENTS" --duration 1s
		PING_SECTION_OK=$((PING_SECTION_OK + LAST_OK))
	done
	for ((round = 1; round <= PING_ROUNDS; round++)); do
		for ((k = 0; k < ${#PING_EPS[@]}; k++)); do
			ep=${PING_EPS[$(((k + round - 1) % ${#PING_EPS[@]}))]}
			TARGET_PID=$pid load "ping-$ep-r$round" "$url" "$SERVICES" --label "$ep" --endpoint "$ep" \
				--mode closed --concurrency "$PING_CLIENTS" --duration "$PING_DURATION"
			PING_SECTION_OK=$((PING_SECTION_OK + LAST_OK))
		done
	done
}

# ping_summary: the ping section's table (server CPU per acknowledged request, per
# round and pooled over the rounds, i.e. all CPU ticks over all 2xx replies) and a PASS
# or MISS line per ping path.
ping_summary() {
	local ep round f ticks ok sum_t sum_ok row hb pooled ratio rounds r_hb r_ep verdict median
	declare -A POOLED
	echo "-- ping paths: server CPU per acknowledged request, one server, $SERVICES services, closed loop, $PING_CLIENTS clients, $PING_ROUNDS rounds of $PING_DURATION (order rotates A B C, B C A, C A B) --"
	echo "   (verdict: median over the rounds of ping/heartbeat, no tolerance; pooled = all CPU ticks / all 2xx replies)"
	printf '%-10s' endpoint
	for ((round = 1; round <= PING_ROUNDS; round++)); do printf '%12s' "r$round us"; done
	printf '%12s%12s%10s\n' "pooled us" "req/s" "p99 ms"
	for ep in "${PING_EPS[@]}"; do
		row=$(printf '%-10s' "$ep")
		sum_t=0 sum_ok=0
		for ((round = 1; round <= PING_ROUNDS; round++)); do
			f=$RESULTS/ping-$ep-r$round
			if [ -f "$f.cpu" ]; then row+=$(printf '%12s' "$(cat "$f.cpu")"); else row+=$(printf '%12s' -); fi
			if [ -f "$f.ticks" ] && [ -f "$f.json" ]; then
				ticks=$(cat "$f.ticks")
				ok=$(sed -n 's/.*"ok2xx":\([0-9]*\).*/\1/p' "$f.json")
				sum_t=$((sum_t + ticks)) sum_ok=$((sum_ok + ok))
			fi
		done
		if [ "$sum_ok" -gt 0 ]; then
			POOLED[$ep]=$(awk -v t="$sum_t" -v hz="$CLK_TCK" -v n="$sum_ok" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
		else
			POOLED[$ep]=""
		fi
		row+=$(printf '%12s' "${POOLED[$ep]:--}")
		row+=$(awk -v n="$PING_ROUNDS" -v ep="$ep" -v dir="$RESULTS" 'BEGIN {
			for (r = 1; r <= n; r++) {
				f = dir "/ping-" ep "-r" r ".json"
				while ((getline line < f) > 0) {
					if (match(line, /"beatsPerSec":[0-9.]+/)) { bps += substr(line, RSTART + 14, RLENGTH - 14); m++ }
					if (match(line, /"p99Ms":[0-9.]+/)) { p = substr(line, RSTART + 8, RLENGTH - 8) + 0; if (p > p99) p99 = p }
				}
				close(f)
			}
			if (m > 0) printf "%12.0f%10.2f", bps / m, p99; else printf "%12s%10s", "-", "-"
		}')
		echo "$row"
	done
	hb=${POOLED[heartbeat]:-}
	for ep in ping-uuid ping-slug; do
		pooled=${POOLED[$ep]:-}
		if [ -z "$hb" ] || [ -z "$pooled" ]; then
			echo "MISS  $ep: not measured"
			FAILED=1
			continue
		fi
		ratio=$(awk -v a="$pooled" -v b="$hb" 'BEGIN { printf "%.3f", a / b }')
		rounds=""
		for ((round = 1; round <= PING_ROUNDS; round++)); do
			r_hb=$RESULTS/ping-heartbeat-r$round.cpu r_ep=$RESULTS/ping-$ep-r$round.cpu
			if [ -f "$r_hb" ] && [ -f "$r_ep" ]; then
				rounds+=" $(awk -v a="$(cat "$r_ep")" -v b="$(cat "$r_hb")" 'BEGIN { printf "%.2f", a / b }')"
			fi
		done
		if [ -z "$rounds" ]; then
			echo "MISS  $ep: no round measured both"
			FAILED=1
			continue
		fi
		median=$(echo "$rounds" | tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
		verdict=MISS
		if awk -v m="$median" 'BEGIN { exit !(m <= 1) }'; then verdict=PASS; fi
		echo "$verdict  $ep CPU/beat <= heartbeat CPU/beat: median ratio $median over $PING_ROUNDS rounds (no tolerance); pooled $pooled us vs $hb us, ratio $ratio; per round:$rounds"
	done
}

# print_header: the machine and the conditions of the run.
print_header() {
	echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine:  $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr)"
	echo "go:       $(go version | awk '{ print $3 }')"
	if [ ${#PIN_SERVER[@]} -gt 0 ]; then
		echo "pinning:  servers on CPU 0, load generator on CPU 1"
	else
		echo "pinning:  NONE (taskset missing)"
	fi
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min load average at the end)"
}

if [ "$ONLY" = ping ]; then
	PORT=$("$LOADGEN" freeport)
	URL=http://127.0.0.1:$PORT
	DATA=$WORK/ping
	log "ping only: our server on $URL, $SERVICES services"
	start_ours "$DATA" "$PORT"
	PING_PID=$SERVER_PID
	${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" setup --url "$URL" --services "$SERVICES" \
		--email "$SU_EMAIL" --password "$SU_PASSWORD" --concurrency 16 >&2
	ping_section "$URL" "$PING_PID"
	stop_server "$PING_PID" "our server"
	check_rows "ours, ping section ($SERVICES services)" "$DATA/data.db" "$PING_SECTION_OK"
	echo
	echo "================ ping path benchmark (BENCH_ONLY=ping) ================"
	print_header
	echo
	ping_summary
	echo
	echo "durability (rows in heartbeats after graceful stop vs 2xx replies, warm-up included):"
	for line in ${DURABILITY[@]+"${DURABILITY[@]}"}; do
		echo "  $line"
	done
	echo "======================================================================="
	if [ "$FAILED" -ne 0 ]; then
		echo "bench: FAILED (see MISMATCH, MISS or errors above)" >&2
		exit 1
	fi
	exit 0
fi

# ---- pass 1: 1,000 services ------------------------------------------------
log "work dir $WORK; duration $DURATION per run, warm-up $WARMUP, open-loop rate $RATE/s"

# Both programs serve at once (pinned to the same CPU, only one loaded at a time) and
# the closed-loop runs alternate between them, BENCH_ROUNDS times: a shared machine's
# background load then weighs on both sides of each ratio alike.
FLOOR_PORT=$("$LOADGEN" freeport)
FLOOR_URL=http://127.0.0.1:$FLOOR_PORT
mkdir -p "$WORK/floor"
FLOOR_DB=$WORK/floor/floor.db
log "pass 1: floor on $FLOOR_URL, $SERVICES services"
start_floor "$FLOOR_DB" "$FLOOR_PORT" "$SERVICES"
FLOOR_OK=0
if [ "$SKIP_OURS" != 1 ]; then
	PORT=$("$LOADGEN" freeport)
	URL=http://127.0.0.1:$PORT
	DATA=$WORK/ours1
	log "pass 1: our server on $URL, $SERVICES services"
	start_ours "$DATA" "$PORT"
	OURS1_PID=$SERVER_PID
	${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" setup --url "$URL" --services "$SERVICES" \
		--email "$SU_EMAIL" --password "$SU_PASSWORD" --concurrency 16 >&2
fi
OURS_OK=0
if [ "$WARMUP" != 0 ] && [ "$WARMUP" != 0s ]; then
	if [ "$SKIP_OURS" != 1 ]; then
		WAL_FILE=$DATA/data.db-wal load _ours-warmup "$URL" "$SERVICES" --label ours --mode closed --concurrency 16 --duration "$WARMUP"
		OURS_OK=$((OURS_OK + LAST_OK))
	fi
	load _floor-warmup "$FLOOR_URL" "$SERVICES" --label floor --mode closed --concurrency 16 --duration "$WARMUP"
	FLOOR_OK=$((FLOOR_OK + LAST_OK))
fi
for ((round = 1; round <= ROUNDS; round++)); do
	for c in 16 64; do
		if [ "$SKIP_OURS" != 1 ]; then
			TARGET_PID=$OURS1_PID WAL_FILE=$DATA/data.db-wal load "ours-closed-$c-r$round" "$URL" "$SERVICES" --label ours --mode closed --concurrency "$c" --duration "$DURATION"
			OURS_OK=$((OURS_OK + LAST_OK))
		fi
		TARGET_PID=$FLOOR_PID load "floor-closed-$c-r$round" "$FLOOR_URL" "$SERVICES" --label floor --mode closed --concurrency "$c" --duration "$DURATION"
		FLOOR_OK=$((FLOOR_OK + LAST_OK))
	done
done
if [ "$SKIP_OURS" != 1 ]; then
	WAL_FILE=$DATA/data.db-wal load ours-open-64 "$URL" "$SERVICES" --label ours --mode open --rate "$RATE" --concurrency 64 --duration "$DURATION"
	OURS_OK=$((OURS_OK + LAST_OK))
fi
load floor-open-64 "$FLOOR_URL" "$SERVICES" --label floor --mode open --rate "$RATE" --concurrency 64 --duration "$DURATION"
FLOOR_OK=$((FLOOR_OK + LAST_OK))
if [ "$SKIP_OURS" != 1 ]; then
	# The ping section runs on this server once the floor comparison is done; its
	# pings are heartbeats rows too, so the durability check below covers them.
	ping_section "$URL" "$OURS1_PID"
	OURS_OK=$((OURS_OK + PING_SECTION_OK))
	stop_server "$OURS1_PID" "our server"
	check_rows "ours ($SERVICES services)" "$DATA/data.db" "$OURS_OK"
else
	log "BENCH_SKIP_OURS=1: skipping our server"
fi
stop_server "$FLOOR_PID" "floor"
check_rows "floor ($SERVICES services)" "$FLOOR_DB" "$FLOOR_OK"

# ---- pass 2: 10,000 services, peak RSS --------------------------------------
RSS_LINE="peak RSS: not measured (BENCH_SKIP_OURS=1)"
if [ "$SKIP_OURS" != 1 ]; then
	PORT=$("$LOADGEN" freeport)
	URL=http://127.0.0.1:$PORT
	DATA=$WORK/ours2
	log "pass 2: our server on $URL, $SERVICES_LARGE services"
	start_ours "$DATA" "$PORT"
	${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" setup --url "$URL" --services "$SERVICES_LARGE" \
		--email "$SU_EMAIL" --password "$SU_PASSWORD" --concurrency 16 >&2
	RSS_IDLE=$(rss_kb "$SERVER_PID" VmRSS)
	: >"$WORK/rss.txt"
	sample_rss "$SERVER_PID" "$WORK/rss.txt" &
	SAMPLER=$!
	WAL_FILE=$DATA/data.db-wal load ours-10k-closed-64 "$URL" "$SERVICES_LARGE" --label "ours-${SERVICES_LARGE}svc" --mode closed --concurrency 64 --duration "$DURATION"
	OURS2_OK=$LAST_OK
	HWM=$(rss_kb "$SERVER_PID" VmHWM)
	kill "$SAMPLER" 2>/dev/null || true
	wait "$SAMPLER" 2>/dev/null || true
	PEAK=$(sort -n "$WORK/rss.txt" | tail -n 1)
	RSS_LINE="RSS of our server with $SERVICES_LARGE services: before load $(mb "$RSS_IDLE") MB, peak sampled during closed-64 load $(mb "$PEAK") MB ($(wc -l <"$WORK/rss.txt") samples at 200 ms), VmHWM $(mb "$HWM") MB"
	stop_server "$SERVER_PID" "our server"
	check_rows "ours ($SERVICES_LARGE services)" "$DATA/data.db" "$OURS2_OK"
fi

# ---- dashboard render ---------------------------------------------------------
log "dashboard render (1,000 services) and partial size (100 services)"
RENDER=$(RENDER_REPORT=1 go test -count=1 -run 'TestRenderReport|TestOverviewServerRender' -v ./views/ ./app/ |
	grep -E '^(render|server):') || {
	log "ERROR: the render report did not run"
	FAILED=1
}

# ---- summary ----------------------------------------------------------------
# report_files NAME...: the result files that exist, in the order given.
report_files() {
	local f
	for f in "$@"; do
		if [ -f "$RESULTS/$f.json" ]; then
			echo "$RESULTS/$f.json"
		fi
	done
}

echo
echo "================ heartbeat ingest benchmark ================"
print_header
echo "runs:     $DURATION each; open loop at $RATE beats/s; latency over 2xx replies, open loop from scheduled send time"
echo
for ((round = 1; round <= ROUNDS; round++)); do
	echo "-- round $round of $ROUNDS (runs alternate ours, floor) --"
	mapfile -t FILES < <(report_files "ours-closed-16-r$round" "floor-closed-16-r$round" "ours-closed-64-r$round" "floor-closed-64-r$round")
	"$LOADGEN" report --a ours --b floor "${FILES[@]}"
	for c in 16 64; do
		if [ -f "$RESULTS/ours-closed-$c-r$round.cpu" ] && [ -f "$RESULTS/floor-closed-$c-r$round.cpu" ]; then
			echo "server CPU per beat, closed loop, $c clients: ours $(cat "$RESULTS/ours-closed-$c-r$round.cpu") us, floor $(cat "$RESULTS/floor-closed-$c-r$round.cpu") us"
		fi
	done
	echo
done
echo "-- open loop and $SERVICES_LARGE services --"
mapfile -t FILES < <(report_files ours-open-64 floor-open-64 ours-10k-closed-64)
"$LOADGEN" report --a ours --b floor "${FILES[@]}"
echo
echo "$RSS_LINE"
echo
if [ "$SKIP_OURS" != 1 ]; then
	ping_summary
	echo
fi
echo "dashboard (targets: GET / with 1,000 services under 50 ms median; refresh partial for 100 services under 30 KB):"
echo "${RENDER:-not measured}" | sed 's/^/  /'
echo
echo "write-ahead log of our server (data.db-wal sampled every 50 ms; bound $WAL_BOUND_MB MB; after = once the load settled, at most 5 s):"
for line in ${WAL_LINES[@]+"${WAL_LINES[@]}"}; do
	echo "  $line"
done
echo
echo "durability (rows in heartbeats after graceful stop vs 2xx replies, warm-up included):"
for line in ${DURABILITY[@]+"${DURABILITY[@]}"}; do
	echo "  $line"
done
echo "============================================================"
bash scripts/bench-sync.sh || FAILED=1 # --sync full against normal, and --replicate (README: durability)

if [ "$FAILED" -ne 0 ]; then
	echo "bench: FAILED (see MISMATCH, OVER or errors above)" >&2
	exit 1
fi
