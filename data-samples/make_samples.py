#!/usr/bin/env python3
"""Regenerate everything under data-samples/ (seeded): the Fashion-MNIST model, its SISOM export, the labeled
subset, the unlabeled pool and the golden parity files used by the Java tests.

Needs Debian's python3-torch, python3-numpy, python3-pil, python3-sklearn and dataset-fashion-mnist.
Run from the repository root:   /usr/bin/python3 data-samples/make_samples.py [--epochs 4]
(then `bash data-samples/make_parquet.sh` writes the Parquet copies with Spark).
"""
import argparse
import csv
import io
import json
import os
import random
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.dirname(os.path.abspath(__file__))]
import sisom_export  # noqa: E402
import sisom_resnet  # noqa: E402
from fmnist import CLASSES, LAYERS, MEAN, STD, read_idx, to_tensor  # noqa: E402

OUT = os.path.join(ROOT, "data-samples")
GOLDEN = os.path.join(ROOT, "common", "src", "test", "resources", "golden")


def train(model, x, y, epochs, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        t0, total = time.time(), 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb = x[idx]
            # random horizontal flip and 2-pixel shifts: cheap augmentation that helps this small network
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            opt.zero_grad()
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - t0:.0f}s)", flush=True)


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


def png_bytes(img_u8):
    buf = io.BytesIO()
    Image.fromarray(img_u8).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_images(rows, directory, manifest):
    """rows: (id, uint8 image, label or None). Writes <directory>/<id>.png and a CSV manifest (path, id[, label])."""
    os.makedirs(directory, exist_ok=True)
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        labeled = rows[0][2] is not None
        w.writerow(["path", "id", "label"] if labeled else ["path", "id"])
        for rid, img, label in rows:
            rel = os.path.relpath(os.path.join(directory, rid + ".png"), os.path.dirname(manifest))
            with open(os.path.join(directory, rid + ".png"), "wb") as out:
                out.write(png_bytes(img))
            w.writerow([rel, rid, label] if labeled else [rel, rid])


def digits_as_fmnist(n, rng):
    """Out-of-distribution sample images: scikit-learn's 8x8 handwritten digits, upscaled to 28x28."""
    from sklearn.datasets import load_digits
    idx = rng.choice(len(load_digits().images), size=n, replace=False)
    return upscaled_digits(idx), idx


def upscaled_digits(idx):
    """scikit-learn digits idx, 8x8 upscaled to 20x20 in a 28x28 frame."""
    from sklearn.datasets import load_digits
    d = load_digits()
    framed = []
    for i in idx:
        img = (d.images[i] / 16.0 * 255.0).astype(np.uint8)
        img = np.asarray(Image.fromarray(img).resize((20, 20), Image.BILINEAR).crop((0, 0, 20, 20)))
        canvas = np.zeros((28, 28), dtype=np.uint8)
        canvas[4:24, 4:24] = img
        framed.append(canvas)
    return framed


