#!/usr/bin/env bash
# Real-time predict over HTTP: perch's POST /v1/models/adult-income/predict
# (perch quickstart: the Adult model behind a real-time endpoint) against the
# reference floor (bench/httpfloor: Go net/http decoding the same JSON body
# and answering a fixed prediction), alternated, with the same wrk load and
# the founding record as body.
#
#   bench/http.sh [--rounds N] [--duration 10s] [--with-aml] [--with-fastapi SHARED_BENCH_DIR]
#
# --with-aml also loads AML's Predict (POST / with X-Amz-Target
# AmazonML_20141212.Predict, signed by the root AWS key pair; bench/amlsign
# signs one request a round, which stays good for 5 minutes) on the same
# model and record, and prints aml/rest req/s ratios (target >= 0.9).
#
# --with-fastapi also loads the FastAPI + scikit-learn peer (serve_fastapi.py
# in SHARED_BENCH_DIR, 2 uvicorn workers; needs Debian's python3-fastapi,
# python3-uvicorn, python3-sklearn, python3-pandas).
# Prints req/s, p50 and p99 per run, then perch/floor ratios per round and
# over all rounds (targets: req/s >= 0.5, p99 <= 2.0).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=2
duration=10s
fastapi=""
aml=""
while [ $# -gt 0 ]; do
	case $1 in
	--with-aml) aml=1; shift ;;
	--rounds) rounds=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--with-fastapi) fastapi=$(cd "$2" && pwd); shift 2 ;;
	*) echo "usage: $0 [--rounds N] [--duration D] [--with-aml] [--with-fastapi SHARED_BENCH_DIR]" >&2; exit 2 ;;
	esac
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/perch-bench-http.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "building perch and the floor" >&2
(cd "$root" && go build -o "$tmp/perch" ./cmd/perch && go build -o "$tmp/floor" ./bench/httpfloor && go build -o "$tmp/amlsign" ./bench/amlsign)

# The founding record, as bench/post.lua sends it.
cat >"$tmp/body.json" <<'EOF'
{"record": {"age": "22", "workclass": "Local-gov", "fnlwgt": "108435", "education": "Masters", "education_num": "14", "marital_status": "Married-civ-spouse", "occupation": "Prof-specialty", "relationship": "Husband", "race": "White", "sex": "Male", "capital_gain": "0", "capital_loss": "0", "hours_per_week": "80", "native_country": "United-States"}}
EOF

pport=$(freeport)
"$tmp/perch" quickstart --data-dir "$tmp/data" --listen "127.0.0.1:$pport" >"$tmp/perch.out" 2>"$tmp/perch.err" &
pids+=($!)
perch_pid=$!
for _ in $(seq 1 600); do
	grep -q "perch keeps serving" "$tmp/perch.out" 2>/dev/null && break
	kill -0 "$perch_pid" 2>/dev/null || { echo "perch quickstart stopped:" >&2; cat "$tmp/perch.out" "$tmp/perch.err" >&2; exit 1; }
	sleep 0.2
done
grep -q "perch keeps serving" "$tmp/perch.out" || { echo "perch quickstart did not get ready" >&2; exit 1; }
key=$(cat "$tmp/data/root-key")
perch_url=http://127.0.0.1:$pport/v1/models/adult-income/predict

fport=$(freeport)
"$tmp/floor" -listen "127.0.0.1:$fport" 2>"$tmp/floor.err" &
pids+=($!)
floor_url=http://127.0.0.1:$fport/

fastapi_url=""
if [ -n "$fastapi" ]; then
	aport=$(freeport)
	/usr/bin/python3 -m uvicorn serve_fastapi:app --app-dir "$fastapi" --host 127.0.0.1 --port "$aport" \
		--workers 2 --log-level warning --no-access-log 2>"$tmp/fastapi.err" &
	pids+=($!)
	fastapi_url=http://127.0.0.1:$aport/predict
fi

ready() { # url [auth]
	local auth=()
	[ -n "${2:-}" ] && auth=(-H "Authorization: $2")
	for _ in $(seq 1 240); do
		curl -fs -o /dev/null -X POST "${auth[@]}" -H 'Content-Type: application/json' --data @"$tmp/body.json" "$1" && return 0
		sleep 0.25
	done
	echo "no answer from $1" >&2
	return 1
}
ready "$floor_url"
ready "$perch_url" "Bearer $key"
[ -n "$fastapi_url" ] && ready "$fastapi_url"
echo "perch answers: $(curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data @"$tmp/body.json" "$perch_url")" >&2

