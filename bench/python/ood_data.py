#!/usr/bin/env python3
"""Data sets of the OOD benchmark (bench/ood.sh), written as 28x28 grayscale PNGs with CSV manifests.

In-distribution is Fashion-MNIST (Debian's dataset-fashion-mnist). Every out-of-distribution set comes from a file
a Debian package installs, so the benchmark runs without network:

  near  letters   letter glyphs A-Z, a-z rendered from fonts-dejavu-core and fonts-liberation (a notMNIST analogue)
  near  digits    scikit-learn's 8x8 handwritten digits (UCI optdigits test set), upscaled (an MNIST analogue)
  far   natural   random crops of scikit-image's sample photographs (camera, astronaut, coffee, chelsea, rocket,
                  hubble_deep_field, coins)
  far   textures  random crops of scikit-image's brick, grass and gravel textures (a Textures/DTD analogue)
  far   noise     i.i.d. uniform pixel noise (synthetic)

A second suite, under OUT/heldout/, is the held-out-class question: the 8-class model of
data-samples/make_heldout_model.py (trained without shirt and sneaker), its own fit and ID test sets from the 8
kept classes, and the test images of the two held-out classes as its OOD sets (group held-out).

Layout under OUT (and the same under OUT/heldout/):
  fit/manifest.csv (path,id,label)  Fashion-MNIST training images, class-balanced: the labeled set that SISOM's
                                    reference and every fitted baseline (KNN, Mahalanobis, ViM, ReAct, ASH) share
  eval/manifest.csv (path,id)       Fashion-MNIST test images followed by every OOD set
  eval/truth.csv (id,set,group,label)  group: id, near, far or held-out; label: the class name for id rows, empty
                                    otherwise
  sets.csv                          one row per set: name, group, count, provenance, licence
  head.json                         the classifier's final linear layer (weight K x P, bias K): ReAct, ASH and ViM
                                    need it and the model contract does not carry it; from the bundled model's
                                    state dict, and from the held-out model's exported TorchScript head

  /usr/bin/python3 bench/python/ood_data.py OUT [--reduced] [--seed 0]
Needs Debian's python3-numpy python3-pil python3-sklearn python3-skimage python3-torch dataset-fashion-mnist
fonts-dejavu-core fonts-liberation.
"""
import argparse
import csv
import io
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "data-samples"))
from fmnist import CLASSES, read_idx  # noqa: E402
STATE = os.path.join(ROOT, "data-samples", "model", "fmnist_resnet18w16.state.pt")
HELDOUT_MODEL = os.path.join(ROOT, "data-samples", "model-heldout", "fmnist8_resnet18w16.pt")
FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation"]
NATURAL = ["camera", "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "coins"]
TEXTURES = ["brick", "grass", "gravel"]

# sizes: (fit images per class, ID test images, images per OOD set); the held-out suite uses the same per-class
# fit size, all (or, reduced, a class-balanced 500 of the) test images of its 8 classes, and up to that many test
# images of each held-out class (1,000 exist per class)
FULL = (1000, 10000, 2000)
REDUCED = (50, 500, 150)

SETS = [
    ("fashion-mnist-test", "id", "Fashion-MNIST test split (Xiao et al. 2017), Debian dataset-fashion-mnist",
     "MIT (Expat)"),
    ("letters", "near", "glyphs A-Z, a-z rendered from the DejaVu (fonts-dejavu-core) and Liberation "
     "(fonts-liberation) TrueType fonts, random font, size, offset and rotation", "DejaVu: Bitstream Vera licence; "
     "Liberation: GPL-2 with font exception (fonts-liberation 1.07)"),
    ("digits", "near", "scikit-learn load_digits (UCI optical handwritten digits, test part, E. Alpaydin 1998), "
     "8x8 upscaled to 20x20 in a 28x28 frame", "CC BY 4.0 (UCI); shipped in python3-sklearn (BSD-3-Clause)"),
    ("natural", "far", "random square crops (32-256 px) of scikit-image sample photos " + ", ".join(NATURAL)
     + ", gray (ITU-R 601-2), resized to 28x28", "CC0 / public domain / no known restrictions per skimage.data "
     "docstrings; python3-skimage BSD-3-Clause"),
    ("textures", "far", "random square crops (28-160 px) of scikit-image textures " + ", ".join(TEXTURES)
     + ", resized to 28x28", "CC0 (cc0textures.com) per skimage.data docstrings"),
    ("noise", "far", "synthetic i.i.d. uniform pixel noise in [0, 255]", "generated (no licence needed)"),
]


def balanced(labels, per_class, rng, classes=None):
    classes = range(len(CLASSES)) if classes is None else classes
    idx = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False) for c in classes]
    return np.sort(np.concatenate(idx))


