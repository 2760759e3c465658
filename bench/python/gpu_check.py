#!/usr/bin/env python3
"""The GPU check: what a GPU executor would do with our exported models, measured with PyTorch alone.

It is meant for a machine lent for a few minutes with one NVIDIA GPU, Python and CUDA PyTorch, and no Java: the
exported contract models (TorchScript + JSON) are what the Java executors run through libtorch, so their numbers
here are the network's side of a GPU executor. It prints, per model:

  * per-sample gradients (the contract's four outputs) on the device against the CPU, float32, within a tolerance;
    and each sample's outputs in a batch against the same sample alone (per-sample, not batch-coupled);
  * images/s of the contract forward (which includes its autograd) in float32, TF32 and bfloat16, at several batch
    sizes, with channels_last and contiguous weights and inputs; bfloat16's error against float32;

and then the distance stage's sgemm products and row minima on the device for N queries against M reference
points of D dimensions (the default 1M x 10k x 240), done as NearestKernel does it: [x, 1] @ [-2 R^T; |r|^2] in
float32 on reference blocks that never straddle a class, own-class and other-class row minima, and the count of
columns within the float32 error bound of each minimum (what the device scan copies back); checked against
double precision on a sample of rows.

Runs with torch 1.13 (Debian, for its CPU mode in the tests) and 2.x. Usage:

  gpu_check.py [--device cuda|cpu] [--quick] [--budget-s 420] MODEL.pt [MODEL.pt ...]
"""
import argparse
import json
import os
import sys
import time

import torch

T0 = time.time()


def log(msg=""):
    print(msg, flush=True)


def elapsed():
    return time.time() - T0


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def load(path, device):
    meta_path = path[:-3] + ".json"
    with open(meta_path) as f:
        meta = json.load(f)
    m = torch.jit.load(path, map_location=device)
    m.eval()
    return m, meta


