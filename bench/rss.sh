#!/usr/bin/env bash
# Resident memory of the server (VmRSS from /proc/PID/status):
#  1. idle: perch serve on a fresh data dir, after start, no requests;
#  2. serving the Adult model: perch quickstart runs once on a data dir and
#     stops; perch serve then starts on that dir (nothing trains), RSS is
#     read, 10,000 predictions go to the real-time endpoint (the first loads
#     the model), and RSS is read again. What serving adds is compared with
#     the model file's size;
#  3. for reference, the quickstart server itself (it trained, evaluated and
#     served) before and after 10,000 predictions.
#  4. the Go heap a decoded and compiled model holds (bench/modelmem), which
#     RSS, counted in pages and moved by the heap serving any request grows,
#     cannot show for an 8 kB model.
# Targets: idle <= 50 MB; serving the Adult model adds <= 2x its file size.
#
#   bench/rss.sh [--settle SECONDS] [--predictions N]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
settle=3
npred=10000
while [ $# -gt 0 ]; do
	case $1 in
	--settle) settle=$2; shift 2 ;;
	--predictions) npred=$2; shift 2 ;;
	*) echo "usage: $0 [--settle SECONDS] [--predictions N]" >&2; exit 2 ;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/perch-bench-rss.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building perch" >&2
(cd "$root" && go build -o "$tmp/perch" ./cmd/perch)
freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cat >"$tmp/body.json" <<'EOF'
{"record": {"age": "22", "workclass": "Local-gov", "fnlwgt": "108435", "education": "Masters", "education_num": "14", "marital_status": "Married-civ-spouse", "occupation": "Prof-specialty", "relationship": "Husband", "race": "White", "sex": "Male", "capital_gain": "0", "capital_loss": "0", "hours_per_week": "80", "native_country": "United-States"}}
EOF

