#!/usr/bin/python3
"""XGBoost on wine quality as the shared peer baseline has it: the first
70% of the file trains, the last 30% tests; hist, 300 trees, depth 6,
learning rate 0.1, 2 threads; color as 0/1. Prints, for REGRESSION and
MULTICLASS, the median fit seconds of N runs and RMSE or macro-F1.
Usage: /usr/bin/python3 wine_xgb.py EXAMPLES_DIR [RUNS]"""
import os, sys, time, statistics
import numpy as np, pandas as pd, xgboost as xgb
from sklearn.metrics import mean_squared_error, f1_score

d = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
df = pd.read_csv(os.path.join(d, "wine-quality", "wine.csv.gz"))
cut = int(len(df) * 0.7)
y = df.pop("quality")
X = df.assign(color=(df.color == "red").astype(int))
Xtr, Xte, ytr, yte = X[:cut], X[cut:], y[:cut], y[cut:]

def timed(make, yfit):
    times = []
    for _ in range(runs):
        m = make()
        t0 = time.perf_counter(); m.fit(Xtr, yfit); times.append(time.perf_counter() - t0)
    return m, statistics.median(times)

args = dict(tree_method="hist", n_estimators=300, max_depth=6, learning_rate=0.1, n_jobs=2, random_state=0)
r, rs = timed(lambda: xgb.XGBRegressor(**args), ytr)
print("xgboost_regression_fit_s %.4f rmse %.4f" % (rs, mean_squared_error(yte, r.predict(Xte)) ** 0.5))
classes = sorted(y.unique()); idx = {c: i for i, c in enumerate(classes)}
c, cs = timed(lambda: xgb.XGBClassifier(**args), ytr.map(idx))
print("xgboost_multiclass_fit_s %.4f f1 %.4f" % (cs, f1_score(yte.map(idx), c.predict(Xte), average="macro")))
