#!/usr/bin/env python3
"""What a run on the bundled pool put in its queue and in its flagged list, by the ground truth of pool/truth.csv
(which the jobs never read): how many Fashion-MNIST images and how many of the planted scikit-learn digits.

  python3 data-samples/queue_composition.py target/sisom-samples/results
"""
import csv
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def composition(results):
    with open(os.path.join(HERE, "pool", "truth.csv")) as f:
        truth = {r["id"]: r["source"] for r in csv.DictReader(f)}
    digits_in_pool = sum(1 for s in truth.values() if s == "sklearn-digits")
    out = {}
    for name, sub in (("queue", "selection-csv"), ("flagged", "ood-csv")):
        files = glob.glob(os.path.join(results, sub, "*.csv"))
        if not files:
            continue
        with open(files[0]) as f:
            ids = [r["id"] for r in csv.DictReader(f)]
        # image-tree ids keep the file name (test-00001.png), Parquet ids do not
        sources = [truth[i[:-4] if i.endswith(".png") else i] for i in ids]
        out[name] = (len(ids), sources.count("fashion-mnist-test"), sources.count("sklearn-digits"))
    return out, digits_in_pool


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out, digits = composition(sys.argv[1])
    if "queue" not in out:
        raise SystemExit(f"no selection-csv under {sys.argv[1]}")
    n, fm, dg = out["queue"]
    print(f"queue:   {n} samples, {fm} Fashion-MNIST, {dg} digits ({100 * fm / max(n, 1):.1f} % Fashion-MNIST)")
    if "flagged" in out:
        n, fm, dg = out["flagged"]
        print(f"flagged: {n} samples, {fm} Fashion-MNIST, {dg} digits ({dg} of the pool's {digits} digits)")
    else:
        print("flagged: no ood-csv (the run had no OOD threshold)")


if __name__ == "__main__":
    main()
