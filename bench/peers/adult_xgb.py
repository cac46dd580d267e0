#!/usr/bin/python3
"""XGBoost on Adult as the shared peer baseline has it: hist, 300 trees,
depth 6, learning rate 0.1, 2 threads, categorical attributes as ordinal
codes. Timed as fit from a DataFrame in memory; prints the median fit
seconds of N runs and the test AUC.
Usage: /usr/bin/python3 adult_xgb.py EXAMPLES_DIR [RUNS]"""
import os, sys, time, statistics
import numpy as np, pandas as pd, xgboost as xgb
from sklearn.metrics import roc_auc_score

def load(path):
    df = pd.read_csv(path, skipinitialspace=True, na_values=["?"])
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.strip()
    y = (df.pop("income") == ">50K").astype(np.int64).to_numpy()
    return df, y

d = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
tr, y = load(os.path.join(d, "adult", "train.csv.gz"))
te, yt = load(os.path.join(d, "adult", "test.csv.gz"))
for c in tr.columns:
    if tr[c].dtype == object:
        cats = pd.Categorical(tr[c]).categories
        # -1 (missing or unseen) becomes NaN: XGBoost's missing value.
        tr[c] = pd.Categorical(tr[c], categories=cats).codes.astype(float)
        te[c] = pd.Categorical(te[c], categories=cats).codes.astype(float)
        tr.loc[tr[c] < 0, c] = np.nan
        te.loc[te[c] < 0, c] = np.nan
times = []
for _ in range(runs):
    m = xgb.XGBClassifier(tree_method="hist", n_estimators=300, max_depth=6, learning_rate=0.1, n_jobs=2, random_state=0)
    t0 = time.perf_counter(); m.fit(tr, y); times.append(time.perf_counter() - t0)
print("xgboost_fit_s %.4f auc %.4f" % (statistics.median(times), roc_auc_score(yt, m.predict_proba(te)[:, 1])))
