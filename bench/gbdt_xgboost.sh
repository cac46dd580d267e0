#!/usr/bin/env bash
# Gradient-boosted trees, perch against XGBoost, side by side on the same
# splits: Adult (train.csv → test.csv) and wine quality (first 70% → last
# 30%, REGRESSION and MULTICLASS). XGBoost runs the shared peer's
# settings: hist, 300 trees, depth 6, learning rate 0.1, 2 threads. perch
# runs its default gbdt parameters on Adult and, on wine, the same tree
# budget as XGBoost (300 trees, depth 6, learning rate 0.1). Both are
# timed from records in memory (perch: learn.Train from a loaded table,
# binning included; XGBoost: fit from a DataFrame), alternated ROUNDS
# times. Needs Debian's python3-xgboost, python3-sklearn
# and python3-pandas, run with /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/learn.test" ./learn

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== accuracy"
"$tmp/learn.test" -test.run 'TestAdultGBDT$|TestWineGBDT$' -test.v |
	awk '/Adult gbdt BinaryAUC/ {sub(",", "", $5); print "perch   Adult AUC " $5} /wine gbdt RegressionRMSE/ {print "perch   wine RMSE " $5} /wine gbdt MulticlassAvgFScore/ {print "perch   wine macro-F1 " $5}'
$py bench/peers/adult_xgb.py examples 1 | awk '{print "xgboost Adult AUC " $4}'
$py bench/peers/wine_xgb.py examples 1 | awk '/regression/ {print "xgboost wine RMSE " $4} /multiclass/ {print "xgboost wine macro-F1 " $4}'

echo "== training seconds (perch: mean of 5 runs; xgboost: median of 3)"
bench() { # benchmark name → seconds per op, one line per sub-benchmark
	"$tmp/learn.test" -test.run '^$' -test.bench "$1" -test.benchtime 5x -test.count 1 | awk '/^Benchmark/ {print $3/1e9}'
}
for i in $(seq "$rounds"); do
	pa=$(bench 'TrainAdultGBDT$')
	xa=$($py bench/peers/adult_xgb.py examples 3 | awk '{print $2}')
	pw=$(bench 'TrainWineGBDT')
	xw=$($py bench/peers/wine_xgb.py examples 3 | awk '{print $2}')
	paste <(echo Adult; echo "wine REGRESSION"; echo "wine MULTICLASS") <(echo "$pa"; echo "$pw") <(echo "$xa"; echo "$xw") |
		awk -F'\t' -v r="$i" '{printf "round %d  %-16s perch %.3f s  xgboost %.3f s  perch/xgboost %.2f\n", r, $1, $2, $3, $2/$3}'
done
