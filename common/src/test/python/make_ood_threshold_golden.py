#!/usr/bin/env python3
"""Writes common/src/test/resources/ood-threshold-golden.json: seeded labeled metric values (in-distribution and
unknowns, some with ties, some separable, some where the metric points the wrong way) with scikit-learn's answers
(Debian python3-sklearn): roc_curve's Youden-optimal threshold (argmax of tpr - fpr, as the authors' JODA
estimate_ood_threshold takes it), its J, and roc_auc_score; and numpy's inverted-CDF quantile for the keep-share
threshold. The reference for ThresholdsTest."""
import json
import os

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "ood-threshold-golden.json")
rng = np.random.default_rng(12)
cases = []
for k in range(40):
    n_in, n_unk = int(rng.integers(5, 300)), int(rng.integers(1, 60))
    shift = float(rng.choice([-1.0, 0.0, 0.5, 1.5, 4.0, 20.0]))
    inside = rng.normal(0.0, 1.0, n_in)
    unknown = rng.normal(shift, 1.3, n_unk)
    if k % 3 == 0:  # ties within and across the two groups
        inside, unknown = np.round(inside, 1), np.round(unknown, 1)
    y = np.concatenate([np.zeros(n_in), np.ones(n_unk)])
    v = np.concatenate([inside, unknown])
    fpr, tpr, thr = roc_curve(y, v)
    best = int(np.argmax(tpr - fpr))
    share = float(rng.choice([0.5, 0.8, 0.9, 0.95, 0.99]))
    cases.append({"inDistribution": inside.tolist(), "unknown": unknown.tolist(),
                  "youdenJ": float(tpr[best] - fpr[best]),
                  # inf when "flag nothing" wins: nothing is at or above it
                  "sklearnThreshold": float(thr[best]) if np.isfinite(thr[best]) else None,
                  "auroc": float(roc_auc_score(y, v)),
                  "keepShare": share,
                  "keepQuantile": float(np.quantile(inside, share, method="inverted_cdf"))})
with open(OUT, "w") as f:
    json.dump({"generator": "common/src/test/python/make_ood_threshold_golden.py", "cases": cases}, f)
print(f"{len(cases)} cases")
