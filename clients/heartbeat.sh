#!/usr/bin/env bash
# heartbeat.sh: send a heartbeat to a Heartbeat Monitor server. Needs bash and curl.
#
#   HEARTBEAT_URL=https://monitor.example.com HEARTBEAT_SERVICE_ID=backup \
#   HEARTBEAT_API_KEY=... ./heartbeat.sh [options]
#
# Run ./heartbeat.sh --help for the options. With --start or --exit N it sends a ping
# instead (/ping/<key>/<serviceId>/start or /<N>), so that a cron line can report a run:
# its start, then its exit status with the same --rid. Exit codes: 0 accepted (HTTP 200,
# or 207 when part of a batch was refused), 1 not accepted or unreachable, 2 wrong usage.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: heartbeat.sh [options]

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
EOF
}

me=heartbeat.sh
usage_error() {
	printf '%s: %s (see --help)\n' "$me" "$1" >&2
	exit 2
}

url=${HEARTBEAT_URL:-}
services=${HEARTBEAT_SERVICE_ID:-}
key=${HEARTBEAT_API_KEY:-}
status=${HEARTBEAT_STATUS:-up}
message=${HEARTBEAT_MESSAGE:-}
metadata=${HEARTBEAT_METADATA:-}
no_hostname=${HEARTBEAT_NO_HOSTNAME:-}
timeout=${HEARTBEAT_TIMEOUT:-10}
retries=${HEARTBEAT_RETRIES:-3}
quiet=
start=
exit_status=
rid=
headers=()

while [ $# -gt 0 ]; do
	opt=$1
	shift
	case $opt in
	-h | --help)
		usage
		exit 0
		;;
	-q | --quiet)
		quiet=1
		continue
		;;
	--no-hostname)
		no_hostname=1
		continue
		;;
	--start)
		start=1
		continue
		;;
	--*=*)
		val=${opt#*=}
		opt=${opt%%=*}
		;;
	-u | --url | -s | --service | -k | --key | --status | -m | --message | --metadata | --header | --timeout | --retries | --exit | --rid)
		[ $# -gt 0 ] || usage_error "$opt needs a value"
		val=$1
		shift
		;;
	*) usage_error "unknown option $opt" ;;
	esac
	case $opt in
	-u | --url) url=$val ;;
	-s | --service) services=$val ;;
	-k | --key) key=$val ;;
	--status) status=$val ;;
	-m | --message) message=$val ;;
	--metadata) metadata=$val ;;
	--header) headers+=("$val") ;;
	--timeout) timeout=$val ;;
	--retries) retries=$val ;;
	--exit) exit_status=$val ;;
	--rid) rid=$val ;;
	*) usage_error "unknown option $opt" ;;
	esac
done

command -v curl >/dev/null || {
	echo "$me: curl is not installed" >&2
	exit 2
}

missing=()
[ -n "$url" ] || missing+=("--url (HEARTBEAT_URL)")
[ -n "$services" ] || missing+=("--service (HEARTBEAT_SERVICE_ID)")
[ -n "$key" ] || missing+=("--key (HEARTBEAT_API_KEY)")
if [ ${#missing[@]} -gt 0 ]; then
	usage_error "missing $(
		IFS=,
		echo "${missing[*]}"
	)"
fi
case $url in
http://?* | https://?*) ;;
*) usage_error "--url '$url' is not an http(s) URL" ;;
esac
status=$(printf '%s' "$status" | tr '[:upper:]' '[:lower:]')
case $status in
up | down | degraded) ;;
*) usage_error "--status '$status' is not up, down or degraded" ;;
esac
[[ $timeout =~ ^[0-9]+([.][0-9]+)?$ ]] || usage_error "--timeout '$timeout' is not a number of seconds"
[[ $retries =~ ^[0-9]+$ ]] || usage_error "--retries '$retries' is not a whole number"
for h in ${headers[@]+"${headers[@]}"}; do
	[[ $h =~ ^[A-Za-z0-9-]+:.* ]] || usage_error "--header '$h' is not 'Name: value'"
