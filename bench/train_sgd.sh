#!/usr/bin/env bash
# Adult SGD training, perch against scikit-learn's SGDClassifier pipeline,
# alternated in one run. Both are timed from records already in memory
# (perch: learn.Train from a loaded table; scikit-learn: Pipeline.fit from a
# DataFrame), preprocessing included. Needs Debian's python3-sklearn and
# python3-pandas.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
for i in $(seq "$rounds"); do
	perch=$(go test -run '^$' -bench 'TrainAdult$' -benchtime 20x ./learn | awk '/BenchmarkTrainAdult/ {print $3/1e9}')
	peer=$(/usr/bin/python3 bench/peers/adult_sgd.py examples 5 | awk '{print $2}')
	awk -v p="$perch" -v s="$peer" 'BEGIN {printf "round %d: perch %.4f s, scikit-learn %.4f s, perch/scikit-learn %.2f\n", '"$i"', p, s, p/s}'
done
