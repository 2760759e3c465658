#!/usr/bin/env python3
"""Writes common/src/test/resources/al-strategies-golden.json: what the benchmark's reference implementations in
al_strategies.py (k_center_greedy, badge_embedding, kmeans_pp_pick) pick on small fixed inputs, for the Java
CoreSet and Badge tests (ai.sisom.selection.CoreSetTest, BadgeTest).

    /usr/bin/python3 bench/python/make_al_golden.py

Inputs are float32-representable (the Java side reads float[] features). BADGE's draws use NumPy's Generator; the
uniform behind every draw is recorded (the generator's state is saved, one random() read, the state restored, then
the real choice is made), so the Java side can replay the same uniforms. Each recorded draw is checked against
NumPy's own algorithm for choice(n, p=...): cdf = p.cumsum(); cdf /= cdf[-1]; cdf.searchsorted(u, side='right').
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import al_strategies as als  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "common/src/test/resources/al-strategies-golden.json")


class RecordingRng:
    """Delegates choice to a NumPy Generator and records the uniform each weighted draw consumed."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)
        self.uniforms = []

    def choice(self, a, p=None):
        if p is None:
            raise AssertionError("the golden inputs must not reach the uniform fallback (all distances 0)")
        state = self.g.bit_generator.state
        u = self.g.random()
        self.g.bit_generator.state = state
        picked = int(self.g.choice(a, p=p))
        cdf = np.asarray(p, dtype=np.float64).cumsum()
        cdf /= cdf[-1]
        assert picked == int(cdf.searchsorted(u, side="right")), "numpy's choice is not searchsorted on the cdf"
        self.uniforms.append(float(u))
        return picked


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def coreset_case(name, unlabeled, labeled, q):
    picks = als.k_center_greedy(unlabeled, labeled, q)
    return {"name": name, "unlabeled": unlabeled.tolist(), "labeled": labeled.tolist(), "q": q,
            "picks": picks.tolist()}


def badge_case(name, logits, penultimate, q, seed):
    probs = softmax(logits)
    emb = als.badge_embedding(probs, penultimate)
    rng = RecordingRng(seed)
    picks = als.kmeans_pp_pick(emb, q, rng)
    return {"name": name, "logits": logits.tolist(), "penultimate": penultimate.tolist(), "q": q,
            "embedding": emb.tolist(), "uniforms": rng.uniforms, "picks": picks.tolist()}


def draw_cases(rng):
    """NumPy's real Generator.choice(n, p=w/w.sum()) against the uniform it consumed, zeros among the weights."""
    cases = []
    for n in (1, 2, 5, 17, 60):
        w = rng.random(n) ** 3
        w[rng.random(n) < 0.3] = 0.0
        if w.sum() == 0:
            w[n - 1] = 1.0
        g = np.random.default_rng(n)
        uniforms, picked = [], []
        for _ in range(40):
            state = g.bit_generator.state
            uniforms.append(float(g.random()))
            g.bit_generator.state = state
            picked.append(int(g.choice(n, p=w / w.sum())))
        cases.append({"weights": w.tolist(), "uniforms": uniforms, "picks": picked})
    return cases


def main():
    rng = np.random.default_rng(20200417)
    coreset = [
        coreset_case("gaussian with labeled", f32(rng.normal(size=(40, 6))), f32(rng.normal(size=(9, 6))), 12),
        coreset_case("gaussian, no labeled", f32(rng.normal(size=(25, 3))), np.zeros((0, 3)), 10),
        # integer coordinates: the reference's |x|^2 - 2x.c + |c|^2 is exact, so the ties (duplicates, points on a
        # labeled point) are real ties, decided by position
        coreset_case("integer grid with duplicates", f32(rng.integers(0, 3, size=(30, 2))),
                     f32(rng.integers(0, 3, size=(4, 2))), 15),
        coreset_case("take everything", f32(rng.normal(size=(7, 4))), f32(rng.normal(size=(2, 4))), 7),
    ]
    badge = [
        badge_case("4 classes", f32(rng.normal(scale=2.0, size=(40, 4))), f32(np.abs(rng.normal(size=(40, 6)))), 12,
                   7),
        badge_case("10 classes, confident", f32(rng.normal(scale=6.0, size=(60, 10))),
                   f32(np.maximum(rng.normal(size=(60, 8)), 0.0)), 20, 11),
        badge_case("take everything", f32(rng.normal(size=(9, 3))), f32(rng.normal(size=(9, 5))), 9, 3),
    ]
    out = {"generator": "bench/python/make_al_golden.py", "numpy": np.__version__, "coreset": coreset,
           "badge": badge, "draws": draw_cases(rng)}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
