#!/usr/bin/env python3
"""Golden values for OodMetricsTest, AurocBootstrapTest and OodPostprocessorsTest
(bench/src/test/resources/ood-golden.json).

Metrics: scikit-learn, exactly as OpenOOD's openood/evaluators/metrics.py calls it, on fixed random scores with
ties (FPR@95 in both conventions: ID positive, and OpenOOD v1.5's OOD positive). Bootstrap: stratified resamples
drawn with numpy (ID and each OOD set with replacement, separately), AUROC per resample from scikit-learn's
roc_auc_score on the resampled arrays, the interval from np.percentile; the explicit indices of a few resamples (for
an exact check) and a 10,000-resample reference interval and standard deviation (for a statistical check of the
Java bootstrap's own random draws). Postprocessors: NumPy/scikit-learn transcriptions of OpenOOD's postprocessors (MSP, MaxLogit, Energy, GEN,
KNN, MDS, ReAct, ASH-S, ASH-B, ViM) on a small random network head and feature set.
  /usr/bin/python3 bench/python/make_ood_golden.py
Needs Debian's python3-numpy, python3-scipy and python3-sklearn.
"""
import json
import os

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn import metrics
from sklearn.covariance import EmpiricalCovariance

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "bench", "src", "test", "resources", "ood-golden.json")


def openood_metrics(conf, label):
    ood = (label == -1).astype(int)
    fpr_list, tpr_list, _ = metrics.roc_curve(ood, -conf)
    fpr_ood_positive = fpr_list[np.argmax(tpr_list >= 0.95)]
    fpr_in, tpr_in, _ = metrics.roc_curve(1 - ood, conf)
    fpr_id_positive = fpr_in[np.argmax(tpr_in >= 0.95)]
    p_in, r_in, _ = metrics.precision_recall_curve(1 - ood, conf)
    p_out, r_out, _ = metrics.precision_recall_curve(ood, -conf)
    return {"auroc": metrics.auc(fpr_list, tpr_list), "auprIn": metrics.auc(r_in, p_in),
            "auprOut": metrics.auc(r_out, p_out), "fpr95": fpr_id_positive, "fpr95OodPositive": fpr_ood_positive}


def metric_cases(rng):
    cases = []
    for n_id, n_ood, decimals, shift in [(200, 150, 1, 1.0), (57, 311, 0, 0.5), (1000, 1000, 2, 2.0),
                                         (40, 40, 0, 0.0)]:
        s_id = np.round(rng.normal(shift, 1.0, n_id), decimals)  # rounding makes ties, within and across sets
        s_ood = np.round(rng.normal(0.0, 1.0, n_ood), decimals)
        conf = np.concatenate([s_id, s_ood])
        label = np.concatenate([np.zeros(n_id), -np.ones(n_ood)])
        c = {"id": s_id.tolist(), "ood": s_ood.tolist()}
        c.update(openood_metrics(conf, label))
        cases.append(c)
    return cases


def ash(x, p, binary):
    x = x.copy()
    n = x.shape[1]
    k = n - int(np.round(n * p / 100.0))
    s1 = x.sum(1)
    out = np.zeros_like(x)
    for i in range(len(x)):
        top = np.argsort(-x[i], kind="stable")[:k]
        out[i, top] = s1[i] / k if binary else x[i, top]
    if binary:
        return out
    return out * np.exp(s1 / out.sum(1))[:, None]