done
[ -z "$start" ] || [ -z "$exit_status" ] || usage_error "--start and --exit are two pings: give one"
if [ -n "$exit_status" ]; then
	[[ $exit_status =~ ^[0-9]{1,3}$ ]] && [ "$((10#$exit_status))" -le 255 ] || usage_error "--exit '$exit_status' is not an exit status 0-255"
	exit_status=$((10#$exit_status))
fi
hex='[0-9A-Fa-f]'
[ -z "$rid" ] || [[ $rid =~ ^$hex{8}-$hex{4}-$hex{4}-$hex{4}-$hex{12}$ ]] || usage_error "--rid '$rid' is not a UUID"
[ -z "$rid" ] || [ -n "$start$exit_status" ] || usage_error "--rid goes with --start or --exit"

# json_str prints $1 as a JSON string. Control characters other than tab, newline and
# carriage return are dropped.
json_str() {
	local s
	s=$(printf '%s' "$1" | tr -d '\000-\010\013\014\016-\037')
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$s"
}

trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	s=${s%"${s##*[![:space:]]}"}
	printf '%s' "$s"
}

# The metadata object: the hostname, then the fields of --metadata (the server checks
# that it is JSON; here it only has to look like an object).
meta_fields=
if [ -n "$(trim "$metadata")" ]; then
	metadata=$(trim "$metadata")
	case $metadata in
	\{*\}) ;;
	*) usage_error "--metadata must be a JSON object, like '{\"env\":\"prod\"}'" ;;
	esac
	meta_fields=$(trim "${metadata:1:${#metadata}-2}")
fi
case $no_hostname in 1 | true | yes) no_hostname=1 ;; *) no_hostname= ;; esac
if [ -z "$no_hostname" ] && [[ $meta_fields != *'"hostname"'* ]]; then
	host=${HOSTNAME:-$(uname -n)}
	meta_fields="\"hostname\":$(json_str "$host")${meta_fields:+,$meta_fields}"
fi

fields="\"status\":\"$status\""
[ -z "$message" ] || fields+=",\"message\":$(json_str "$message")"
[ -z "$meta_fields" ] || fields+=",\"metadata\":{$meta_fields}"

ids=()
IFS=, read -ra parts <<<"$services"
for id in ${parts[@]+"${parts[@]}"}; do
	id=$(trim "$id")
	[ -n "$id" ] || continue
	[[ $id =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]] || usage_error "service '$id' is not a valid serviceId (1-100 of A-Z a-z 0-9 . _ -)"
	ids+=("$id")
