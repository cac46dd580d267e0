#!/usr/bin/python3
"""scikit-learn's SGDClassifier pipeline on Adult (one-hot + standardize,
log loss, 10 epochs), timed as Pipeline.fit from a DataFrame in memory:
prints the median fit seconds of N runs and the test AUC.
Usage: /usr/bin/python3 adult_sgd.py EXAMPLES_DIR [RUNS]"""
import os, sys, time, statistics
import numpy as np, pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUM = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CAT = ["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex", "native_country"]

def load(path):
    df = pd.read_csv(path, skipinitialspace=True, na_values=["?"])
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.strip()
    return df[NUM + CAT], (df["income"] == ">50K").astype(np.int64).to_numpy()

d = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
Xtr, ytr = load(os.path.join(d, "adult", "train.csv.gz"))
Xte, yte = load(os.path.join(d, "adult", "test.csv.gz"))
proto = Pipeline([("pre", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), CAT), ("num", StandardScaler(), NUM)])),
                  ("clf", SGDClassifier(loss="log_loss", max_iter=10, tol=None, random_state=0))])
times = []
for _ in range(runs):
    m = clone(proto)
    t0 = time.perf_counter(); m.fit(Xtr, ytr); times.append(time.perf_counter() - t0)
print("sklearn_sgd_fit_s %.4f auc %.4f" % (statistics.median(times), roc_auc_score(yte, m.predict_proba(Xte)[:, 1])))
