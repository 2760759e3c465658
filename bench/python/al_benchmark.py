#!/usr/bin/env python3
"""Pool-based active-learning benchmark on Fashion-MNIST: SISOM, SISOMe and SISOM greedy (selected through the
Spark jobs, as in production) against random, entropy, margin, CoreSet and BADGE; with --open-set also the LfOSA
setting (the pool mixes known and unknown classes) with LfOSA through the lfosa-select job and the gated SISOM
strategies; with --polluted the open-world setting: a Fashion-MNIST pool polluted with a share of images from the
OOD benchmark's sets (bench/python/ood_data.py), where the queried OOD images come back labeled "unknown" and the
gated strategies' OOD threshold is calibrated on them every cycle (the nightly loop of the README).

Every cycle, each strategy's model is trained from scratch on that strategy's labeled set, its accuracy on the fixed
test set is recorded, and the strategy queries q samples from its unlabeled pool. The SISOM strategies export the
trained model with sisom_export.py, write the labeled set and the unlabeled remainder as manifests and run the `run`
job (extract, reference, score, selection) in one long-lived JVM (ai.sisom.bench.JobServer, which calls SisomJob's
production entry point); LfOSA runs `extract` and `lfosa-select` with its (K+1)-way detector.

Run through bench/active-learning.sh (it builds the jobs and passes --launch). Needs Debian's python3-torch,
python3-numpy, python3-matplotlib and dataset-fashion-mnist.

The SISOM strategies without "-gated" run with sisom.ood.gate=false: the paper's selection, where OOD samples rank
highest. The gated ones (sisome-gated, sisom-greedy-gated) leave the flagged samples out of the queue, with the
threshold and its metric chosen automatically (sisom.ood.threshold=auto, sisom.ood.metric=auto).

Outputs in --out: cycles.csv (one row per setting, strategy, seed, cycle; for the SISOM strategies also the OOD
filter's threshold and its precision and recall on the pool), selections.csv (every queried id), initial.csv (the
initial labeled ids), summary.md (tables), learning-curves.png, open-set.png (with --open-set), polluted.png (with
--polluted), config.json (the configuration and the run time).
"""
import argparse
import csv
import glob
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# the benchmark's strategies beside it, the exporter users run, the bundled samples' Fashion-MNIST loading
sys.path[:0] = [HERE, os.path.join(ROOT, "python"), os.path.join(ROOT, "data-samples")]
import al_strategies as S  # noqa: E402
import sisom_export  # noqa: E402
import sisom_resnet  # noqa: E402
from fmnist import CLASSES, LAYERS, MEAN, STD, read_idx, to_tensor  # noqa: E402

BASELINES = ["random", "entropy", "margin", "coreset", "badge"]
SISOM_STRATEGIES = {  # strategy -> (sisom.score, sisom.selection, sisom.ood.gate)
    "sisom": ("sisom", "topq", False), "sisome": ("sisome", "topq", False), "sisom-greedy": ("sisom", "greedy", False),
    "sisome-gated": ("sisome", "topq", True), "sisom-greedy-gated": ("sisom", "greedy", True)}
GATED = [s for s, v in SISOM_STRATEGIES.items() if v[2]]
ALL = BASELINES + [s for s in SISOM_STRATEGIES if s not in GATED]
# the polluted pool's strategies (the list), and the gated ones the open set adds to ALL and LfOSA
POLLUTED = ["sisome-gated", "sisom-greedy-gated", "sisome", "random", "entropy", "badge", "lfosa"]
OPEN_EXTRA = GATED + ["lfosa"]
# the OOD benchmark's sets that pollute the pool, in equal parts
OOD_SETS = ["letters", "digits", "natural", "textures", "noise"]
# Steepness grid of conf/local-samples.properties: it holds the authors' CIFAR-10 AL values (0.05, 1, 10, 50) and
# the reference build keeps the combination with the lowest leave-one-out r_avg (METHOD.md 7).
STEEPNESS = "layer1:0.05|1,layer2:1|10,layer3:10|100,avgpool:50|100"
LFOSA_T = 0.5  # the LfOSA paper's detector temperature

PRESETS = {
    # CI: enough to run every code path (every setting and strategy, a selection and a retraining; the polluted pool
    # runs two cycles, so that the first cycle's rejects calibrate the second one's threshold)
    "reduced": dict(pool=240, initial=20, q=10, cycles=1, seeds=1, test=400, width=8, epochs=1, min_steps=8,
                    batch=32),
    # a person's run on the 2-core machine (about an hour with --open-set)
    "full": dict(pool=3000, initial=50, q=50, cycles=5, seeds=3, test=2000, width=8, epochs=20, min_steps=150,
                 batch=32),
}