def letters(n, rng):
    fonts = sorted(os.path.join(d, f) for d in FONT_DIRS if os.path.isdir(d) for f in os.listdir(d)
                   if f.endswith(".ttf") and "Math" not in f)
    if not fonts:
        raise SystemExit("ood_data: no TrueType fonts under " + ", ".join(FONT_DIRS)
                         + " (apt-get install fonts-dejavu-core fonts-liberation)")
    chars = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    out = []
    for _ in range(n):
        font = ImageFont.truetype(fonts[rng.integers(len(fonts))], int(rng.integers(14, 25)))
        ch = chars[rng.integers(len(chars))]
        # draw large then place: white glyph on black like Fashion-MNIST's bright object on a dark background
        canvas = Image.new("L", (56, 56), 0)
        ImageDraw.Draw(canvas).text((28, 28), ch, fill=255, font=font, anchor="mm")
        canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
        dx, dy = rng.integers(-3, 4, size=2)
        out.append(np.asarray(canvas)[14 + dy:42 + dy, 14 + dx:42 + dx].copy())
    return out


def digits(n, rng):
    from sklearn.datasets import load_digits
    d = load_digits()
    idx = rng.choice(len(d.images), size=min(n, len(d.images)), replace=False)
    out = []
    for i in idx:
        img = Image.fromarray((d.images[i] / 16.0 * 255.0).astype(np.uint8)).resize((20, 20), Image.BILINEAR)
        canvas = np.zeros((28, 28), dtype=np.uint8)
        canvas[4:24, 4:24] = np.asarray(img)
        out.append(canvas)
    return out


def crops(names, n, lo, hi, rng):
    import skimage.data
    images = []
    for name in names:
        a = getattr(skimage.data, name)()
        img = Image.fromarray(a)
        images.append(img.convert("L") if img.mode != "L" else img)
    out = []
    for _ in range(n):
        img = images[rng.integers(len(images))]
        s = int(rng.integers(lo, min(hi, *img.size) + 1))
        x, y = int(rng.integers(0, img.size[0] - s + 1)), int(rng.integers(0, img.size[1] - s + 1))
        out.append(np.asarray(img.crop((x, y, x + s, y + s)).resize((28, 28), Image.BILINEAR)))
    return out


def noise(n, rng):
    return [rng.integers(0, 256, size=(28, 28), dtype=np.uint8) for _ in range(n)]


