#!/usr/bin/env python3
"""Distance-ratio stage baselines (issue: performance). Generates the seeded synthetic workload, or times the
baselines on it:

  distance_baselines.py generate DIR N M D K SEED   writes pool.f32, pool_cls.i32, ref.f32, ref_cls.i32
  distance_baselines.py faiss DIR THREADS           Faiss IndexFlatL2 per class: same d_in / d_out as SISOM
  distance_baselines.py loop DIR SAMPLES            the authors' per-sample NumPy loop on the first SAMPLES rows
  distance_baselines.py matmul THREADS              torch float32 matmul GFLOP/s (the machine's sgemm peak)

Each timing line is 'name seconds checksum' so the shell harness can compare and check agreement.
"""
import os
import sys
import time

import numpy as np


def load(d):
    meta = open(os.path.join(d, "meta.txt")).read().split()
    n, m, dim, k = map(int, meta)
    pool = np.fromfile(os.path.join(d, "pool.f32"), dtype=np.float32).reshape(n, dim)
    pcls = np.fromfile(os.path.join(d, "pool_cls.i32"), dtype=np.int32)
    ref = np.fromfile(os.path.join(d, "ref.f32"), dtype=np.float32).reshape(m, dim)
    rcls = np.fromfile(os.path.join(d, "ref_cls.i32"), dtype=np.int32)
    return pool, pcls, ref, rcls, k


def generate(d, n, m, dim, k, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1.5, size=(k, dim))
    rcls = (np.arange(m) % k).astype(np.int32)
    pcls = rng.integers(0, k, size=n).astype(np.int32)
    # sigmoid features like z = sigmoid(alpha * u), clustered by class
    ref = 1 / (1 + np.exp(-(centers[rcls] + rng.normal(0, 1, size=(m, dim)))))
    pool = 1 / (1 + np.exp(-(centers[pcls] + rng.normal(0, 1.3, size=(n, dim)))))
    os.makedirs(d, exist_ok=True)
    pool.astype(np.float32).tofile(os.path.join(d, "pool.f32"))
    pcls.tofile(os.path.join(d, "pool_cls.i32"))
    ref.astype(np.float32).tofile(os.path.join(d, "ref.f32"))
    rcls.tofile(os.path.join(d, "ref_cls.i32"))
    with open(os.path.join(d, "meta.txt"), "w") as f:
        f.write(f"{n} {m} {dim} {k}\n")


def faiss_ratio(d, threads):
    import faiss
    faiss.omp_set_num_threads(threads)
    pool, pcls, ref, rcls, k = load(d)
    faiss_once(pool, pcls, ref, rcls, k, faiss)  # one untimed run, as the Java side
    times = []
    for _ in range(3):  # median of three, as the Java side
        t0 = time.perf_counter()
        r = faiss_once(pool, pcls, ref, rcls, k, faiss)
        times.append(time.perf_counter() - t0)
    print(f"faiss {sorted(times)[1]:.4f} {float(r.sum()):.6f}")


def faiss_once(pool, pcls, ref, rcls, k, faiss):
    best = np.full((pool.shape[0], k), np.inf, dtype=np.float32)
    for c in range(k):
        index = faiss.IndexFlatL2(ref.shape[1])
        index.add(np.ascontiguousarray(ref[rcls == c]))
        dist, _ = index.search(pool, 1)
        best[:, c] = dist[:, 0]
    d_in = np.sqrt(np.maximum(best[np.arange(len(pcls)), pcls], 0))
    best[np.arange(len(pcls)), pcls] = np.inf
    d_out = np.sqrt(np.maximum(best.min(1), 0))
    return d_in / d_out


def loop_ratio(d, samples):
    pool, pcls, ref, rcls, k = load(d)
    samples = min(samples, pool.shape[0])
    t0 = time.perf_counter()
    total = 0.0
    for i in range(samples):  # the reference implementation's style: one sample at a time
        dists = np.linalg.norm(ref - pool[i], axis=1)
        d_in = dists[rcls == pcls[i]].min()
        d_out = dists[rcls != pcls[i]].min()
        total += d_in / d_out
    secs = time.perf_counter() - t0
    print(f"loop {secs:.4f} {total:.6f} {samples}")


def matmul(threads):
    import torch
    torch.set_num_threads(threads)
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    for _ in range(2):
        a @ b
    reps = 10
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    secs = time.perf_counter() - t0
    print(f"matmul {2 * 2048 ** 3 * reps / secs / 1e9:.2f}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "generate":
        generate(sys.argv[2], *map(int, sys.argv[3:8]))
    elif cmd == "faiss":
        faiss_ratio(sys.argv[2], int(sys.argv[3]))
    elif cmd == "loop":
        loop_ratio(sys.argv[2], int(sys.argv[3]))
    elif cmd == "matmul":
        matmul(int(sys.argv[2]))
    else:
        sys.exit(__doc__)