done
[ ${#ids[@]} -gt 0 ] || usage_error "--service names no service"
if [ ${#ids[@]} -eq 1 ]; then
	body="{\"serviceId\":\"${ids[0]}\",$fields}"
else
	body='{"services":['
	sep=
	for id in "${ids[@]}"; do
		body+="$sep{\"serviceId\":\"$id\",$fields}"
		sep=,
	done
	body+=']}'
fi

url=${url%/}
case $url in
*/api/heartbeat) endpoint=$url ;;
*) endpoint=$url/api/heartbeat ;;
esac

# The key goes to curl in files, not on its command line, where ps would show it: in a
# header for a beat, in the URL (read from a config file) for a ping.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
umask 077
extra_headers() {
	for h in ${headers[@]+"${headers[@]}"}; do
		echo "$h"
	done
}

# set_url writes curl's config file naming URL $1.
set_url() {
	local u=${1//\\/\\\\}
	u=${u//\"/\\\"}
	printf 'url = "%s"\n' "$u" >"$tmp/config"
}

# path_escape prints $1 percent-encoded for a URL path segment.
path_escape() {
	local LC_ALL=C s=$1 out= c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) printf -v c '%%%02X' "'$c" && out+=$c ;;
		esac
	done
	printf '%s' "$out"
}

# field NAME prints the first string value of NAME in the reply.
field() {
	sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$tmp/reply" | head -n 1
}
one_line() {
	tr '\r\n\t' '   ' | cut -c 1-200
}
# failures prints "serviceId: error" for each refused entry of a batch reply.
failures() {
	grep -o '"serviceId":"[^"]*","success":false,"error":"[^"]*"' "$tmp/reply" |
		sed 's/"serviceId":"\([^"]*\)","success":false,"error":"\([^"]*\)"/\1: \2/'
}

# send posts $tmp/request with the headers in $tmp/headers to the URL in $tmp/config,
# retrying on network errors, 5xx and 429. $1 is beat or ping: how the reply is read.
# It returns 0 when the request was accepted (code holds the HTTP status), and 1 with
# the reason in reason otherwise.
send() {
	local mode=$1 attempt=1 rc wait_s retry err sep failed shift_by base ms
	while :; do
		: >"$tmp/reply"
		: >"$tmp/reply-headers"
		code=$(curl -sS -X POST -K "$tmp/config" -o "$tmp/reply" -D "$tmp/reply-headers" -w '%{http_code}' \
			--max-time "$timeout" -H @"$tmp/headers" -A "heartbeat.sh" \
			--data-binary @"$tmp/request" 2>"$tmp/curl-error")
		rc=$?
		wait_s=
		retry=
		if [ $rc -ne 0 ]; then
			reason=$(tail -n 1 "$tmp/curl-error" | one_line)
			retry=1
		else
			case $mode,$code in
			beat,200 | beat,207)
				grep -q '"success":true' "$tmp/reply" && return 0
				reason="HTTP $code: unexpected reply (is the URL the heartbeat server?): $(one_line <"$tmp/reply")"
				;;
			ping,200 | ping,201)
				case $(tr -d ' \r\n' <"$tmp/reply") in OK | Created) return 0 ;; esac
				reason="HTTP $code: unexpected reply (is the URL the heartbeat server?): $(one_line <"$tmp/reply")"
				;;
			*,3??) reason="HTTP $code: redirected to $(sed -n 's/^[Ll]ocation:[[:space:]]*//p' "$tmp/reply-headers" | one_line) (use the server's final URL)" ;;
			*)
				err=
				if [ "$mode" = ping ]; then
					:
				elif grep -q '"results"' "$tmp/reply"; then
					err=$(field message)
					sep=": "
					while IFS= read -r failed; do
						err+="$sep$failed"
						sep="; "
					done < <(failures)
				else
					err=$(field error)
					[ -n "$err" ] || err=$(field message)
				fi
				[ -n "$err" ] || err=$(one_line <"$tmp/reply")
				[ -n "$err" ] || err="(empty reply)"
				reason="HTTP $code: $err"
				case $code in
				429 | 5??)
					retry=1
					wait_s=$(sed -n 's/^[Rr]etry-[Aa]fter:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$tmp/reply-headers" | tail -n 1)
					;;
				esac
				;;
			esac
		fi
		if [ -z "$retry" ] || [ "$attempt" -gt "$retries" ]; then
			[ "$attempt" -eq 1 ] || reason="$reason (after $attempt attempts)"
			return 1
		fi
		# Wait as the server asked (at most 60 s), or 1 s, 2 s, 4 s ... (at most 30 s) plus up
		# to a quarter more, so that clients started by the same cron minute spread out.
		if [ -n "$wait_s" ] && [ "$wait_s" -gt 0 ]; then
			[ "$wait_s" -le 60 ] || wait_s=60
			sleep "$wait_s"
		else
			shift_by=$((attempt - 1))
			[ $shift_by -le 5 ] || shift_by=5
			base=$((1000 << shift_by))
			[ $base -le 30000 ] || base=30000
			ms=$((base + RANDOM % (base / 4 + 1)))
			sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		fi
		attempt=$((attempt + 1))
	done
}

if [ -n "$start$exit_status" ]; then
	# One ping per service, the message as its body.
	kind=${start:+start}${exit_status}
	{
		echo "Content-Type: text/plain; charset=utf-8"
		extra_headers
	} >"$tmp/headers"
	printf '%s' "$message" >"$tmp/request"
	base=${endpoint%/api/heartbeat}/ping/$(path_escape "$key")
	nfailed=0
	reasons=()
	for id in "${ids[@]}"; do
		set_url "$base/$id/$kind${rid:+?rid=$rid}"
		if send ping; then
			[ -n "$quiet" ] || echo "ok: $(tr -d ' \r\n' <"$tmp/reply") (HTTP $code)${ids[1]:+ $id}"
		else
			nfailed=$((nfailed + 1))
			reasons+=("$id: $reason")
		fi
	done
	[ $nfailed -gt 0 ] || exit 0
	if [ ${#ids[@]} -eq 1 ]; then
		echo "$me: $reason" >&2
		exit 1
	fi
	prefix="warning: "
	[ $nfailed -lt ${#ids[@]} ] || prefix=
	for r in "${reasons[@]}"; do
		echo "$me: $prefix$r" >&2
	done
	[ $nfailed -lt ${#ids[@]} ] || exit 1
	exit 0
fi

{
	echo "Content-Type: application/json"
	echo "Authorization: Bearer $key"
	extra_headers
} >"$tmp/headers"
printf '%s' "$body" >"$tmp/request"
set_url "$endpoint"
if send beat; then
	while IFS= read -r failed; do
		echo "$me: warning: $failed" >&2
	done < <(failures)
	[ -n "$quiet" ] || echo "ok: $(field message) (HTTP $code)"
	exit 0
fi
echo "$me: $reason" >&2
exit 1