class JobServer:
    """The JVM that runs the Spark jobs; one command at a time over stdin/stdout (see JobServer.java)."""

    def __init__(self, launch_file, log_path, threads):
        jvm, cp = [], None
        with open(launch_file) as f:
            for line in f:
                kind, _, value = line.rstrip("\n").partition("\t")
                if kind == "jvm":
                    jvm.append(value)
                elif kind == "cp":
                    cp = value
        if cp is None:
            raise SystemExit(f"{launch_file} has no 'cp' line: write it with JobServer --print-launch")
        java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
        # libtorch's thread pool as large as the Python side's: on a busy machine, more threads than cores make
        # OpenMP spin and slow everything down by an order of magnitude
        env = dict(os.environ, DJL_OFFLINE="true", OMP_NUM_THREADS=str(threads))
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen([java, *jvm, "-cp", cp, "ai.sisom.bench.JobServer"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)

    def run(self, *args):
        if any("\t" in a or "\n" in a for a in args):
            raise ValueError(f"job arguments must not contain tabs or newlines: {args}")
        self.log.write("$ " + " ".join(args) + "\n")
        self.log.flush()
        self.proc.stdin.write("\t".join(args) + "\n")
        self.proc.stdin.flush()
        error, lines = None, []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the job server died during {args[0]}; see {self.log.name}")
            line = line.rstrip("\n")
            if line.startswith("@@sisom-error "):
                error = line[len("@@sisom-error "):]
            elif line.startswith("@@sisom-done "):
                rc = int(line.split()[1])
                break
            else:
                lines.append(line)
                self.log.write(line + "\n")
        if rc != 0:
            raise RuntimeError(f"sisom {args[0]} failed (exit {rc}): {error}; see {self.log.name}")
        return lines

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=120)
        self.log.close()


def train(x, y, num_classes, cfg, seed, temperature=1.0):
    """A fresh CIFAR-style ResNet18 trained from scratch (the recipe of data-samples/make_samples.py: SGD with
    Nesterov momentum, one-cycle schedule, flips and 2-pixel shifts), at least cfg.min_steps steps."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = sisom_resnet.build(num_classes=num_classes, in_channels=1, width=cfg.width)
    steps = max(cfg.min_steps, cfg.epochs * ((len(x) + cfg.batch - 1) // cfg.batch))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    done = 0
    while done < steps:
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), cfg.batch):
            if done == steps:
                break
            idx = perm[i:i + cfg.batch]
            if len(idx) < 2:
                continue  # BatchNorm needs two samples
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            opt.zero_grad()
            loss_fn(model(xb) / temperature, y[idx]).backward()
            opt.step()
            sched.step()
            done += 1
    return model.eval()


@torch.no_grad()
def outputs(model, x, batch=1000):
    """Softmax probabilities and penultimate features (the input of the final linear layer)."""
    probs, pens = [], []
    for i in range(0, len(x), batch):
        h = model.relu(model.bn1(model.conv1(x[i:i + batch])))
        h = model.layer4(model.layer3(model.layer2(model.layer1(h))))
        pen = torch.flatten(model.avgpool(h), 1)
        probs.append(torch.softmax(model.fc(pen), 1))
        pens.append(pen)
    return torch.cat(probs).numpy().astype(np.float64), torch.cat(pens).numpy().astype(np.float64)


def accuracy(model, x, y):
    probs, _ = outputs(model, x)
    return float((probs.argmax(1) == y).mean())


def write_manifest(path, ids, png_dir, labels=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "id", "label"] if labels is not None else ["path", "id"])
        for j, i in enumerate(ids):
            row = [os.path.join(png_dir, f"{i}.png"), i]
            w.writerow(row + [labels[j]] if labels is not None else row)


def read_selection(result_dir):
    files = glob.glob(os.path.join(result_dir, "selection-csv", "*.csv"))
    if len(files) != 1:
        raise RuntimeError(f"expected one selection CSV under {result_dir}/selection-csv, found {files}")
    with open(files[0]) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["rank"]))
    return [r["id"] for r in rows]


def read_filter(result_dir):
    """The run's OOD threshold (summary.json) and the ids it flagged (ood-csv/), or None without a threshold."""
    with open(os.path.join(result_dir, "summary.json")) as f:
        summary = json.load(f)
    t = summary.get("oodThreshold")
    if t is None:
        return None
    files = glob.glob(os.path.join(result_dir, "ood-csv", "*.csv"))
    if len(files) != 1:
        raise RuntimeError(f"expected one flagged-list CSV under {result_dir}/ood-csv, found {files}")
    with open(files[0]) as f:
        flagged = {r["id"] for r in csv.DictReader(f)}
    return dict(mode=t["mode"], metric=t["metric"], value=t["value"], unknowns=int(t["unknown"]), flagged=flagged)


def ood_images(n, rng):
    """n OOD images from the OOD benchmark's sets in equal parts (the remainder to the first sets), with their ids."""
    import ood_data
    makers = {"letters": lambda k: ood_data.letters(k, rng), "digits": lambda k: ood_data.digits(k, rng),
              "natural": lambda k: ood_data.crops(ood_data.NATURAL, k, 32, 256, rng),
              "textures": lambda k: ood_data.crops(ood_data.TEXTURES, k, 28, 160, rng),
              "noise": lambda k: ood_data.noise(k, rng)}
    ids, images = [], []
    for j, name in enumerate(OOD_SETS):
        k = n // len(OOD_SETS) + (1 if j < n % len(OOD_SETS) else 0)
        made = makers[name](k)
        if len(made) != k:
            raise SystemExit(f"the {name} set gave {len(made)} images, {k} asked for")
        ids += [f"ood-{name}-{i:05d}" for i in range(k)]
        images += made
    return np.array(ids), np.stack(images).astype(np.uint8)


