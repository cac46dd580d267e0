#!/bin/sh
# Batch-prediction throughput end to end: perch batch reads a 1,000,000-row
# Adult-like CSV file, predicts every row and writes the output file.
#
#   bench/batch.sh [ROWS] [RUNS]
#
# Work files go to $TMPDIR (default /tmp); the 1M-row input is about 110 MB.
set -eu

rows=${1:-1000000}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=${TMPDIR:-/tmp}/perch-bench-batch
mkdir -p "$tmp"

echo "building perch" >&2
(cd "$root" && go build -o "$tmp/perch" ./cmd/perch)
perch=$tmp/perch

# The input: Adult's test rows cycled to $rows records, after its header.
big=$tmp/big.csv
if [ ! -s "$big" ] || [ "$(wc -l <"$big")" -ne $((rows + 1)) ]; then
	echo "writing $rows rows to $big" >&2
	gzip -dc "$root/examples/adult/test.csv.gz" | awk -v n="$rows" '
		NR == 1 { print; next }
		{ row[m++] = $0 }
		END { for (i = 0; i < n; i++) print row[i % m] }' >"$big"
fi

echo "training the Adult model" >&2
"$perch" schema infer "$root/examples/adult/train.csv.gz" --target income >"$tmp/adult.schema.json"
"$perch" train --quiet --data "$root/examples/adult/train.csv.gz" --schema "$tmp/adult.schema.json" \
	--type BINARY --out "$tmp/adult.model.json" >/dev/null

echo "cores: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo ?); load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
i=1
while [ "$i" -le "$runs" ]; do
	rm -f "$tmp/out.csv"
	# perch batch reports "predicted N records (M invalid) in T, R records/s".
	line=$("$perch" batch --model "$tmp/adult.model.json" --in "$big" --out "$tmp/out.csv" 2>&1 >/dev/null | head -n 1)
	rate=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) records\/s.*/\1/p')
	echo "run $i: ${rate:-?} rows/s ($line); load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
	i=$((i + 1))
done
out_rows=$(($(wc -l <"$tmp/out.csv") - 1))
echo "output: $out_rows rows in $tmp/out.csv"
[ "$out_rows" -eq "$rows" ] || { echo "want $rows output rows" >&2; exit 1; }
