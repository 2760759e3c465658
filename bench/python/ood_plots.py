#!/usr/bin/env python3
"""Plots of an OOD benchmark run (bench/ood.sh), from its results.csv and scores.csv:

  auroc.png       near- and far-OOD mean AUROC per method, ranked by near-OOD AUROC (as results.md)
  histograms.png  score histograms, ID test vs each OOD set, for the best SISOMe variant and three baselines

  /usr/bin/python3 python/ood_plots.py OUT
Needs Debian's python3-matplotlib and python3-numpy.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    out = sys.argv[1]
    rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
    means = {}
    for r in rows:
        if r["set"].endswith("-mean"):
            means.setdefault(r["method"], {})[r["group"]] = float(r["auroc"])
            means[r["method"]]["family"] = r["family"]
    methods = sorted(means, key=lambda m: (-means[m]["near"], -means[m]["far"]))
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(methods) + 1.2))
    y = np.arange(len(methods))
    ax.barh(y - 0.2, [100 * means[m]["near"] for m in methods], 0.4, label="near-OOD", color="#4c72b0")
    ax.barh(y + 0.2, [100 * means[m]["far"] for m in methods], 0.4, label="far-OOD", color="#dd8452")
    ax.set_yticks(y)
    ax.set_yticklabels(methods, fontsize=8)
    for t, m in zip(ax.get_yticklabels(), methods):
        if means[m]["family"] == "sisom":
            t.set_fontweight("bold")
    ax.invert_yaxis()
    lo = min(min(means[m]["near"], means[m]["far"]) for m in methods) * 100
    ax.set_xlim(max(0, lo - 5), 100)
    ax.set_xlabel("AUROC (%), Fashion-MNIST in-distribution")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "auroc.png"), dpi=110)

    with open(os.path.join(out, "scores.csv")) as f:
        reader = csv.reader(f)
        header = next(reader)
        data = list(reader)
    sets = [r[1] for r in data]
    groups = [r[2] for r in data]
    sisome = [m for m in methods if m.startswith("SISOMe")][0]
    shown = [sisome] + [m for m in ("Energy", "MSP") if m in header] + [m for m in methods if m.startswith("KNN")][:1]
    ood_sets = sorted({s for s, g in zip(sets, groups) if g != "id"},
                      key=lambda s: (next(g for s2, g in zip(sets, groups) if s2 == s) != "near", s))
    fig, axes = plt.subplots(len(shown), 1, figsize=(9, 2.3 * len(shown)))
    for ax, m in zip(np.atleast_1d(axes), shown):
        col = header.index(m)
        v = np.array([float(r[col]) for r in data])
        lo, hi = np.percentile(v, [0.5, 99.5])
        bins = np.linspace(lo, hi, 60)
        ax.hist(v[np.array(groups) == "id"], bins=bins, density=True, alpha=0.5, color="black", label="ID test")
        for s in ood_sets:
            ax.hist(v[np.array(sets) == s], bins=bins, density=True, histtype="step", linewidth=1.4, label=s)
        ax.set_title(m + " (higher = more in-distribution)", fontsize=9)
        ax.set_yticks([])
    np.atleast_1d(axes)[0].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "histograms.png"), dpi=100)
    print("ood_plots: wrote", os.path.join(out, "auroc.png"), "and histograms.png")


if __name__ == "__main__":
    main()
