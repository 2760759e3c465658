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

Layout under OUT:
  fit/manifest.csv (path,id,label)  Fashion-MNIST training images, class-balanced: the labeled set that SISOM's
                                    reference and every fitted baseline (KNN, Mahalanobis, ViM, ReAct, ASH) share
  eval/manifest.csv (path,id)       Fashion-MNIST test images followed by every OOD set
  eval/truth.csv (id,set,group,label)  group: id, near or far; label: the class name for id rows, empty otherwise
  sets.csv                          one row per set: name, group, count, provenance, licence
  head.json                         the classifier's final linear layer (weight K x P, bias K) from the state dict:
                                    ReAct, ASH and ViM need it and the model contract does not carry it

  /usr/bin/python3 python/ood_data.py OUT [--reduced] [--seed 0]
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
FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation"]
NATURAL = ["camera", "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "coins"]
TEXTURES = ["brick", "grass", "gravel"]

# sizes: (fit images per class, ID test images, images per OOD set)
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


def balanced(labels, per_class, rng):
    idx = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False) for c in range(len(CLASSES))]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--reduced", action="store_true", help="the CI configuration (a few hundred images per set)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    per_class, n_test, n_ood = REDUCED if args.reduced else FULL
    rng = np.random.default_rng(args.seed)

    for d in ("fit/images", "eval/images"):
        os.makedirs(os.path.join(args.out, d), exist_ok=True)

    x_train, y_train = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    x_test, y_test = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    with open(os.path.join(args.out, "fit", "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "id", "label"])
        for i in balanced(y_train, per_class, rng):
            rid = f"train-{i:05d}"
            png(os.path.join(args.out, "fit", "images", rid + ".png"), x_train[i])
            w.writerow([f"images/{rid}.png", rid, CLASSES[y_train[i]]])

    test_idx = (np.arange(len(y_test)) if n_test >= len(y_test)
                else balanced(y_test, n_test // len(CLASSES), rng))
    generated = {
        "fashion-mnist-test": [x_test[i] for i in test_idx],
        "letters": letters(n_ood, rng),
        "digits": digits(n_ood, rng),
        "natural": crops(NATURAL, n_ood, 32, 256, rng),
        "textures": crops(TEXTURES, n_ood, 28, 160, rng),
        "noise": noise(n_ood, rng),
    }
    with open(os.path.join(args.out, "eval", "manifest.csv"), "w", newline="") as fm, \
            open(os.path.join(args.out, "eval", "truth.csv"), "w", newline="") as ft, \
            open(os.path.join(args.out, "sets.csv"), "w", newline="") as fs:
        wm, wt, ws = csv.writer(fm), csv.writer(ft), csv.writer(fs)
        wm.writerow(["path", "id"])
        wt.writerow(["id", "set", "group", "label"])
        ws.writerow(["set", "group", "count", "provenance", "licence"])
        for name, group, provenance, licence in SETS:
            imgs = generated[name]
            os.makedirs(os.path.join(args.out, "eval", "images", name), exist_ok=True)
            for j, img in enumerate(imgs):
                rid = f"{name}-{test_idx[j]:05d}" if group == "id" else f"{name}-{j:05d}"
                png(os.path.join(args.out, "eval", "images", name, rid + ".png"), img)
                wm.writerow([f"images/{name}/{rid}.png", rid])
                wt.writerow([rid, name, group, CLASSES[y_test[test_idx[j]]] if group == "id" else ""])
            ws.writerow([name, group, len(imgs), provenance, licence])

    import torch
    state = torch.load(STATE, map_location="cpu")
    head = {"source": os.path.relpath(STATE, ROOT), "weight": state["fc.weight"].tolist(),
            "bias": state["fc.bias"].tolist(), "seed": args.seed, "reduced": args.reduced}
    with open(os.path.join(args.out, "head.json"), "w") as f:
        json.dump(head, f)
    print(f"ood_data: fit {per_class * len(CLASSES)}, " + ", ".join(f"{k} {len(v)}" for k, v in generated.items())
          + f" -> {args.out}")


if __name__ == "__main__":
    sys.exit(main())