def setting_name(ood_share):
    return f"polluted-{round(100 * ood_share)}"


class Experiment:
    """One setting (closed set, open set, or a polluted pool with a share of OOD images) and one seed: the pool, the
    test set and each strategy's state."""

    def __init__(self, cfg, data, setting, seed, jobs, work, ood_share=None):
        self.cfg, self.setting, self.seed, self.jobs = cfg, setting, seed, jobs
        xtr_u8, ytr, xte_u8, yte = data
        salt = {"closed": 0, "open": 1}.get(setting, 100 + round(100 * (ood_share or 0)))
        rng = np.random.default_rng(1000 * seed + salt)
        self.known = list(range(cfg.known_classes)) if setting == "open" else list(range(10))
        self.k = len(self.known)
        n_ood = round(cfg.pool * ood_share) if ood_share else 0
        pool_idx = rng.choice(len(ytr), size=cfg.pool - n_ood, replace=False)
        self.ids = np.array([f"train-{i:05d}" for i in pool_idx])
        self.x_u8 = xtr_u8[pool_idx]
        self.y = ytr[pool_idx].astype(np.int64)
        if n_ood:
            # the polluting images carry class -1: never a known class
            ood_ids, ood_x = ood_images(n_ood, np.random.default_rng(rng.integers(2 ** 32)))
            self.ids = np.concatenate([self.ids, ood_ids])
            self.x_u8 = np.concatenate([self.x_u8, ood_x])
            self.y = np.concatenate([self.y, np.full(n_ood, -1, dtype=np.int64)])
        self.x = to_tensor(self.x_u8)
        self.is_known = np.isin(self.y, self.known)
        self.last_filter = None
        # the initial labeled set: known classes only in the open-set setting (as in LfOSA), stratified with
        # initial // K per class and the remainder at random, because SISOM's reference needs every class (a class
        # without reference points leaves d_in undefined, METHOD.md 2) and leave-one-out r_avg needs two of each
        per = cfg.initial // self.k
        if per < 2:
            raise SystemExit(f"--initial {cfg.initial} gives fewer than two samples to each of the {self.k} classes")
        initial = [rng.choice(np.flatnonzero(self.y == c), size=per, replace=False) for c in self.known]
        rest = np.setdiff1d(np.flatnonzero(self.is_known), np.concatenate(initial))
        initial.append(rng.choice(rest, size=cfg.initial - per * self.k, replace=False))
        self.initial = np.sort(np.concatenate(initial))
        test_keep = np.flatnonzero(np.isin(yte, self.known))
        test_idx = np.random.default_rng(99).choice(test_keep, size=min(cfg.test, len(test_keep)), replace=False)
        self.x_test, self.y_test = to_tensor(xte_u8[test_idx]), yte[test_idx].astype(np.int64)
        self.work = os.path.join(work, setting, f"seed{seed}")
        self.png_dir = os.path.join(self.work, "png")
        os.makedirs(self.png_dir, exist_ok=True)
        from PIL import Image
        for i, img in zip(self.ids, self.x_u8):
            Image.fromarray(img).save(os.path.join(self.png_dir, f"{i}.png"))
        self.rng = rng

    def class_index(self, labels):
        """Dataset labels -> the classifier's class indexes (the known classes are 0..K-1, so this is a check)."""
        if not np.isin(labels, self.known).all():
            raise ValueError("an unknown-class sample reached the K-way classifier")
        return labels.astype(np.int64)

    def train_classifier(self, labeled, cycle):
        """K-way classifier on the labeled known-class samples (queried unknowns are not its classes)."""
        keep = labeled[self.is_known[labeled]]
        return train(self.x[keep], torch.from_numpy(self.class_index(self.y[keep])), self.k, self.cfg,
                     seed=self.seed * 100 + cycle)

    def select(self, strategy, model, labeled, invalid, cycle, q):
        """Positions (into the pool) of the q samples the strategy queries next."""
        unl = np.setdiff1d(np.arange(len(self.ids)), np.concatenate([labeled, invalid]))
        if strategy == "random":
            return unl[S.random_pick(len(unl), q, self.rng)]
        if strategy in BASELINES:
            probs, pen = outputs(model, self.x[unl])
            if strategy == "entropy":
                pick = S.entropy_pick(probs, q)
            elif strategy == "margin":
                pick = S.margin_pick(probs, q)
            elif strategy == "coreset":
                keep = labeled[self.is_known[labeled]]
                _, pen_l = outputs(model, self.x[keep])
                pick = S.k_center_greedy(pen, pen_l, q)
            else:
                pick = S.kmeans_pp_pick(S.badge_embedding(probs, pen), q, self.rng)
            return unl[pick]
        d = os.path.join(self.work, strategy, f"cycle{cycle}")
        os.makedirs(d, exist_ok=True)
        known_l = labeled[self.is_known[labeled]]
        names = [CLASSES[c] for c in self.known]
        if strategy == "lfosa":
            # the detector: K known classes plus "unknown" (the queried unknowns), trained with temperature 0.5
            xs = np.concatenate([known_l, invalid])
            ys = np.concatenate([self.class_index(self.y[known_l]), np.full(len(invalid), self.k)])
            detector = train(self.x[xs], torch.from_numpy(ys), self.k + 1, self.cfg, seed=self.seed * 100 + cycle + 50,
                             temperature=LFOSA_T)
            model_path = os.path.join(d, "detector.pt")
            sisom_export.export(detector, LAYERS, (1, 28, 28), model_path, [MEAN], [STD], names + ["unknown"],
                                verify_batch=self.x[unl[:16]])
            write_manifest(os.path.join(d, "pool.csv"), self.ids[unl], self.png_dir)
            self.jobs.run("extract", "--conf", self.cfg.conf, "--set", f"sisom.model={model_path}",
                          "--set", f"sisom.input.path={d}/pool.csv", "--set", "sisom.input.format=manifest",
                          "--set", f"sisom.output={d}/features")
            self.jobs.run("lfosa-select", "--conf", self.cfg.conf, "--set", f"sisom.pool.features={d}/features/features",
                          "--set", f"sisom.q={q}", "--set", f"sisom.output={d}/result")
        else:
            score, mode, gate = SISOM_STRATEGIES[strategy]
            model_path = os.path.join(d, "model.pt")
            sisom_export.export(model, LAYERS, (1, 28, 28), model_path, [MEAN], [STD], names,
                                verify_batch=self.x[unl[:16]])
            # the nightly loop: last cycles' queried samples that are not one of the classes come back "unknown"
            write_manifest(os.path.join(d, "labeled.csv"), np.concatenate([self.ids[known_l], self.ids[invalid]]),
                           self.png_dir, [CLASSES[c] for c in self.y[known_l]] + ["unknown"] * len(invalid))
            write_manifest(os.path.join(d, "pool.csv"), self.ids[unl], self.png_dir)
            self.jobs.run("run", "--conf", self.cfg.conf, "--set", f"sisom.model={model_path}",
                          "--set", f"sisom.labeled.path={d}/labeled.csv", "--set", "sisom.labeled.format=manifest",
                          "--set", "sisom.labeled.unknownLabels=unknown",
                          "--set", f"sisom.input.path={d}/pool.csv", "--set", "sisom.input.format=manifest",
                          "--set", f"sisom.score={score}", "--set", f"sisom.selection={mode}", "--set", f"sisom.q={q}",
                          "--set", f"sisom.ood.gate={str(gate).lower()}",
                          "--set", "sisom.rebuildReference=true", "--set", f"sisom.work={d}/work",
                          "--set", f"sisom.output={d}/result")
            f = read_filter(os.path.join(d, "result"))
            if f is not None:
                ood_unl = set(self.ids[unl[~self.is_known[unl]]])
                hit = len(f["flagged"] & ood_unl)
                # undefined (empty in cycles.csv) without flags, or without unknowns in the pool (the closed set)
                f["precision"] = hit / len(f["flagged"]) if f["flagged"] else ""
                f["recall"] = hit / len(ood_unl) if ood_unl else ""
            self.last_filter = f
        chosen = read_selection(os.path.join(d, "result"))
        pos = {i: p for p, i in enumerate(self.ids)}
        picked = np.array([pos[i] for i in chosen], dtype=np.int64)
        if len(picked) != q or len(set(chosen)) != q or not np.isin(picked, unl).all():
            raise RuntimeError(f"{strategy}: the job selected {len(chosen)} ids, expected {q} distinct unlabeled ones")
        return picked


