#!/usr/bin/env python3
"""Writes common/src/test/resources/lfosa-gmm-golden.json: a two-component GaussianMixture fitted by scikit-learn
(Debian python3-sklearn) on seeded 1-D data, the reference for the Java LfOSA mixture fit (LfosaTest)."""
import json
import os

import numpy as np
from sklearn.mixture import GaussianMixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
rng = np.random.default_rng(5)
x = np.concatenate([rng.normal(2.0, 0.5, 200), rng.normal(6.0, 0.7, 100)])
gm = GaussianMixture(n_components=2, max_iter=200, tol=1e-8, reg_covar=5e-4, random_state=0).fit(x.reshape(-1, 1))
hi = int(np.argmax(gm.means_.ravel()))
out = {"x": x.tolist(), "weights": gm.weights_.tolist(), "means": gm.means_.ravel().tolist(),
       "variances": gm.covariances_.ravel().tolist(), "high": hi,
       "posteriorHigh": gm.predict_proba(x.reshape(-1, 1))[:, hi].tolist()}
with open(os.path.join(ROOT, "common/src/test/resources/lfosa-gmm-golden.json"), "w") as f:
    json.dump(out, f)
