#!/usr/bin/env python3
"""Plots of an OOD benchmark run (bench/ood.sh), from its results.csv, scores.csv and scores-heldout.csv:

  auroc.png       mean AUROC per question (near-OOD, far-OOD, held-out classes) with the bootstrap 95 % interval,
                  one row per ranked method (the fixed configurations), ordered by near-OOD AUROC as results.md
  histograms.png  score histograms, ID test vs each OOD set, for SISOM, SISOMe and three baselines; left the main
                  suite (near and far sets), right the held-out-class suite

  /usr/bin/python3 bench/python/ood_plots.py OUT
Needs Debian's python3-matplotlib and python3-numpy.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

GROUPS = [("near", "near-OOD", "#4c72b0"), ("far", "far-OOD", "#dd8452"), ("held-out", "held-out classes", "#55a868")]
SHOWN = ["SISOM", "SISOMe", "Energy", "KNN", "ViM"]


def read_scores(path):
    with open(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        data = list(reader)
    return header, data


def main():
    out = sys.argv[1]
    rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
    means = {}
    for r in rows:
        if r["ranked"] == "true" and r["set"].endswith("-mean"):
            means.setdefault(r["method"], {})[r["group"]] = (float(r["auroc"]), float(r["auroc_lo"]),
                                                             float(r["auroc_hi"]))
    groups = [g for g in GROUPS if any(g[0] in m for m in means.values())]
    methods = sorted(means, key=lambda m: -means[m][groups[0][0]][0])
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(methods) + 1.4))
    y = np.arange(len(methods))
    h = 0.8 / len(groups)
    for k, (g, label, color) in enumerate(groups):
        v = np.array([means[m][g] for m in methods]) * 100
        off = (k - (len(groups) - 1) / 2) * h
        ax.barh(y + off, v[:, 0], h, label=label, color=color,
                xerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]], error_kw={"elinewidth": 0.8, "capsize": 1.5})
    ax.set_yticks(y)
    ax.set_yticklabels(methods, fontsize=8)
    for t in ax.get_yticklabels():
        if t.get_text().startswith("SISOM"):
            t.set_fontweight("bold")
    ax.invert_yaxis()
    lo = min(v[1] for m in methods for v in means[m].values()) * 100
    ax.set_xlim(max(0, lo - 5), 100)
    ax.set_xlabel("AUROC (%) with bootstrap 95 % interval, Fashion-MNIST in-distribution")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "auroc.png"), dpi=110)

    suites = [read_scores(os.path.join(out, f)) for f in ("scores.csv", "scores-heldout.csv")
              if os.path.isfile(os.path.join(out, f))]
    shown = [m for m in SHOWN if all(m in h for h, _ in suites)]
    fig, axes = plt.subplots(len(shown), len(suites), figsize=(6 * len(suites), 2.2 * len(shown)), squeeze=False)
    for col, (header, data) in enumerate(suites):
        sets = np.array([r[1] for r in data])
        groups_of = np.array([r[2] for r in data])
        order = {g: i for i, (g, _, _) in enumerate(GROUPS)}
        ood_sets = sorted({s for s, g in zip(sets, groups_of) if g != "id"},
                          key=lambda s: (order[groups_of[sets == s][0]], s))
        for row, m in enumerate(shown):
            ax = axes[row][col]
            v = np.array([float(r[header.index(m)]) for r in data])
            lo, hi = np.percentile(v, [0.5, 99.5])
            bins = np.linspace(lo, hi, 60)
            ax.hist(v[groups_of == "id"], bins=bins, density=True, alpha=0.5, color="black", label="ID test")
            for s in ood_sets:
                ax.hist(v[sets == s], bins=bins, density=True, histtype="step", linewidth=1.4, label=s)
            ax.set_title(m + (" (main suite)" if col == 0 else " (held-out-class model)")
                         + ", higher = more in-distribution", fontsize=8)
            ax.set_yticks([])
            if row == 0:
                ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "histograms.png"), dpi=90)
    print("ood_plots: wrote", os.path.join(out, "auroc.png"), "and histograms.png")


if __name__ == "__main__":
    main()
