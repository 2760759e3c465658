"""Active-learning baselines computed in Python from one trained model's outputs (numpy only, so they are testable
on tiny hand-checkable inputs). SISOM, SISOMe, SISOM greedy and LfOSA are not here: they select through the Spark
jobs (see al_benchmark.py).

Each function returns the positions (into the unlabeled arrays) of the q samples to query, in pick order.
"""
import numpy as np


def _check_q(q, n):
    if q < 0 or q > n:
        raise ValueError(f"cannot select {q} of {n} unlabeled samples")


def random_pick(n, q, rng):
    _check_q(q, n)
    return rng.choice(n, size=q, replace=False)


def entropy_pick(probs, q):
    """Highest predictive entropy first (ties: lower position)."""
    _check_q(q, len(probs))
    p = np.clip(probs, 1e-12, 1.0)
    h = -(probs * np.log(p)).sum(1)
    return np.argsort(-h, kind="stable")[:q]


def margin_pick(probs, q):
    """Smallest gap between the two largest class probabilities first."""
    _check_q(q, len(probs))
    top2 = np.sort(probs, axis=1)[:, -2:]
    return np.argsort(top2[:, 1] - top2[:, 0], kind="stable")[:q]


def _sq_dists(x, centers):
    """Squared Euclidean distances, rows of x to rows of centers (clipped at 0 against rounding)."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ centers.T + (centers * centers).sum(1)[None, :]
    return np.maximum(d, 0.0)


def k_center_greedy(unlabeled, labeled, q):
    """CoreSet (Sener and Savarese 2018), the greedy 2-approximation of k-center: repeatedly take the unlabeled point
    farthest from its nearest center, where the centers are the labeled points plus the points taken so far.
    With no labeled points the first pick is position 0, as in the reference implementation's random start made
    deterministic."""
    n = len(unlabeled)
    _check_q(q, n)
    x = np.asarray(unlabeled, dtype=np.float64)
    if len(labeled):
        mind = _sq_dists(x, np.asarray(labeled, dtype=np.float64)).min(1)
    else:
        mind = np.full(n, np.inf)
    picks = []
    for _ in range(q):
        i = int(np.argmax(mind)) if np.isfinite(mind).all() else 0
        picks.append(i)
        mind = np.minimum(mind, _sq_dists(x, x[i:i + 1])[:, 0])
        mind[i] = -1.0  # never again, even when points coincide
    return np.array(picks, dtype=np.int64)


def badge_embedding(probs, penultimate):
    """BADGE's hallucinated-gradient embedding (Ash et al. 2020): the gradient of the cross-entropy at the predicted
    label with respect to the last layer's weights, (onehot(argmax p) - p) outer penultimate, flattened class-major
    as in the authors' get_grad_embedding (the sign does not change distances)."""
    k = probs.shape[1]
    onehot = np.eye(k)[probs.argmax(1)]
    return ((onehot - probs)[:, :, None] * penultimate[:, None, :]).reshape(len(probs), -1)


def kmeans_pp_pick(emb, q, rng):
    """BADGE's selection: k-means++ seeding on the gradient embeddings, as in the authors' init_centers: the first
    center is the embedding of largest norm, every next one is drawn with probability proportional to the squared
    distance to its nearest chosen center (chosen points have distance 0, so none is drawn twice unless every
    remaining distance is 0, when the draw falls back to uniform over the unchosen)."""
    n = len(emb)
    _check_q(q, n)
    if q == 0:
        return np.array([], dtype=np.int64)
    x = np.asarray(emb, dtype=np.float64)
    first = int(np.argmax(np.linalg.norm(x, axis=1)))
    picks = [first]
    chosen = np.zeros(n, dtype=bool)
    chosen[first] = True
    d2 = _sq_dists(x, x[first:first + 1])[:, 0]
    d2[chosen] = 0.0
    while len(picks) < q:
        total = d2.sum()
        if total > 0:
            i = int(rng.choice(n, p=d2 / total))
        else:
            i = int(rng.choice(np.flatnonzero(~chosen)))
        picks.append(i)
        chosen[i] = True
        d2 = np.minimum(d2, _sq_dists(x, x[i:i + 1])[:, 0])
        d2[chosen] = 0.0
    return np.array(picks, dtype=np.int64)


def aulc(labeled_counts, accuracies):
    """Area under the learning curve (trapezoids over the label counts), normalised by the label range: the mean
    accuracy over the budget, in [0, 1]."""
    x = np.asarray(labeled_counts, dtype=np.float64)
    y = np.asarray(accuracies, dtype=np.float64)
    if len(x) < 2 or x[-1] <= x[0]:
        raise ValueError("a learning curve needs at least two increasing label counts")
    return float(np.trapz(y, x) / (x[-1] - x[0]))