def run_setting(cfg, data, setting, strategies, jobs, work, rows, sel_rows, init_rows, ood_share=None, cycles=None):
    cycles = cycles or cfg.cycles
    for seed in range(cfg.first_seed, cfg.first_seed + cfg.seeds):
        t_seed = time.time()
        ex = Experiment(cfg, data, setting, seed, jobs, work, ood_share)
        init_rows += [(setting, seed, ex.ids[i]) for i in ex.initial]
        n_known_pool = int(ex.is_known.sum())
        model0 = ex.train_classifier(ex.initial, 0)
        acc0 = accuracy(model0, ex.x_test, ex.y_test)
        for strategy in strategies:
            labeled, invalid = ex.initial.copy(), np.array([], dtype=np.int64)
            model, acc = model0, acc0
            known_found = int(ex.is_known[labeled].sum())
            rows.append(dict(setting=setting, strategy=strategy, seed=seed, cycle=0, labeled=len(labeled),
                             known_labeled=known_found, accuracy=acc, queried=0, queried_known="",
                             known_share="", known_recall=known_found / n_known_pool, select_seconds=""))
            for cycle in range(1, cycles + 1):
                t0 = time.time()
                ex.last_filter = None
                picked = ex.select(strategy, model, labeled, invalid, cycle, cfg.q)
                secs = time.time() - t0
                f = ex.last_filter or {}
                sel_rows += [(setting, strategy, seed, cycle, ex.ids[p]) for p in picked]
                known_pick = picked[ex.is_known[picked]]
                labeled = np.concatenate([labeled, known_pick])
                invalid = np.concatenate([invalid, picked[~ex.is_known[picked]]])
                model = ex.train_classifier(labeled, cycle)
                acc = accuracy(model, ex.x_test, ex.y_test)
                rows.append(dict(setting=setting, strategy=strategy, seed=seed, cycle=cycle,
                                 labeled=len(labeled) + len(invalid), known_labeled=len(labeled), accuracy=acc,
                                 queried=len(picked), queried_known=len(known_pick),
                                 known_share=len(known_pick) / len(picked), known_recall=len(labeled) / n_known_pool,
                                 select_seconds=round(secs, 2), ood_mode=f.get("mode", ""),
                                 ood_metric=f.get("metric", ""), ood_threshold=f.get("value", ""),
                                 ood_unknowns=f.get("unknowns", ""),
                                 flagged=len(f["flagged"]) if "flagged" in f else "",
                                 filter_precision=f.get("precision", ""), filter_recall=f.get("recall", "")))
                extra = (f", filter {f['mode']} on {f['metric']} ({f['unknowns']} unknowns): {len(f['flagged'])} "
                         f"flagged, precision {fmt(f['precision'])} recall {fmt(f['recall'])}") if f else ""
                print(f"[{setting} seed {seed}] {strategy:12s} cycle {cycle}: {len(labeled) + len(invalid)} queried, "
                      f"known share {len(known_pick) / len(picked):.2f}, accuracy {acc:.4f} (select {secs:.1f}s)"
                      + extra, flush=True)
        print(f"[{setting} seed {seed}] done in {time.time() - t_seed:.0f}s", flush=True)