def postprocessor_case(rng):
    k, p, n_fit, n_test = 3, 8, 60, 12
    w = rng.normal(0, 0.5, (k, p))
    b = rng.normal(0, 0.1, k)
    labels = np.arange(n_fit) % k
    centers = rng.normal(1.0, 1.0, (k, p))
    fit = np.maximum(centers[labels] + rng.normal(0, 0.7, (n_fit, p)), 0)
    test = np.maximum(rng.normal(1.0, 1.2, (n_test, p)), 0)
    logits = test @ w.T + b
    prob = softmax(logits, 1)
    # GEN (OpenOOD gen.py): top-M probabilities, M = min(10, K)
    top = np.sort(prob, 1)[:, ::-1][:, :min(10, k)]
    gen = -np.sum(top ** 0.1 * (1 - top) ** 0.1, 1)
    # KNN (OpenOOD knn.py): L2-normalised features, faiss IndexFlatL2 returns squared distances; score -D[:, k-1]
    kk = 5
    nf = fit / (np.linalg.norm(fit, axis=1, keepdims=True) + 1e-10)
    nt = test / (np.linalg.norm(test, axis=1, keepdims=True) + 1e-10)
    d2 = ((nt[:, None, :] - nf[None, :, :]) ** 2).sum(-1)
    knn = -np.sort(d2, 1)[:, kk - 1]
    # MDS (OpenOOD mds.py): class means, tied covariance of the class-centred features, max of -Mahalanobis^2
    means = np.stack([fit[labels == c].mean(0) for c in range(k)])
    prec = EmpiricalCovariance(assume_centered=False).fit(fit - means[labels]).precision_
    maha = np.stack([-np.einsum("ij,jk,ik->i", test - means[c], prec, test - means[c]) for c in range(k)], 1)
    # ReAct (OpenOOD react.py): clip at the 90th percentile of the fit activations, energy of the clipped logits
    thr = np.percentile(fit.flatten(), 90)
    react = logsumexp(np.minimum(test, thr) @ w.T + b, 1)
    # ViM (OpenOOD vim.py) with a principal subspace of dimension 4
    dim = 4
    u = -np.linalg.pinv(w) @ b
    cov = EmpiricalCovariance(assume_centered=True).fit(fit - u).covariance_
    vals, vecs = np.linalg.eigh(cov)
    ns = vecs[:, np.argsort(-vals)[dim:]]
    alpha = (fit @ w.T + b).max(1).mean() / np.linalg.norm((fit - u) @ ns, axis=1).mean()
    vim = -alpha * np.linalg.norm((test - u) @ ns, axis=1) + logsumexp(logits, 1)
    return {"weight": w.tolist(), "bias": b.tolist(), "fit": fit.tolist(), "fitLabels": labels.tolist(),
            "test": test.tolist(), "knnK": kk, "vimDim": dim,
            "msp": prob.max(1).tolist(), "maxLogit": logits.max(1).tolist(), "energy": logsumexp(logits, 1).tolist(),
            "gen": gen.tolist(), "knn": knn.tolist(), "mahalanobis": maha.max(1).tolist(),
            "mahalanobisClass": maha.argmax(1).tolist(), "react": react.tolist(), "reactThreshold": thr,
            "ashS": logsumexp(ash(test, 90, False) @ w.T + b, 1).tolist(),
            "ashB": logsumexp(ash(test, 90, True) @ w.T + b, 1).tolist(), "vim": vim.tolist(), "vimAlpha": alpha}


def bootstrap_case(rng, exact=40, reference=10000):
    s_id = np.round(rng.normal(1.0, 1.0, 300), 1)
    sets = [np.round(rng.normal(0.0, 1.0, 120), 1), np.round(rng.normal(0.6, 1.5, 80), 1)]

    def resample_auroc(id_idx, ood_idx, ood):
        y = np.concatenate([np.ones(len(id_idx)), np.zeros(len(ood_idx))])
        return metrics.roc_auc_score(y, np.concatenate([s_id[id_idx], ood[ood_idx]]))

    draws = []
    for _ in range(exact):
        id_idx = rng.integers(0, len(s_id), len(s_id))
        ood_idx = [rng.integers(0, len(o), len(o)) for o in sets]
        draws.append({"id": id_idx.tolist(), "ood": [i.tolist() for i in ood_idx],
                      "auroc": [resample_auroc(id_idx, i, o) for i, o in zip(ood_idx, sets)]})
    exact_auroc = np.array([d["auroc"] for d in draws])
    ref = np.array([[resample_auroc(rng.integers(0, len(s_id), len(s_id)), rng.integers(0, len(o), len(o)), o)
                     for o in sets] for _ in range(reference)])
    return {"id": s_id.tolist(), "ood": [o.tolist() for o in sets], "draws": draws,
            "exactInterval": np.percentile(exact_auroc, [2.5, 97.5], axis=0).T.tolist(),
            "auroc": [metrics.roc_auc_score(np.r_[np.ones(len(s_id)), np.zeros(len(o))], np.r_[s_id, o])
                      for o in sets],
            "referenceInterval": np.percentile(ref, [2.5, 97.5], axis=0).T.tolist(),
            "referenceStd": ref.std(0).tolist(), "referenceResamples": reference}


def main():
    rng = np.random.default_rng(20261123)
    golden = {"metrics": metric_cases(rng), "postprocessors": postprocessor_case(rng)}
    # drawn after the cases above, so their values do not change
    golden["bootstrap"] = bootstrap_case(rng)
    with open(OUT, "w") as f:
        json.dump(golden, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
