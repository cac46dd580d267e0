#!/usr/bin/python3
"""scikit-learn's SGDClassifier pipeline on Adult, predicting: one-row
latency (median of 2,000 predict_proba calls on one-row DataFrames) and,
given a big CSV, batch end to end (read_csv, predict_proba, to_csv).
Usage: /usr/bin/python3 adult_predict.py EXAMPLES_DIR [BIG_CSV OUT_CSV]"""
import os, sys, time, statistics
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUM = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CAT = ["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex", "native_country"]

def load(path):
    df = pd.read_csv(path, skipinitialspace=True, na_values=["?"])
    for c in CAT + ["income"]:
        df[c] = df[c].str.strip()
    return df[NUM + CAT], (df["income"] == ">50K").astype(np.int64).to_numpy()

d = sys.argv[1]
Xtr, ytr = load(os.path.join(d, "adult", "train.csv.gz"))
Xte, _ = load(os.path.join(d, "adult", "test.csv.gz"))
m = Pipeline([("pre", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), CAT), ("num", StandardScaler(), NUM)])),
              ("clf", SGDClassifier(loss="log_loss", max_iter=10, tol=None, random_state=0))]).fit(Xtr, ytr)
rows = [Xte.iloc[[i]] for i in range(2000)]
for r in rows[:50]:
    m.predict_proba(r)
lat = []
for r in rows:
    t0 = time.perf_counter(); m.predict_proba(r); lat.append(time.perf_counter() - t0)
print("sklearn_predict_1row_us %.1f" % (statistics.median(lat) * 1e6))
if len(sys.argv) > 3:
    t0 = time.perf_counter()
    X, _ = load(sys.argv[2])
    p = m.predict_proba(X)[:, 1]
    pd.DataFrame({"bestAnswer": (p >= 0.5).astype(int), "score": p}).to_csv(sys.argv[3], index=False)
    el = time.perf_counter() - t0
    print("sklearn_batch_rows_per_s %.0f (%d rows in %.2f s, read_csv + predict_proba + to_csv)" % (len(X) / el, len(X), el))