def fmt(x):
    return f"{x:.2f}" if x != "" else "-"


def mean_std(v):
    v = np.asarray(v, dtype=np.float64)
    if len(v) == 0:
        return "-"
    return f"{v.mean():.4f} ± {v.std():.4f}" if len(v) > 1 else f"{v.mean():.4f}"


def setting_title(setting, cfg):
    if setting == "closed":
        return "Closed set (all 10 classes)"
    if setting == "open":
        return f"Open set ({cfg.known_classes} known classes, {10 - cfg.known_classes} unknown in the pool)"
    return (f"Polluted pool ({setting.split('-')[1]} % OOD images from letters, digits, natural, textures and noise; "
            "queried OOD images come back labeled unknown)")


def numbers(v):
    return [x for x in v if x != "" and not (isinstance(x, float) and np.isnan(x))]


def summarise(rows, out, cfg, strategies_by_setting):
    """summary.md tables and the PNG plots from the per-cycle rows."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    md = []
    polluted = [s for s in strategies_by_setting if s.startswith("polluted-")]
    if polluted:
        fig_p, axes_p = plt.subplots(len(polluted), 3, figsize=(17, 4.5 * len(polluted)), squeeze=False)
    for setting, strategies in strategies_by_setting.items():
        r = [x for x in rows if x["setting"] == setting]
        n_cycles = max(x["cycle"] for x in r)
        cycles = range(n_cycles + 1)
        title = setting_title(setting, cfg)
        md.append(f"### {title}\n")
        n_seeds = len({x["seed"] for x in r})
        md.append(f"Test accuracy, mean ± std over {n_seeds} seed(s); AULC = area under the accuracy curve over "
                  "the labels queried, divided by their range (mean accuracy over the budget).\n")
        head = "| strategy | " + " | ".join(f"cycle {c} ({cfg.initial + c * cfg.q})" for c in cycles) + " | AULC |"
        md += [head, "|" + "---|" * (len(cycles) + 2)]
        for s in strategies:
            per_cycle = [[x["accuracy"] for x in r if x["strategy"] == s and x["cycle"] == c] for c in cycles]
            seeds = sorted({x["seed"] for x in r if x["strategy"] == s})
            a = [S.aulc([cfg.initial + c * cfg.q for c in cycles],
                        [next(x["accuracy"] for x in r if x["strategy"] == s and x["seed"] == sd and x["cycle"] == c)
                         for c in cycles]) for sd in seeds]
            md.append(f"| {s} | " + " | ".join(mean_std(v) for v in per_cycle) + f" | {mean_std(a)} |")
        md.append("")
        if setting != "closed":
            what = "known-class samples (LfOSA's selection precision)" if setting == "open" else \
                "in-distribution images (queue purity)"
            md.append(f"Share of each cycle's queries that are {what}, its mean over the cycles, and the known-class "
                      "recall after the last cycle (known samples labeled / known samples in the pool).\n")
            md += ["| strategy | " + " | ".join(f"cycle {c}" for c in range(1, n_cycles + 1))
                   + " | mean | final recall |", "|" + "---|" * (n_cycles + 3)]
            for s in strategies:
                shares = [[x["known_share"] for x in r if x["strategy"] == s and x["cycle"] == c]
                          for c in range(1, n_cycles + 1)]
                per_seed = [np.mean([x["known_share"] for x in r if x["strategy"] == s and x["seed"] == sd
                                     and x["cycle"] > 0]) for sd in sorted({x["seed"] for x in r})]
                rec = [x["known_recall"] for x in r if x["strategy"] == s and x["cycle"] == n_cycles]
                md.append(f"| {s} | " + " | ".join(mean_std(v) for v in shares)
                          + f" | {mean_std(per_seed)} | {mean_std(rec)} |")
            md.append("")
            filtered = [s for s in strategies if numbers(x.get("filter_recall", "") for x in r if x["strategy"] == s)]
            if filtered:
                md.append("The OOD filter of the SISOM strategies (gated or not, the run flags the same way): precision "
                          "(unknowns among the flagged pool samples) / recall (flagged among the unknowns in the pool) "
                          "per cycle, and the threshold each cycle used (mode on metric, per seed).\n")
                md += ["| strategy | " + " | ".join(f"cycle {c}" for c in range(1, n_cycles + 1)) + " |",
                       "|" + "---|" * (n_cycles + 1)]
                for s in filtered:
                    cells = []
                    for c in range(1, n_cycles + 1):
                        xs = [x for x in r if x["strategy"] == s and x["cycle"] == c]
                        how = ", ".join(sorted({f"{x['ood_mode']}/{x['ood_metric']}" for x in xs}))
                        cells.append(f"{mean_std(numbers(x['filter_precision'] for x in xs))} / "
                                     f"{mean_std(numbers(x['filter_recall'] for x in xs))} ({how})")
                    md.append(f"| {s} | " + " | ".join(cells) + " |")
                md.append("")
        if setting in ("closed", "open"):
            fig, axes = plt.subplots(1, 2 if setting == "open" else 1, figsize=(12 if setting == "open" else 7, 4.5))
            axes = np.atleast_1d(axes)
        else:
            axes = axes_p[polluted.index(setting)]
        for j, s in enumerate(strategies):
            xs = [cfg.initial + c * cfg.q for c in cycles]
            acc = np.array([[x["accuracy"] for x in r if x["strategy"] == s and x["cycle"] == c] for c in cycles])
            style = "-" if s.startswith("sisom") or s == "lfosa" else "--"
            color = f"C{j % 10}"   # one colour per strategy in every panel
            axes[0].errorbar(xs, acc.mean(1), yerr=acc.std(1), label=s, linestyle=style, marker="o", ms=3, capsize=2,
                             color=color)
            if setting != "closed":
                sh = np.array([[x["known_share"] for x in r if x["strategy"] == s and x["cycle"] == c]
                               for c in range(1, n_cycles + 1)])
                axes[1].plot(range(1, n_cycles + 1), sh.mean(1), label=s, linestyle=style, marker="o", ms=3,
                             color=color)
            if setting.startswith("polluted-"):
                rc = [numbers(x["filter_recall"] for x in r if x["strategy"] == s and x["cycle"] == c)
                      for c in range(1, n_cycles + 1)]
                pr = [numbers(x["filter_precision"] for x in r if x["strategy"] == s and x["cycle"] == c)
                      for c in range(1, n_cycles + 1)]
                if all(rc) and all(pr):
                    axes[2].plot(range(1, n_cycles + 1), [np.mean(v) for v in rc], label=f"{s} recall",
                                 marker="o", ms=3, color=color)
                    axes[2].plot(range(1, n_cycles + 1), [np.mean(v) for v in pr], label=f"{s} precision",
                                 marker="s", ms=3, linestyle=":", color=color)
        axes[0].set_xlabel("samples queried (incl. the initial set)")
        axes[0].set_ylabel("test accuracy")
        axes[0].set_title(title if setting in ("closed", "open") else f"{setting}: test accuracy", fontsize=10)
        axes[0].grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        if setting != "closed":
            axes[1].set_xlabel("cycle")
            axes[1].set_xticks(range(1, n_cycles + 1))
            axes[1].set_ylabel("known-class share of the queries" if setting == "open"
                               else "queue purity (in-distribution share)")
            axes[1].set_ylim(0, 1.02)
            axes[1].grid(alpha=0.3)
            axes[1].set_title("queries that are known-class samples" if setting == "open"
                              else f"{setting}: queue purity", fontsize=10)
        if setting.startswith("polluted-"):
            axes[2].set_xlabel("cycle")
            axes[2].set_xticks(range(1, n_cycles + 1))
            axes[2].set_ylim(0, 1.02)
            axes[2].grid(alpha=0.3)
            axes[2].set_title(f"{setting}: OOD filter on the pool", fontsize=10)
            axes[2].legend(fontsize=7)
        if setting in ("closed", "open"):
            fig.tight_layout()
            fig.savefig(os.path.join(out, "learning-curves.png" if setting == "closed" else "open-set.png"), dpi=110)
            plt.close(fig)
    if polluted:
        fig_p.tight_layout()
        fig_p.savefig(os.path.join(out, "polluted.png"), dpi=100)
        plt.close(fig_p)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="full")
    for k, v in PRESETS["full"].items():
        p.add_argument("--" + k.replace("_", "-"), type=int, help=f"(full: {v}, reduced: {PRESETS['reduced'][k]})")
    p.add_argument("--known-classes", type=int, default=6, help="open set: classes 0..N-1 are known (default 6)")
    p.add_argument("--open-set", action=argparse.BooleanOptionalAction, default=False,
                   help="also run the open-set (LfOSA) setting")
    p.add_argument("--closed-set", action=argparse.BooleanOptionalAction, default=True,
                   help="run the closed-set setting (default on)")
    p.add_argument("--strategies", default=",".join(ALL),
                   help=f"closed set: comma-separated subset of {','.join(ALL)}")
    p.add_argument("--open-strategies", default=",".join(ALL + OPEN_EXTRA),
                   help=f"open set: comma-separated subset of {','.join(ALL + OPEN_EXTRA)}")
    p.add_argument("--polluted", action=argparse.BooleanOptionalAction, default=False,
                   help="also run the polluted-pool (open-world) setting")
    p.add_argument("--ood-shares", help="polluted: the OOD shares of the pool (full: 0.2,0.5; reduced: 0.5)")
    p.add_argument("--polluted-cycles", type=int, help="polluted: cycles (full: as --cycles; reduced: 2)")
    p.add_argument("--polluted-strategies", default=",".join(POLLUTED),
                   help=f"polluted: comma-separated subset of {','.join(ALL + OPEN_EXTRA)}")
    p.add_argument("--launch", help="the JobServer --print-launch output (bench/active-learning.sh)")
    p.add_argument("--threads", type=int, default=2, help="torch and libtorch threads (1 on a busy machine)")
    p.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    p.add_argument("--merge", nargs="+", metavar="DIR",
                   help="run nothing: combine the outputs of runs over other seeds (same configuration) into --out")
    p.add_argument("--out", required=True)
    cfg = p.parse_args(argv)
    if cfg.merge:
        return merge(cfg.merge, os.path.abspath(cfg.out))
    if not cfg.launch:
        p.error("--launch is required (bench/active-learning.sh writes it)")
    for k, v in PRESETS[cfg.preset].items():
        if getattr(cfg, k) is None:
            setattr(cfg, k, v)
    strategies = [s for s in cfg.strategies.split(",") if s]
    open_strategies = [s for s in cfg.open_strategies.split(",") if s]
    polluted_strategies = [s for s in cfg.polluted_strategies.split(",") if s]
    for given, allowed in ((strategies, ALL), (open_strategies, ALL + OPEN_EXTRA),
                           (polluted_strategies, ALL + OPEN_EXTRA)):
        unknown = [s for s in given if s not in allowed]
        if unknown:
            p.error(f"unknown strategies {unknown}; choose from {allowed}")
    if not cfg.closed_set and not cfg.open_set and not cfg.polluted:
        p.error("nothing to run: --no-closed-set without --open-set or --polluted")
    cfg.ood_shares = cfg.ood_shares or ("0.5" if cfg.preset == "reduced" else "0.2,0.5")
    shares = [float(x) for x in cfg.ood_shares.split(",")]
    if not all(0 < x < 1 for x in shares):
        p.error("--ood-shares must be in (0, 1)")
    cfg.polluted_cycles = cfg.polluted_cycles or (2 if cfg.preset == "reduced" else cfg.cycles)
    if cfg.polluted and cfg.initial + cfg.polluted_cycles * cfg.q > cfg.pool * (1 - max(shares)):
        p.error("the polluted pool's in-distribution part is smaller than the initial set plus cycles * q")
    if not 2 <= cfg.known_classes <= 9:
        p.error("--known-classes must be between 2 and 9")
    if cfg.cycles < 1 or cfg.q < 1 or cfg.initial < 1 or cfg.seeds < 1:
        p.error("--cycles, --q, --initial and --seeds must be positive")
    if cfg.initial + cfg.cycles * cfg.q > cfg.pool:
        p.error(f"the pool ({cfg.pool}) is smaller than the initial set plus cycles * q")
    torch.set_num_threads(cfg.threads)
    out = os.path.abspath(cfg.out)
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    cfg.conf = os.path.join(work, "al.properties")
    with open(cfg.conf, "w") as f:
        f.write(f"spark.master=local[{cfg.threads}]\nspark.app.name=sisom-al-benchmark\nspark.ui.enabled=false\n"
                "spark.sql.shuffle.partitions=2\nsisom.batchSize=64\nsisom.resize=none\n"
                f"sisom.steepness={STEEPNESS}\nsisom.dOut=sample\nsisom.progressSeconds=600\n")
    t0 = time.time()
    data = (read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz"),
            read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz"))
    jobs = JobServer(cfg.launch, os.path.join(out, "jobs.log"), cfg.threads)
    rows, sel_rows, init_rows = [], [], []
    by_setting = {}
    try:
        if cfg.closed_set:
            by_setting["closed"] = strategies
            run_setting(cfg, data, "closed", strategies, jobs, work, rows, sel_rows, init_rows)
        if cfg.open_set:
            by_setting["open"] = open_strategies
            run_setting(cfg, data, "open", by_setting["open"], jobs, work, rows, sel_rows, init_rows)
        if cfg.polluted:
            for share in shares:
                by_setting[setting_name(share)] = polluted_strategies
                run_setting(cfg, data, setting_name(share), polluted_strategies, jobs, work, rows, sel_rows,
                            init_rows, ood_share=share, cycles=cfg.polluted_cycles)
    finally:
        jobs.close()
    write_outputs(out, rows, sel_rows, init_rows)
    seconds = time.time() - t0
    # before the summary, so that a failed summary can be redone with --merge OUT --out OUT
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({k: v for k, v in vars(cfg).items() if k not in ("launch", "conf", "out", "merge")} |
                  {"strategiesBySetting": by_setting, "steepness": STEEPNESS, "lfosaTemperature": LFOSA_T,
                   "seconds": round(seconds)}, f, indent=2)
    summarise(rows, out, cfg, by_setting)
    print(f"done in {seconds:.0f}s: {out}/summary.md", flush=True)
    return 0


FIELDS = ["setting", "strategy", "seed", "cycle", "labeled", "known_labeled", "accuracy", "queried",
          "queried_known", "known_share", "known_recall", "select_seconds", "ood_mode", "ood_metric",
          "ood_threshold", "ood_unknowns", "flagged", "filter_precision", "filter_recall"]


def write_outputs(out, rows, sel_rows, init_rows):
    fields = FIELDS
    with open(os.path.join(out, "cycles.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "selections.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["setting", "strategy", "seed", "cycle", "id"])
        w.writerows(sel_rows)
    with open(os.path.join(out, "initial.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["setting", "seed", "id"])
        w.writerows(init_rows)


def merge(dirs, out):
    """Combines runs of one configuration over different seeds (e.g. run side by side on a busy machine)."""
    configs = []
    for d in dirs:
        with open(os.path.join(d, "config.json")) as f:
            configs.append(json.load(f))
    keys = [k for k in PRESETS["full"] if k != "seeds"] + ["known_classes"]
    for d, c in zip(dirs[1:], configs[1:]):
        diff = [k for k in keys if c.get(k) != configs[0].get(k)]
        if diff:
            raise SystemExit(f"cannot merge {d}: its configuration differs from {dirs[0]} in {diff}")
    rows, sel_rows, init_rows, by_setting, seen = [], [], [], {}, set()
    for d, c in zip(dirs, configs):
        with open(os.path.join(d, "cycles.csv")) as f:
            for r in csv.DictReader(f):
                for k in ("seed", "cycle", "labeled", "known_labeled", "queried"):
                    r[k] = int(r[k])
                for k in ("accuracy", "known_recall"):
                    r[k] = float(r[k])
                for k in ("known_share", "filter_precision", "filter_recall"):
                    r[k] = float(r[k]) if r.get(k) else ""
                for k in FIELDS:
                    r.setdefault(k, "")
                if (r["setting"], r["strategy"], r["seed"], r["cycle"]) in seen:
                    raise SystemExit(f"{d} repeats {r['setting']} {r['strategy']} seed {r['seed']}: merge other seeds")
                seen.add((r["setting"], r["strategy"], r["seed"], r["cycle"]))
                rows.append(r)
        with open(os.path.join(d, "selections.csv")) as f:
            sel_rows += [tuple(r) for r in list(csv.reader(f))[1:]]
        with open(os.path.join(d, "initial.csv")) as f:
            init_rows += [tuple(r) for r in list(csv.reader(f))[1:]]
        for setting, strategies in c["strategiesBySetting"].items():
            # runs of other strategies on the same setting and seeds add them (rows are checked for repeats above)
            known = by_setting.setdefault(setting, [])
            known += [s for s in strategies if s not in known]
    os.makedirs(out, exist_ok=True)
    cfg = argparse.Namespace(**configs[0])
    cfg.seeds = len({r["seed"] for r in rows})
    write_outputs(out, rows, sel_rows, init_rows)
    summarise(rows, out, cfg, by_setting)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(configs[0] | {"strategiesBySetting": by_setting, "seeds": cfg.seeds,
                                "first_seed": min(r["seed"] for r in rows), "mergedFrom": dirs,
                                "seconds": [c["seconds"] for c in configs]}, f, indent=2)
    print(f"merged {len(dirs)} runs: {out}/summary.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