def png(path, img):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_suite(out, fit, eval_sets, head):
    """fit: (id, image, label); eval_sets: (name, group, provenance, licence, [(id, image, label or "")])."""
    for d in ("fit/images", "eval/images"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    with open(os.path.join(out, "fit", "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "id", "label"])
        for rid, img, label in fit:
            png(os.path.join(out, "fit", "images", rid + ".png"), img)
            w.writerow([f"images/{rid}.png", rid, label])
    with open(os.path.join(out, "eval", "manifest.csv"), "w", newline="") as fm, \
            open(os.path.join(out, "eval", "truth.csv"), "w", newline="") as ft, \
            open(os.path.join(out, "sets.csv"), "w", newline="") as fs:
        wm, wt, ws = csv.writer(fm), csv.writer(ft), csv.writer(fs)
        wm.writerow(["path", "id"])
        wt.writerow(["id", "set", "group", "label"])
        ws.writerow(["set", "group", "count", "provenance", "licence"])
        for name, group, provenance, licence, rows in eval_sets:
            os.makedirs(os.path.join(out, "eval", "images", name), exist_ok=True)
            for rid, img, label in rows:
                png(os.path.join(out, "eval", "images", name, rid + ".png"), img)
                wm.writerow([f"images/{name}/{rid}.png", rid])
                wt.writerow([rid, name, group, label])
            ws.writerow([name, group, len(rows), provenance, licence])
    with open(os.path.join(out, "head.json"), "w") as f:
        json.dump(head, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--reduced", action="store_true", help="the CI configuration (a few hundred images per set)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout-model", default=HELDOUT_MODEL,
                    help="the held-out suite's exported model (default: the bundled 8-class model)")
    args = ap.parse_args()
    per_class, n_test, n_ood = REDUCED if args.reduced else FULL
    rng = np.random.default_rng(args.seed)

    x_train, y_train = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    x_test, y_test = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    fit = [(f"train-{i:05d}", x_train[i], CLASSES[y_train[i]]) for i in balanced(y_train, per_class, rng)]
    test_idx = (np.arange(len(y_test)) if n_test >= len(y_test)
                else balanced(y_test, n_test // len(CLASSES), rng))
    generated = {
        "fashion-mnist-test": [(f"fashion-mnist-test-{i:05d}", x_test[i], CLASSES[y_test[i]]) for i in test_idx],
        "letters": letters(n_ood, rng),
        "digits": digits(n_ood, rng),
        "natural": crops(NATURAL, n_ood, 32, 256, rng),
        "textures": crops(TEXTURES, n_ood, 28, 160, rng),
        "noise": noise(n_ood, rng),
    }
    eval_sets = []
    for name, group, provenance, licence in SETS:
        rows = generated[name] if group == "id" else [(f"{name}-{j:05d}", img, "") for j, img in
                                                      enumerate(generated[name])]
        eval_sets.append((name, group, provenance, licence, rows))
    import torch
    state = torch.load(STATE, map_location="cpu")
    write_suite(args.out, fit, eval_sets,
                {"source": os.path.relpath(STATE, ROOT), "weight": state["fc.weight"].tolist(),
                 "bias": state["fc.bias"].tolist(), "seed": args.seed, "reduced": args.reduced})

    # the held-out-class suite, drawn after the main suite so that the main suite's data do not depend on it
    if not os.path.isfile(args.heldout_model):
        raise SystemExit("ood_data: no " + args.heldout_model + " (train it with data-samples/make_heldout_model.py)")
    scripted = torch.jit.load(args.heldout_model, map_location="cpu")
    with open(os.path.splitext(args.heldout_model)[0] + ".json") as f:
        kept = json.load(f)["classNames"]
    held = [c for c in CLASSES if c not in kept]
    kept_idx = np.array([CLASSES.index(c) for c in kept])
    fit_h = [(f"train-{i:05d}", x_train[i], CLASSES[y_train[i]])
             for i in balanced(y_train, per_class, rng, kept_idx)]
    in_kept = np.flatnonzero(np.isin(y_test, kept_idx))
    test_h = in_kept if not args.reduced else balanced(y_test, n_test // len(kept), rng, kept_idx)
    heldout_sets = [("fashion-mnist-test-8", "id", "Fashion-MNIST test split, the 8 classes the held-out model was "
                     "trained on (" + ", ".join(kept) + ")", "MIT (Expat)",
                     [(f"fashion-mnist-test-{i:05d}", x_test[i], CLASSES[y_test[i]]) for i in test_h])]
    for c in held:
        idx = np.flatnonzero(y_test == CLASSES.index(c))
        if len(idx) > n_ood:
            idx = np.sort(rng.choice(idx, size=n_ood, replace=False))
        heldout_sets.append((c, "held-out", f"Fashion-MNIST test images of the class {c}, held out of the model's "
                             "training (data-samples/make_heldout_model.py)", "MIT (Expat)",
                             [(f"{c}-{i:05d}", x_test[i], "") for i in idx]))
    write_suite(os.path.join(args.out, "heldout"), fit_h, heldout_sets,
                {"source": os.path.relpath(args.heldout_model, ROOT), "weight": scripted.head.weight.tolist(),
                 "bias": scripted.head.bias.tolist(), "seed": args.seed, "reduced": args.reduced})
    print(f"ood_data: fit {len(fit)}, " + ", ".join(f"{k} {len(v)}" for k, v in generated.items())
          + f"; held-out suite: fit {len(fit_h)}, "
          + ", ".join(f"{name} {len(rows)}" for name, _, _, _, rows in heldout_sets) + f" -> {args.out}")


if __name__ == "__main__":
    sys.exit(main())
