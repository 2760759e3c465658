#!/usr/bin/env python3
"""The held-out-class model of the OOD benchmark (seeded): the bundled model's recipe (make_samples.py: the same
CIFAR-style ResNet18 of width 16, 4 epochs, seed 7, the same optimiser and augmentation) trained on 8 of the 10
Fashion-MNIST classes, exported through python/sisom_export.py. The other two classes, shirt and sneaker, are the
held-out-class near-OOD set of bench/ood.sh: a new kind of object from a family the model knows.

Why shirt and sneaker (chosen before any benchmark result): one held-out class from each of the data set's two
families of look-alike classes, tops (t-shirt, pullover, dress, coat, shirt) and footwear (sandal, sneaker,
ankle boot), so that each has close relatives among the training classes, which is what a user's new object class
usually looks like. Shirt is the class Fashion-MNIST classifiers confuse most with the other tops (Xiao et al.
2017), sneaker the footwear class between sandal and ankle boot. Bag and trouser were not chosen: they have no close
relative, which would make the set easy (nearer to far-OOD).

Writes data-samples/model-heldout/fmnist8_resnet18w16.pt and .json (only the export: the final linear layer that
ReAct, ASH and ViM need is read back from the exported module's head).
  /usr/bin/python3 data-samples/make_heldout_model.py [--epochs 4] [--threads 2]
Needs Debian's python3-torch, python3-numpy and dataset-fashion-mnist.
"""
import argparse
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(os.path.dirname(HERE), "python"), HERE]
import make_samples  # noqa: E402
import sisom_export  # noqa: E402
import sisom_resnet  # noqa: E402
from fmnist import CLASSES, LAYERS, MEAN, STD, read_idx, to_tensor  # noqa: E402

HELD_OUT = ("shirt", "sneaker")
KEPT = [c for c in CLASSES if c not in HELD_OUT]
OUT = os.path.join(HERE, "model-heldout")
NAME = "fmnist8_resnet18w16"


def kept(images, labels):
    """The images of the kept classes, labels renumbered 0..7 in CLASSES order."""
    keep = np.isin(labels, [CLASSES.index(c) for c in KEPT])
    remap = {CLASSES.index(c): i for i, c in enumerate(KEPT)}
    return images[keep], np.array([remap[v] for v in labels[keep]], dtype=np.int64)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)

    xtr, ytr = kept(read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz"))
    xte, yte = kept(read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz"))
    xtr_t, xte_t = to_tensor(xtr), to_tensor(xte)
    ytr_t, yte_t = torch.from_numpy(ytr), torch.from_numpy(yte)

    model = sisom_resnet.build(num_classes=len(KEPT), in_channels=1, width=args.width)
    t0 = time.time()
    make_samples.train(model, xtr_t, ytr_t, args.epochs, 128, args.seed)
    model.eval()
    acc = make_samples.accuracy(model, xte_t, yte_t)
    print(f"test accuracy {acc:.4f} on the {len(yte)} test images of the 8 kept classes after {args.epochs} epochs "
          f"({time.time() - t0:.0f}s)", flush=True)
    meta = sisom_export.export(
        model, LAYERS, (1, 28, 28), os.path.join(OUT, NAME + ".pt"), [MEAN], [STD], KEPT, verify_batch=xte_t[:64],
        extra_metadata={"training": {
            "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist) without the classes " + " and ".join(HELD_OUT),
            "heldOutClasses": list(HELD_OUT), "trainImages": int(len(ytr)), "epochs": args.epochs,
            "width": args.width, "seed": args.seed, "testAccuracy": round(acc, 4),
            "testSet": f"{len(yte)} Fashion-MNIST test images of the 8 kept classes",
            "script": "data-samples/make_heldout_model.py"}})
    print("export:", meta["verification"], flush=True)


if __name__ == "__main__":
    main()