# AML's Predict of the same record, signed anew each round.
aml_url=http://127.0.0.1:$pport/
if [ -n "$aml" ]; then
	/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["record"]; print(json.dumps({"MLModelId":"adult-income","Record":r,"PredictEndpoint":sys.argv[2]}))' \
		"$tmp/body.json" "http://127.0.0.1:$pport" >"$tmp/aml.json"
	amlsign() { "$tmp/amlsign" -credentials "$tmp/data/root-aws-credentials" -url "$aml_url" -body "$tmp/aml.json" >"$tmp/aml.headers"; }
	amlsign
	hdrs=()
	while IFS= read -r l; do hdrs+=(-H "$l"); done <"$tmp/aml.headers"
	echo "AML Predict answers: $(curl -s -X POST "${hdrs[@]}" --data-binary @"$tmp/aml.json" "$aml_url")" >&2
fi

# Latencies in ms from wrk's units.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

results=$tmp/results
: >"$results"
# load NAME URL [AUTH]: one wrk run; appends "round name rps p50ms p99ms non2xx" to $results.
load() {
	local name=$1 url=$2 auth=${3:-} out rps p50 p99 bad
	if [ "$name" = aml ]; then
		amlsign
		out=$(BODY=$tmp/aml.json HEADERS=$tmp/aml.headers wrk -t2 -c32 -d"$duration" --latency -s "$root/bench/aml.lua" "$url" 2>&1)
	else
		out=$(BODY=$tmp/body.json AUTH=$auth wrk -t2 -c32 -d"$duration" --latency -s "$root/bench/post.lua" "$url" 2>&1)
	fi
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p50=$(ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
	p99=$(ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
	bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	printf "round %d  %-8s %10s req/s  p50 %8s ms  p99 %8s ms%s\n" "$round" "$name" "$rps" "$p50" "$p99" "${bad:+  NON-2xx $bad}"
	echo "$round $name $rps $p50 $p99 ${bad:-0}" >>"$results"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t2 -c32 -d$duration --latency -s bench/post.lua, founding record"
for round in $(seq 1 "$rounds"); do
	load floor "$floor_url"
	# With --with-aml, every other round loads AML first, so that neither
	# route always follows the other.
	if [ -n "$aml" ] && [ $((round % 2)) -eq 0 ]; then
		load aml "$aml_url"
		load perch "$perch_url" "Bearer $key"
	else
		load perch "$perch_url" "Bearer $key"
		[ -n "$aml" ] && load aml "$aml_url"
	fi
	[ -n "$fastapi_url" ] && load fastapi "$fastapi_url"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

awk '
	{ rps[$1, $2] = $3; p99[$1, $2] = $5; n = $1 > n ? $1 : n; bad += $6
	  srps[$2] += $3; sp99[$2] += $5; cnt[$2]++ }
	END {
		for (r = 1; r <= n; r++)
			printf "round %d  perch/floor: req/s %.2f  p99 %.2f\n", r, rps[r, "perch"] / rps[r, "floor"], p99[r, "perch"] / p99[r, "floor"]
		q = (srps["perch"] / cnt["perch"]) / (srps["floor"] / cnt["floor"])
		l = (sp99["perch"] / cnt["perch"]) / (sp99["floor"] / cnt["floor"])
		printf "all rounds perch/floor: req/s %.2f (target >= 0.5: %s)  p99 %.2f (target <= 2.0: %s)\n", q, q >= 0.5 ? "holds" : "MISSED", l, l <= 2.0 ? "holds" : "MISSED"
		for (r = 1; r <= n; r++)
			if (rps[r, "aml"])
				printf "round %d  aml/rest: req/s %.2f  p99 %.2f\n", r, rps[r, "aml"] / rps[r, "perch"], p99[r, "aml"] / p99[r, "perch"]
		if (cnt["aml"]) {
			a = (srps["aml"] / cnt["aml"]) / (srps["perch"] / cnt["perch"])
			printf "all rounds aml/rest: req/s %.2f (target >= 0.9: %s)  p99 %.2f\n", a, a >= 0.9 ? "holds" : "MISSED", (sp99["aml"] / cnt["aml"]) / (sp99["perch"] / cnt["perch"])
		}
		if (cnt["fastapi"])
			printf "all rounds perch/fastapi: req/s %.1f  p99 %.3f\n", (srps["perch"] / cnt["perch"]) / (srps["fastapi"] / cnt["fastapi"]), (sp99["perch"] / cnt["perch"]) / (sp99["fastapi"] / cnt["fastapi"])
		if (bad) printf "WARNING: %d non-2xx answers\n", bad
	}' "$results"
