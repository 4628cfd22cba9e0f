#!/usr/bin/env bash
# bench-sync.sh — what --sync full costs against --sync normal (and what --replicate to a
# local directory adds), on our server alone: beats/s, latency and server CPU per beat in
# a closed loop. The modes alternate over BENCH_SYNC_ROUNDS rounds so that whatever else
# the machine does weighs on each alike. make bench runs it after bench.sh's passes.
#
# Environment:
#   BENCH_SYNC_DURATION   length of each measured run (default 10s)
#   BENCH_SYNC_ROUNDS     rounds (default 2)
#   BENCH_SYNC_CONCURRENCY closed-loop workers (default 64)
#   BENCH_SERVICES        services (default 1000)
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${BENCH_SYNC_DURATION:-10s}
ROUNDS=${BENCH_SYNC_ROUNDS:-2}
CONC=${BENCH_SYNC_CONCURRENCY:-64}
SERVICES=${BENCH_SERVICES:-1000}
SERVER=./bin/heartbeat-monitor
LOADGEN=./bin/loadgen
WORK=$(mktemp -d -t heartbeat-bench-sync.XXXXXX)
PIDS=()
cleanup() {
	local pid
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	PIN_SERVER=(taskset -c 0) PIN_LOAD=(taskset -c 1)
fi
mkdir -p bin
go build -o "$SERVER" . && go build -o "$LOADGEN" ./cmd/loadgen

# One server per mode, each on its own data directory, all started first.
MODES=(normal full full+replicate)
declare -A URLS PIDOF
port=18700
for m in "${MODES[@]}"; do
	port=$((port + 1))
	data=$WORK/${m//+/-}
	flags=(--sync "${m%%+*}")
	[ "$m" = full+replicate ] && flags+=(--replicate "file://$WORK/replica")
	"$SERVER" superuser upsert bench@example.com bench-password-1234 --dir "$data" --dev=false >/dev/null
	${PIN_SERVER[@]+"${PIN_SERVER[@]}"} "$SERVER" serve --dir "$data" --dev=false --http "127.0.0.1:$port" \
		--rateLimit 0 --keepHeartbeats 0 "${flags[@]}" >"$data.log" 2>&1 &
	PIDOF[$m]=$!
	PIDS+=("$!")
	URLS[$m]=http://127.0.0.1:$port
	"$LOADGEN" wait --url "${URLS[$m]}/api/health" --timeout 60s
	${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" setup --url "${URLS[$m]}" --services "$SERVICES" \
		--email bench@example.com --password bench-password-1234 --concurrency 16 >/dev/null 2>&1
	${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" run --url "${URLS[$m]}" --services "$SERVICES" --label "$m" \
		--mode closed --concurrency 16 --duration 2s >/dev/null 2>&1 # warm-up
done

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
echo "=== --sync: closed loop, $CONC workers, $SERVICES services, $DURATION x $ROUNDS rounds (server on CPU 0) ==="
for ((r = 1; r <= ROUNDS; r++)); do
	for m in "${MODES[@]}"; do
		t0=$(ticks "${PIDOF[$m]}")
		line=$(${PIN_LOAD[@]+"${PIN_LOAD[@]}"} "$LOADGEN" run --url "${URLS[$m]}" --services "$SERVICES" --label "sync=$m" \
			--mode closed --concurrency "$CONC" --duration "$DURATION" --json 2>&1 >"$WORK/r.json")
		t1=$(ticks "${PIDOF[$m]}")
		ok=$(sed -n 's/.*"ok2xx":\([0-9]*\).*/\1/p' "$WORK/r.json")
		cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$ok" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n }')
		echo "round $r: $line cpu/beat=${cpu}us"
	done
done