def inputs(meta, n, seed, device, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    c, h, w = meta["inputShape"]
    return torch.randn(n, c, h, w, generator=g).to(device=device, dtype=dtype)


def rel_err(a, b):
    """Largest row-wise relative error of a against b (rows: samples)."""
    a = a.double().cpu().reshape(a.shape[0], -1)
    b = b.double().cpu().reshape(b.shape[0], -1)
    den = b.norm(dim=1).clamp_min(1e-30)
    return float(((a - b).norm(dim=1) / den).max())


NAMES = ("logits", "penultimate", "activations", "gradients")


def check_gradients(path, device, tol):
    """The device's float32 outputs against the CPU's, and each sample in a batch against itself alone."""
    set_tf32(False)
    cpu_m, meta = load(path, torch.device("cpu"))
    dev_m, _ = load(path, device)
    x = inputs(meta, 8, 1, torch.device("cpu"))
    want = cpu_m(x)
    got = dev_m(x.to(device))
    ok = True
    errs = []
    for name, a, b in zip(NAMES, got, want):
        e = rel_err(a, b)
        errs.append(f"{name} {e:.2e}")
        ok &= e <= tol
    u_err = rel_err(got[2] * got[3], want[2] * want[3])
    ok &= u_err <= tol
    log(f"  gradients {device.type} vs cpu, float32, batch 8: max relative error per sample "
        f"{', '.join(errs)}, u=a*g {u_err:.2e} (tolerance {tol:g}): {'OK' if ok else 'FAIL'}")
    alone = [dev_m(x[i:i + 1].to(device)) for i in range(x.shape[0])]
    worst = 0.0
    for k in range(4):
        worst = max(worst, rel_err(got[k], torch.cat([a[k] for a in alone])))
    per_sample = worst <= tol
    log(f"  per-sample: each sample in the batch vs alone on {device.type}: max relative error {worst:.2e}: "
        f"{'OK' if per_sample else 'FAIL'}")
    return ok and per_sample


MODES = ("float32", "tf32", "bfloat16")


def speed(path, device, batches, formats, seconds, budget):
    """images/s of the contract forward per precision, memory format and batch size."""
    _, meta = load(path, torch.device("cpu"))
    rows = []
    float32_u = {}
    for fmt in formats:
        mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
        for mode in MODES:
            set_tf32(mode == "tf32")
            dtype = torch.bfloat16 if mode == "bfloat16" else torch.float32
            try:
                m, _ = load(path, device)
                m = m.to(dtype=dtype, memory_format=mf)
            except Exception as e:  # a build without bfloat16 kernels, a device without memory
                log(f"  {fmt:13s} {mode:8s} could not prepare the model: {type(e).__name__}: {e}")
                continue
            for b in batches:
                if elapsed() > budget:
                    log(f"  {fmt:13s} {mode:8s} batch {b:5d}: skipped (time budget of {budget:.0f} s spent)")
                    continue
                x = inputs(meta, b, 2, device, dtype).contiguous(memory_format=mf)
                try:
                    out = m(x)
                    out = m(x)   # warm-up (cuDNN picks, the profiling executor's first runs)
                    sync(device)
                    n = 0
                    t = time.time()
                    while True:
                        out = m(x)
                        n += 1
                        sync(device)
                        if time.time() - t >= seconds or n >= 200:
                            break
                    rate = n * b / (time.time() - t)
                except RuntimeError as e:   # out of memory at a large batch: say so, go on
                    log(f"  {fmt:13s} {mode:8s} batch {b:5d}: failed: {str(e).splitlines()[0]}")
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                note = ""
                if mode == "float32":
                    float32_u[(fmt, b)] = (out[2] * out[3]).float().cpu()
                elif (fmt, b) in float32_u:
                    e = rel_err((out[2].float() * out[3].float()), float32_u[(fmt, b)])
                    note = f"   u=a*g vs float32: max relative error {e:.2e}"
                log(f"  {fmt:13s} {mode:8s} batch {b:5d}: {rate:10.1f} img/s with gradients{note}")
                rows.append((fmt, mode, b, rate))
            del m
            if device.type == "cuda":
                torch.cuda.empty_cache()
    set_tf32(False)
    return rows


def distance(device, n, m, d, k, chunk, sample):
    """The distance stage's products and row minima on the device, as NearestKernel computes them."""
    set_tf32(False)
    g = torch.Generator().manual_seed(3)
    per = m // k
    ref = torch.sigmoid(torch.randn(per * k, d, generator=g))           # z = sigmoid(alpha u): in (0, 1)
    cls_ref = torch.arange(k).repeat_interleave(per)                    # columns grouped by class
    center = ref.mean(0)
    r = (ref - center).to(device)
    norms = (r.double() ** 2).sum(1)
    aug = torch.cat([-2 * r.t(), norms.float().unsqueeze(0)], 0).contiguous()   # (D + 1) x M
    max_ref = float(norms.max())
    block = min(per, 16384)
    queries = torch.sigmoid(torch.randn(n, d, generator=g))
    q_cls = torch.randint(0, k, (n,), generator=g)
    x_all = torch.cat([(queries - center), torch.ones(n, 1)], 1).to(device)
    q_cls_d = q_cls.to(device)
    cls_of_block = torch.arange(k, device=device)
    sync(device)

    def run(scan):
        own_min = torch.empty(n, device=device)
        other_min = torch.empty(n, device=device)
        counts = torch.empty(n, dtype=torch.int64, device=device)
        t = time.time()
        for s in range(0, n, chunk):
            x = x_all[s:s + chunk]
            prod = x @ aug                                           # b x M: |r|^2 - 2 x.r
            if not scan:
                continue
            b = prod.shape[0]
            # per class minima over its blocks (columns are grouped by class, blocks never straddle one)
            mins = prod.view(b, k, per).amin(2)                      # b x K
            own = mins.gather(1, q_cls_d[s:s + b, None]).squeeze(1)
            other = mins.masked_fill(cls_of_block[None, :] == q_cls_d[s:s + b, None], float("inf")).amin(1)
            xn = (x[:, :d].double() ** 2).sum(1)
            err = (1.01 * ((d + 4) * 2.0 ** -24 * (max_ref + 2 * (xn * max_ref).sqrt())
                           + 2.01 * 2.0 ** -24 * (xn.sqrt() + max_ref ** 0.5) ** 2) + 1e-30)
            lim_own = (own.double() + 2 * err).float()
            lim_other = (other.double() + 2 * err).float()
            own_col = (cls_ref.to(device)[None, :] == q_cls_d[s:s + b, None])
            lim = torch.where(own_col, lim_own[:, None], lim_other[:, None])
            counts[s:s + b] = (prod <= lim).sum(1)                   # candidates of both sides
            own_min[s:s + b] = own
            other_min[s:s + b] = other
        sync(device)
        secs = time.time() - t
        if scan:   # what the device scan copies back: minima and counts (its columns come from argmin)
            back = (own_min.cpu(), other_min.cpu(), counts.cpu())
        else:
            back = None
        return secs, back

    run(False)   # warm-up: cuBLAS handles, allocations
    t_prod, _ = run(False)
    t_scan, (own_min, other_min, counts) = run(True)
    flops = 2.0 * n * m * (d + 1)
    log(f"  products alone (float32 sgemm, chunks of {chunk} queries): {t_prod:.3f} s, "
        f"{flops / t_prod / 1e12:.2f} TFLOP/s")
    log(f"  products + own/other row minima + near-tie counts: {t_scan:.3f} s, {n / t_scan:,.0f} queries/s, "
        f"copied back {3 * n * 4 / 1e6:.1f} MB instead of {n * m * 4 / 1e9:.1f} GB of products")
    near = int((counts > 2).sum())
    log(f"  rows with more than one candidate per side (their rows would be copied back): at most {near} of {n:,} "
        f"({100.0 * near / n:.3f} %)")
    # the device's row minima must be within the rigorous float32 error bound of the exact ones (double, on the
    # CPU) for a sample of rows: that is what makes the candidates (within twice the bound) hold the exact winner
    idx = torch.randperm(n, generator=g)[:sample]
    xq = queries[idx].double() - center.double()
    exact = torch.cdist(queries[idx].double(), ref.double()) ** 2 - xq.pow(2).sum(1, keepdim=True)
    same = cls_ref[None, :] == q_cls[idx, None]
    ex_own = exact.masked_fill(~same, float("inf")).amin(1)
    ex_other = exact.masked_fill(same, float("inf")).amin(1)
    xn = xq.pow(2).sum(1)
    bound = (1.01 * ((d + 4) * 2.0 ** -24 * (max_ref + 2 * (xn * max_ref).sqrt())
                     + 2.01 * 2.0 ** -24 * (xn.sqrt() + max_ref ** 0.5) ** 2) + 1e-30)
    # cdist's own double rounding, far below the float32 bound, is allowed for
    slack = 1e-9 * (1 + exact.abs().amax(1))
    d_own = (own_min[idx].double() - ex_own).abs()
    d_other = (other_min[idx].double() - ex_other).abs()
    ok = bool((d_own <= bound + slack).all()) and bool((d_other <= bound + slack).all())
    log(f"  device row minima vs double precision on {len(idx)} rows: largest difference own "
        f"{float(d_own.max()):.2e}, other {float(d_other.max()):.2e}, within the float32 error bound "
        f"(at most {float(bound.max()):.2e}): {'OK' if ok else 'FAIL'}")
    return ok


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="contract models (.pt with .json beside)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the check's own test, on a CPU")
    p.add_argument("--budget-s", type=float, default=420, help="stop starting new speed runs after this")
    p.add_argument("--distance", default=None, help="N,M,D,K of the distance stage (default 1000000,10000,240,10)")
    a = p.parse_args(argv)
    device = torch.device(a.device)
    log(f"gpu-check: torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}, cuDNN "
           f"{torch.backends.cudnn.version()})" if device.type == "cuda" else ""))
    torch.manual_seed(0)
    if a.quick:
        big_batches, small_batches, seconds = [2, 4], [2], 0.05
        formats = ["channels_last", "contiguous"]
        dist = a.distance or "2000,500,24,5"
    else:
        big_batches, small_batches, seconds = [64, 256, 512, 1024], [32, 64, 128, 256], 2.0
        formats = ["channels_last", "contiguous"]
        dist = a.distance or "1000000,10000,240,10"
    ok = True
    for path in a.models:
        if not os.path.exists(path):
            log(f"model {path}: not found, skipped")
            continue
        _, meta = load(path, torch.device("cpu"))
        c, h, w = meta["inputShape"]
        log(f"model {os.path.basename(path)}: input {c}x{h}x{w}, {meta['numClasses']} classes, feature D "
            f"{sum(l['size'] for l in meta['layers'])}, exported weights {meta.get('memoryFormat', 'contiguous')}")
        ok &= check_gradients(path, device, 1e-4 if device.type == "cuda" else 1e-6)
        speed(path, device, small_batches if h * w >= 112 * 112 else big_batches, formats, seconds, a.budget_s)
    n, m, d, k = (int(v) for v in dist.split(","))
    log(f"distance stage on {device.type}: N={n:,} queries, M={m:,} reference points ({k} classes), D={d}")
    ok &= distance(device, n, m, d, k, 16384 if n > 16384 else max(1, n // 4), 200 if a.quick else 1000)
    log(f"gpu-check: {'OK' if ok else 'FAILED'} in {elapsed():.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
