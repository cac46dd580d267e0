#!/usr/bin/env bash
# Batch prediction through the REST API, end to end on one server: upload a
# 1,000,000-row Adult CSV (PUT /v1/objects), make a data source of it with
# the schema of the quickstart's adult-train (the job reads and checks the
# file), run a batch prediction with the quickstart's model, and read the
# output back (GET /v1/objects) to count its lines.
#
#   bench/batch_api.sh [--rows N] [--runs N]
#
# Prints per run: the upload time, the data-source job's time, and the batch
# prediction's rows/s as totalRecords / (finishedAt - startedAt) and as
# totalRecords / computeTime (target >= 500,000 rows/s). Needs curl and jq.
# Right after each API run, perch batch (the command line: the same batch
# code on the same file and model file, no server) runs as the anchor, and
# the API's rows/s is given as a ratio to it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rows=1000000
runs=1
while [ $# -gt 0 ]; do
	case $1 in
	--rows) rows=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--rows N] [--runs N]" >&2; exit 2 ;;
	esac
done
command -v jq >/dev/null || { echo "jq is missing: apt-get install -y jq" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/perch-bench-batchapi.XXXXXX")
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

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tmp/perch" quickstart --data-dir "$tmp/data" --listen "127.0.0.1:$port" >"$tmp/perch.out" 2>"$tmp/perch.err" &
pids+=($!)
perch_pid=$!
for _ in $(seq 1 600); do
	grep -q "perch keeps serving" "$tmp/perch.out" 2>/dev/null && break
	kill -0 "$perch_pid" 2>/dev/null || { echo "perch quickstart stopped:" >&2; cat "$tmp/perch.out" "$tmp/perch.err" >&2; exit 1; }
	sleep 0.2
done
grep -q "perch keeps serving" "$tmp/perch.out" || { echo "perch quickstart did not get ready" >&2; exit 1; }
base=http://127.0.0.1:$port
auth="Authorization: Bearer $(cat "$tmp/data/root-key")"

api() { # METHOD PATH [JSON]
	local out code
	if [ $# -ge 3 ]; then
		out=$(curl -sS -w '\n%{http_code}' -X "$1" -H "$auth" -H 'Content-Type: application/json' --data "$3" "$base$2")
	else
		out=$(curl -sS -w '\n%{http_code}' -X "$1" -H "$auth" "$base$2")
	fi
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	case $code in 2??) printf '%s\n' "$out" ;; *) echo "$1 $2: HTTP $code: $out" >&2; return 1 ;; esac
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# wait_done PATH: polls an entity until COMPLETED, prints its JSON.
wait_done() {
	local j st
	while :; do
		j=$(api GET "$1")
		st=$(jq -r .status <<<"$j")
		case $st in
		COMPLETED) printf '%s\n' "$j"; return 0 ;;
		FAILED | DELETED) echo "$1 is $st: $(jq -r .message <<<"$j")" >&2; return 1 ;;
		esac
		sleep 0.1
	done
}
# job_secs JSON: finishedAt - startedAt in seconds.
job_secs() {
	secs "$(date -d "$(jq -r .startedAt <<<"$1")" +%s.%N)" "$(date -d "$(jq -r .finishedAt <<<"$1")" +%s.%N)"
}

# The input: Adult's training rows replicated to $rows, after the header
# when the quickstart's schema says the file has one.
schema=$(api GET /v1/datasources/adult-train | jq -c .schema)
header=$(jq -r .dataFileContainsHeader <<<"$schema")
big=$tmp/adult-1m.csv
gzip -dc "$root/examples/adult/train.csv.gz" | awk -v n="$rows" -v header="$header" '
	NR == 1 { if (header == "true") print; next }
	{ row[m++] = $0 }
	END { for (i = 0; i < n; i++) print row[i % m] }' >"$big"
size=$(stat -c %s "$big")
want_lines=$((rows + 1)) # the output has a header line
echo "input: $rows rows, $size bytes, header $header"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"

for run in $(seq 1 "$runs"); do
	t0=$(now)
	curl -sS -f -o /dev/null -H "$auth" -H 'Content-Type: text/csv' -T "$big" "$base/v1/objects/bench/adult-1m.csv"
	t1=$(now)
	ds=$(api POST /v1/datasources "$(jq -nc --arg id "bench-1m-$run" --argjson s "$schema" \
		'{id: $id, dataUrl: "bench/adult-1m.csv", schema: $s}')" | jq -r .id)
	dsj=$(wait_done "/v1/datasources/$ds")
	t2=$(now)
	bp=$(api POST /v1/batchpredictions "$(jq -nc --arg id "bench-bp-$run" --arg ds "$ds" \
		'{id: $id, mlModelId: "adult-income", dataSourceId: $ds, outputUrl: ("bench/out-" + $id + ".csv")}')" | jq -r .id)
	bpj=$(wait_done "/v1/batchpredictions/$bp")
	t3=$(now)
	total=$(jq -r .totalRecords <<<"$bpj")
	wall=$(job_secs "$bpj")
	ct=$(jq -r .computeTime <<<"$bpj")
	out_key=${base}/v1/objects/bench/out-$bp.csv
	lines=$(curl -sS -f -H "$auth" "$out_key" | wc -l)
	printf 'run %d: upload %s s (%.0f MB/s); data source job %s s (computeTime %s ms, %s records; %s s with polling)\n' \
		"$run" "$(secs "$t0" "$t1")" "$(awk -v b="$size" -v s="$(secs "$t0" "$t1")" 'BEGIN{print b/1e6/s}')" \
		"$(job_secs "$dsj")" "$(jq -r .computeTime <<<"$dsj")" "$(jq -r .records <<<"$dsj")" "$(secs "$t1" "$t2")"
	awk -v run="$run" -v n="$total" -v w="$wall" -v ct="$ct" -v poll="$(secs "$t2" "$t3")" 'BEGIN {
		r = n / w; rc = n / (ct / 1000)
		printf "run %d: batch prediction %d records in %.3f s (computeTime %d ms; %.3f s with polling): %.0f rows/s (finishedAt-startedAt), %.0f rows/s (computeTime); target >= 500000: %s\n",
			run, n, w, ct, poll, r, rc, r >= 500000 ? "holds" : "MISSED" }'
	cli=$("$tmp/perch" batch --model "$tmp/data/objects/.perch/models/adult-income.json" --in "$big" --out "$tmp/cli-out.csv" 2>&1 >/dev/null | head -n 1)
	cli_rate=$(sed -n 's/.* \([0-9][0-9]*\) records\/s.*/\1/p' <<<"$cli")
	awk -v run="$run" -v n="$total" -v w="$wall" -v c="$cli_rate" 'BEGIN {
		printf "run %d: anchor perch batch (command line, same file): %d rows/s; API / command line: %.2f\n", run, c, (n / w) / c }'
	if [ "$lines" -eq "$want_lines" ]; then
		echo "run $run: output object has $lines lines, as it should"
	else
		echo "run $run: output object has $lines lines, want $want_lines" >&2
		exit 1
	fi
done