# start NAME LINE perch ARGS...: starts perch, waits for LINE in its stdout,
# leaves its pid in $pid.
start() {
	local name=$1 line=$2
	shift 2
	"$tmp/perch" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 1 600); do
		grep -q "$line" "$tmp/$name.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "perch $1 did not get ready:" >&2
	cat "$tmp/$name.out" "$tmp/$name.err" >&2
	exit 1
}
stop() { # pid: SIGTERM and wait
	kill -TERM "$1"
	wait "$1" 2>/dev/null || true
}
# rss PID: VmRSS in kB; rss_detail PID: the anonymous and file-backed parts.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
rss_detail() { awk '/^(RssAnon|RssFile):/ {printf "%s %s kB ", $1, $2}' "/proc/$1/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
# predict URL KEY N: N predictions over one keep-alive connection; prints how many answered 200.
predict() {
	local i
	{
		echo 'silent'
		echo 'request = "POST"'
		echo "header = \"Authorization: Bearer $2\""
		echo 'header = "Content-Type: application/json"'
		echo "data = \"@$tmp/body.json\""
		echo 'write-out = "%{http_code}\n"'
		for ((i = 0; i < $3; i++)); do
			echo "url = \"$1\""
			echo 'output = "/dev/null"'
		done
	} >"$tmp/curl.cfg"
	curl -K "$tmp/curl.cfg" | grep -c '^200$' || true
}

# get URL KEY N: N authenticated GETs over one keep-alive connection; prints how many answered 200.
get() {
	local i
	{
		echo 'silent'
		echo "header = \"Authorization: Bearer $2\""
		echo 'write-out = "%{http_code}\n"'
		for ((i = 0; i < $3; i++)); do
			echo "url = \"$1\""
			echo 'output = "/dev/null"'
		done
	} >"$tmp/curl.cfg"
	curl -K "$tmp/curl.cfg" | grep -c '^200$' || true
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Idle.
start idle "perch is serving" serve --data-dir "$tmp/fresh" --listen "127.0.0.1:$(freeport)"
sleep "$settle"
idle=$(rss "$pid")
echo "idle perch serve, fresh data dir, ${settle}s after start: VmRSS $(mb "$idle") ($(rss_detail "$pid")); target <= 50 MB: $([ "$idle" -le 51200 ] && echo holds || echo MISSED)"
stop "$pid"

# 3 first, since it makes the data dir 2 uses.
port=$(freeport)
start qs "perch keeps serving" quickstart --data-dir "$tmp/qs" --listen "127.0.0.1:$port"
key=$(cat "$tmp/qs/root-key")
url=http://127.0.0.1:$port/v1/models/adult-income/predict
sleep "$settle"
before=$(rss "$pid")
ok=$(predict "$url" "$key" "$npred")
sleep "$settle"
after=$(rss "$pid")
echo "quickstart server (trained, evaluated, served in this process): VmRSS $(mb "$before") before, $(mb "$after") after $ok/$npred predictions ($(rss_detail "$pid"))"
stop "$pid"

# 2. Serving the Adult model, nothing trained in this process. A control
# first: the same number of authenticated requests that do not touch the
# model (GET /v1/models/adult-income reads the model's entity from the
# database), so that what the model costs can be told from what serving
# any 10,000 requests costs (connection buffers, heap grown by garbage).
model=$tmp/qs/objects/.perch/models/adult-income.json
msize=$(stat -c %s "$model")
port=$(freeport)
start serve "perch is serving" serve --data-dir "$tmp/qs" --listen "127.0.0.1:$port"
url=http://127.0.0.1:$port/v1/models/adult-income/predict
sleep "$settle"
before=$(rss "$pid")
echo "perch serve on the quickstart's data dir, ${settle}s after start, no requests: VmRSS $(mb "$before") ($(rss_detail "$pid"))"
okc=$(get "http://127.0.0.1:$port/v1/models/adult-income" "$key" "$npred")
sleep "$settle"
control=$(rss "$pid")
echo "after $okc/$npred GET /v1/models/adult-income (control, no model): VmRSS $(mb "$control") (+$(mb $((control - before)))) ($(rss_detail "$pid"))"
ok1=$(predict "$url" "$key" 1)
sleep 1
first=$(rss "$pid")
echo "after the first prediction (loads the model): VmRSS $(mb "$first") (+$(mb $((first - control)))) ($(rss_detail "$pid"))"
ok=$(predict "$url" "$key" "$npred")
sleep "$settle"
after=$(rss "$pid")
echo "after $ok/$npred more predictions: VmRSS $(mb "$after") (+$(mb $((after - first)))) ($(rss_detail "$pid"))"
awk -v b="$before" -v c="$control" -v a="$after" -v m="$msize" 'BEGIN {
	add = (a - b) * 1024; own = (a - c) * 1024
	printf "model file %d bytes; serving it adds %.2f MB = %.0f x the file from start (target <= 2x: %s), %.2f MB = %.0f x beyond the control\n",
		m, add / 1048576, add / m, add <= 2 * m ? "holds" : "MISSED", own / 1048576, own / m }'
curl -sS -H "Authorization: Bearer $key" "http://127.0.0.1:$port/metrics" |
	awk '/^go_memstats_(heap_inuse|heap_alloc|sys|stack_inuse)_bytes / { printf "%s %.1f MB  ", $1, $2 / 1048576 } END { print "" }'
# The compiled model's own share of the heap, without the server around it.
(cd "$root" && go run ./bench/modelmem "$model")
[ "$okc" -eq "$npred" ] && [ "$ok1" -eq 1 ] && [ "$ok" -eq "$npred" ] || { echo "some requests failed" >&2; exit 1; }
stop "$pid"

# 2b. The other order, on a new start: the predictions first, then the
# control. Whichever comes first grows RSS by about the same amount.
port=$(freeport)
start serve2 "perch is serving" serve --data-dir "$tmp/qs" --listen "127.0.0.1:$port"
sleep "$settle"
before=$(rss "$pid")
ok=$(predict "http://127.0.0.1:$port/v1/models/adult-income/predict" "$key" "$npred")
sleep "$settle"
after=$(rss "$pid")
okc=$(get "http://127.0.0.1:$port/v1/models/adult-income" "$key" "$npred")
sleep "$settle"
control=$(rss "$pid")
echo "other order, new start: VmRSS $(mb "$before"); after $ok/$npred predictions +$(mb $((after - before))); then after $okc/$npred control GETs +$(mb $((control - after)))"
stop "$pid"