def write_rejected(pool_digit_idx, n, seed):
    """The labeled set as annotators leave it after a few nights: the class-labeled images plus n images they
    rejected as "unknown" (scikit-learn digits, none of them in the pool), as labeled/with-unknowns.csv. The images go
    to labeled/rejected/; labeled/manifest.csv and the Parquet copy stay class-labeled only."""
    from sklearn.datasets import load_digits
    rng = np.random.default_rng(seed)
    # drawn from the digits the pool does not hold, upscaled as the pool's digits are
    free = np.setdiff1d(np.arange(len(load_digits().images)), np.asarray(pool_digit_idx))
    chosen = np.sort(rng.choice(free, size=n, replace=False))
    rows = [(f"rejected-{i:04d}", img) for i, img in zip(chosen, upscaled_digits(chosen))]
    out_dir = os.path.join(OUT, "labeled", "rejected")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(OUT, "labeled", "manifest.csv")) as f:
        labeled = list(csv.reader(f))[1:]
    with open(os.path.join(OUT, "labeled", "with-unknowns.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "id", "label"])
        w.writerows(labeled)
        for rid, img in rows:
            with open(os.path.join(out_dir, rid + ".png"), "wb") as out:
                out.write(png_bytes(img))
            w.writerow([f"rejected/{rid}.png", rid, "unknown"])


def pool_digits():
    """The scikit-learn digit indexes the bundled pool holds (from pool/manifest.csv)."""
    with open(os.path.join(OUT, "pool", "manifest.csv")) as f:
        return [int(r["id"][len("digit-"):]) for r in csv.DictReader(f) if r["id"].startswith("digit-")]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--width", type=int, default=16, help="base width of the ResNet18 (64 in the original)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--labeled-per-class", type=int, default=50)
    p.add_argument("--pool-in", type=int, default=900, help="in-distribution pool images (Fashion-MNIST test)")
    p.add_argument("--pool-ood", type=int, default=100, help="OOD pool images (scikit-learn digits)")
    p.add_argument("--rejected", type=int, default=40,
                   help="labeled images rejected as unknown (scikit-learn digits not in the pool), in with-unknowns.csv")
    p.add_argument("--rejected-only", action="store_true",
                   help="only rewrite labeled/rejected/ and labeled/with-unknowns.csv from the existing manifests")
    p.add_argument("--golden-only", action="store_true",
                   help="only rewrite the golden parity files from the existing exported model")
    p.add_argument("--reexport", action="store_true",
                   help="export the saved weights (fmnist_resnet18w16.state.pt) again with the current exporter, "
                        "keeping the training record, then rewrite the golden files; no training")
    args = p.parse_args()
    if args.reexport:
        reexport(os.path.join(OUT, "model"), args.width)
        args.golden_only = True
    if args.rejected_only:
        write_rejected(pool_digits(), args.rejected, args.seed + 2)
        return
    if args.golden_only:
        write_golden(os.path.join(OUT, "model"), read_idx("t10k-images-idx3-ubyte.gz"),
                     np.random.default_rng(args.seed + 1))
        return

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)

    xtr_u8, ytr = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    xte_u8, yte = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    xtr, xte = to_tensor(xtr_u8), to_tensor(xte_u8)
    ytr_t, yte_t = torch.from_numpy(ytr.astype(np.int64)), torch.from_numpy(yte.astype(np.int64))

    model = sisom_resnet.build(num_classes=10, in_channels=1, width=args.width)
    t0 = time.time()
    train(model, xtr, ytr_t, args.epochs, 128, args.seed)
    model.eval()
    acc = accuracy(model, xte, yte_t)
    print(f"test accuracy {acc:.4f} after {args.epochs} epochs ({time.time() - t0:.0f}s)", flush=True)

    model_dir = os.path.join(OUT, "model")
    os.makedirs(model_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(model_dir, "fmnist_resnet18w16.state.pt"))
    export_model(model, model_dir, xte[:64],
                 {"dataset": "Fashion-MNIST (Debian dataset-fashion-mnist)", "epochs": args.epochs,
                  "width": args.width, "seed": args.seed, "testAccuracy": round(acc, 4),
                  "testSet": "10000 Fashion-MNIST test images"})

    # labeled subset: first N of each class in a seeded permutation of the training set
    perm = rng.permutation(len(ytr))
    labeled = []
    for c in range(10):
        ids = [i for i in perm if ytr[i] == c][:args.labeled_per_class]
        labeled += [(f"train-{i:05d}", xtr_u8[i], CLASSES[c]) for i in ids]
    labeled.sort(key=lambda r: r[0])
    write_images(labeled, os.path.join(OUT, "labeled", "images"), os.path.join(OUT, "labeled", "manifest.csv"))

    # unlabeled pool: Fashion-MNIST test images plus upscaled handwritten digits as out-of-distribution samples
    test_idx = rng.permutation(len(yte))[:args.pool_in]
    pool = [(f"test-{i:05d}", xte_u8[i], None) for i in sorted(test_idx)]
    digits, didx = digits_as_fmnist(args.pool_ood, rng)
    pool += [(f"digit-{i:04d}", img, None) for i, img in zip(didx, digits)]
    write_images(pool, os.path.join(OUT, "pool", "images"), os.path.join(OUT, "pool", "manifest.csv"))
    # ground truth for evaluation only: never read by the jobs
    with open(os.path.join(OUT, "pool", "truth.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "source", "label"])
        for i in sorted(test_idx):
            w.writerow([f"test-{i:05d}", "fashion-mnist-test", CLASSES[yte[i]]])
        for i in didx:
            w.writerow([f"digit-{i:04d}", "sklearn-digits", ""])

    write_rejected(didx, args.rejected, args.seed + 2)
    write_golden(model_dir, xte_u8, np.random.default_rng(args.seed + 1))
    print("done", flush=True)


def export_model(model, model_dir, verify_batch, training):
    meta = sisom_export.export(
        model, LAYERS, (1, 28, 28), os.path.join(model_dir, "fmnist_resnet18w16.pt"), [MEAN], [STD], CLASSES,
        verify_batch=verify_batch, extra_metadata={"training": training})
    print("export:", meta["verification"], flush=True)


def reexport(model_dir, width):
    """The saved weights through the current exporter; the training record is carried over from the old export."""
    with open(os.path.join(model_dir, "fmnist_resnet18w16.json")) as f:
        training = json.load(f)["training"]
    if training["width"] != width:
        sys.exit(f"the saved model has width {training['width']}, not {width}")
    model = sisom_resnet.build(num_classes=10, in_channels=1, width=width)
    model.load_state_dict(torch.load(os.path.join(model_dir, "fmnist_resnet18w16.state.pt"), map_location="cpu"))
    model.eval()
    export_model(model, model_dir, to_tensor(read_idx("t10k-images-idx3-ubyte.gz"))[:64], training)


def write_golden(model_dir, xte_u8, rng):
    """Golden parity files: PNG inputs (grayscale and RGB) and the scripted model's outputs on them."""
    os.makedirs(GOLDEN, exist_ok=True)
    scripted = torch.jit.load(os.path.join(model_dir, "fmnist_resnet18w16.pt"))
    idx = rng.choice(len(xte_u8), size=12, replace=False)
    arrays = []
    names = []
    for n, i in enumerate(idx):
        img = xte_u8[i]
        if n % 3 == 2:
            # an RGB image whose channels differ: checks the ITU-R 601-2 luma conversion (PIL's convert("L"))
            rgb = np.stack([img, (img * 0.5).astype(np.uint8), 255 - img], axis=2)
            pil = Image.fromarray(rgb, "RGB")
            gray = np.asarray(pil.convert("L"))
        else:
            pil = Image.fromarray(img)
            gray = img
        name = f"g{n:02d}.png"
        pil.save(os.path.join(GOLDEN, name))
        names.append(name)
        arrays.append(gray)
    x = to_tensor(np.stack(arrays))
    logits, pen, acts, grads = scripted(x)
    out = {"model": "data-samples/model/fmnist_resnet18w16.pt", "images": names,
           "headWeight": scripted.head.weight.detach().tolist(),
           "input": x.flatten(1).tolist(), "logits": logits.tolist(), "penultimate": pen.tolist(),
           "activations": acts.tolist(), "gradients": grads.tolist()}
    with open(os.path.join(GOLDEN, "golden.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
