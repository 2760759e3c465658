#!/usr/bin/env python3
"""Export a PyTorch classifier as a SISOM-ready TorchScript model.

The exported module takes an image batch ``x`` (B x C x H x W, already normalised) and returns four tensors:

    logits        B x K   the classifier output
    penultimate   B x P   the plain input of the final linear layer
    activations   B x D   concat over chosen layers j of a_j = mean over H,W of h_j
    gradients     B x D   concat over chosen layers j of g_j = mean over H,W of dJ/dh_j,
                          J = sum over the batch of -(1/K) * sum_k log_softmax(logits)_k

and a metadata file ``<name>.json`` next to ``<name>.pt`` records the layer names and sizes, the input shape, the
normalisation and the class names. See the README section "Model contract".

It follows the four conditions of DJL-GRADIENTS.md so that DJL (libtorch 2.7.1) can run it from Java:
BatchNorm is folded into the preceding convolutions and Dropout removed; gradients are taken only with respect
to leaf tensors (each stage's output is detached and re-enabled for grad, and vector-Jacobian products are
chained backwards); grad mode is switched on with set_grad_enabled (``with enable_grad`` does not script in 1.13).

The model is split into stages at the chosen layers. This requires that the model's forward is the composition of
its (possibly nested) child modules in registration order, with a flatten before the final ``nn.Linear``:
true for torchvision ResNets, VGG and our CIFAR-style ResNet. Nested names such as ``layer4.0`` are allowed.
The export is verified against the eager model (forward hooks and autograd) before anything is written.

Run with Debian's python3-torch:  /usr/bin/python3 python/sisom_export.py --help
"""
import argparse
import importlib
import json
import os
import sys
import tempfile
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

FORMAT = "sisom-contract"
FORMAT_VERSION = 1


class ExportError(Exception):
    """A user-facing error: the message says what is wrong and how to fix it."""


class SisomContract(nn.Module):
    """Scriptable wrapper: stages up to each chosen layer, a tail to the penultimate feature, and the head."""

    def __init__(self, stages: Sequence[nn.Module], tail: nn.Module, head: nn.Module, num_classes: int):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.tail = tail
        self.head = head
        self.num_classes = num_classes

    @staticmethod
    def _pool(t: Tensor) -> Tensor:
        # spatial mean; a vector layer (B x C) is its own mean
        if t.dim() > 2:
            return t.flatten(2).mean(2)
        return t

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        prev = torch.is_grad_enabled()
        torch.set_grad_enabled(True)
        leaves: List[Tensor] = []
        outputs: List[Tensor] = []
        h = x.detach()
        for stage in self.stages:
            leaf = h.detach().requires_grad_(True)
            h = stage(leaf)
            leaves.append(leaf)
            outputs.append(h)
        last = h.detach().requires_grad_(True)
        penultimate = torch.flatten(self.tail(last), 1)
        logits = self.head(penultimate)
        loss = -(torch.log_softmax(logits, dim=1).sum()) / float(self.num_classes)
        n = len(outputs)
        grads: List[Tensor] = []
        first = torch.autograd.grad([loss], [last])[0]
        assert first is not None
        grads.append(first)
        # chain vector-Jacobian products backwards through the stages, leaf to leaf
        for i in range(n - 1, 0, -1):
            upstream: List[Optional[Tensor]] = [grads[len(grads) - 1]]
            gi = torch.autograd.grad([outputs[i]], [leaves[i]], upstream)[0]
            assert gi is not None
            grads.append(gi)
        grads.reverse()
        acts: List[Tensor] = []
        pooled: List[Tensor] = []
        for i in range(n):
            acts.append(self._pool(outputs[i].detach()))
            pooled.append(self._pool(grads[i].detach()))
        torch.set_grad_enabled(prev)
        return logits.detach(), penultimate.detach(), torch.cat(acts, 1), torch.cat(pooled, 1)


# ---------------------------------------------------------------------------------------------------------------
# Preparing a user's model: BN folding, dropout removal, stage split
# ---------------------------------------------------------------------------------------------------------------

def fold_batchnorm(module: nn.Module, prefix: str = "") -> None:
    """Fold every BatchNorm2d into the Conv2d registered just before it in the same parent (in place)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    names = list(module._modules.keys())
    for i, name in enumerate(names):
        child = module._modules[name]
        if child is None:
            continue
        if isinstance(child, nn.BatchNorm2d):
            prev_name = names[i - 1] if i > 0 else None
            prev = module._modules[prev_name] if prev_name is not None else None
            if not isinstance(prev, nn.Conv2d):
                raise ExportError(
                    f"BatchNorm '{prefix}{name}' does not directly follow a Conv2d in its parent module, so it "
                    "cannot be folded. Fold it yourself (torch.nn.utils.fusion) before exporting.")
            module._modules[prev_name] = fuse_conv_bn_eval(prev, child)
            module._modules[name] = nn.Identity()
        elif isinstance(child, (nn.Dropout, nn.Dropout2d, nn.AlphaDropout)):
            module._modules[name] = nn.Identity()  # identity in eval mode anyway
        else:
            fold_batchnorm(child, prefix + name + ".")
    for name, m in module.named_modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            raise ExportError(f"BatchNorm '{prefix}{name}' remains after folding; DJL would run it in train mode")


def flat_children(model: nn.Module, layers: Sequence[str]) -> List[Tuple[str, nn.Module]]:
    """Children in registration order, expanding containers that hold a chosen nested layer (e.g. layer4.0)."""
    def expand(mod: nn.Module, prefix: str) -> List[Tuple[str, nn.Module]]:
        out = []
        for name, child in mod.named_children():
            full = prefix + name
            if any(l.startswith(full + ".") for l in layers):
                if not isinstance(child, nn.Sequential):
                    raise ExportError(f"layer inside '{full}' was requested, but '{full}' is a "
                                      f"{type(child).__name__}, not an nn.Sequential, so it cannot be split")
                out.extend(expand(child, full + "."))
            else:
                out.append((full, child))
        return out
    return expand(model, "")


def split_stages(model: nn.Module, layers: Sequence[str], num_classes: int) -> SisomContract:
    children = flat_children(model, layers)
    names = [n for n, _ in children]
    if not children:
        raise ExportError("the model has no child modules to split into stages")
    head_name, head = children[-1]
    if not isinstance(head, nn.Linear):
        raise ExportError(f"the last child module '{head_name}' is a {type(head).__name__}; the exporter expects "
                          "the classifier head to be the last registered child and an nn.Linear")
    if head.out_features != num_classes:
        raise ExportError(f"head '{head_name}' has {head.out_features} outputs but --num-classes is {num_classes}")
    positions = []
    for layer in layers:
        if layer not in names:
            raise ExportError(f"unknown layer '{layer}'. Available: {', '.join(names[:-1])}")
        if layer == head_name:
            raise ExportError(f"'{layer}' is the classifier head; the logits are not part of the SISOM feature")
        positions.append(names.index(layer))
    if positions != sorted(positions) or len(set(positions)) != len(positions):
        raise ExportError(f"layers must be distinct and in forward order; got {list(layers)}")
    stages, start = [], 0
    for p in positions:
        stages.append(nn.Sequential(*[m for _, m in children[start:p + 1]]))
        start = p + 1
    tail = nn.Sequential(*[m for _, m in children[start:-1]])
    return SisomContract(stages, tail, head, num_classes)


# ---------------------------------------------------------------------------------------------------------------
# Reference computation in eager mode, for verification
# ---------------------------------------------------------------------------------------------------------------

def eager_features(model: nn.Module, layers: Sequence[str], x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """SISOM features of the ORIGINAL model (BN unfolded, eval mode) computed with forward hooks and autograd."""
    modules = dict(model.named_modules())
    captured = {}
    pen = {}
    hooks = [modules[l].register_forward_hook(lambda m, i, o, l=l: captured.__setitem__(l, o)) for l in layers]
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    hooks.append(head.register_forward_hook(lambda m, i, o: pen.__setitem__("x", i[0])))
    try:
        with torch.enable_grad():
            logits = model(x)
            k = logits.shape[1]
            loss = -(torch.log_softmax(logits, dim=1).sum()) / k
            grads = torch.autograd.grad(loss, [captured[l] for l in layers])
    finally:
        for h in hooks:
            h.remove()
    pool = SisomContract._pool
    a = torch.cat([pool(captured[l].detach()) for l in layers], 1)
    g = torch.cat([pool(gr) for gr in grads], 1)
    return logits.detach(), pen["x"].detach().flatten(1), a, g


def max_rel_err(a: Tensor, b: Tensor) -> float:
    scale = max(float(b.abs().max()), 1e-12)
    return float((a - b).abs().max()) / scale


def verify(scripted: torch.jit.ScriptModule, model: nn.Module, layers: Sequence[str], x: Tensor,
           tol: float = 1e-4) -> dict:
    want = eager_features(model, layers, x)
    got = scripted(x)
    errs = {}
    for name, g, w in zip(("logits", "penultimate", "activations", "gradients"), got, want):
        if g.shape != w.shape:
            raise ExportError(f"verification failed: {name} has shape {tuple(g.shape)}, eager has {tuple(w.shape)}")
        errs[name] = max_rel_err(g, w)
        if not errs[name] <= tol:
            raise ExportError(f"verification failed: {name} differs from eager PyTorch by {errs[name]:.3g} "
                              f"(relative to its max magnitude; tolerance {tol}). Is the forward the composition "
                              "of the child modules in registration order?")
    return errs


# ---------------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------------

MEMORY_FORMATS = ("channels_last", "contiguous")


def to_memory_format(scripted: torch.jit.ScriptModule, memory_format: str) -> None:
    """Lays out every 4-D parameter (the convolution weights) in ``memory_format``, in place; values are unchanged.

    channels_last is the default because libtorch 2.7.1's oneDNN convolutions, which DJL runs, take NHWC weights
    without the reorders they need for NCHW ones, in forward and backward: about a quarter more images/s on the
    bundled model (README, Performance). A convolution with a channels_last weight produces channels_last
    outputs, so the whole network runs in that layout whatever the input's. The layout is saved with the weights.
    """
    if memory_format not in MEMORY_FORMATS:
        raise ExportError(f"memory format must be one of {', '.join(MEMORY_FORMATS)}; got '{memory_format}'")
    fmt = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    with torch.no_grad():
        for p in scripted.parameters():
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=fmt)


def export(model: nn.Module, layers: Sequence[str], input_shape: Sequence[int], out_path: str,
           mean: Sequence[float], std: Sequence[float], class_names: Sequence[str] = None,
           verify_batch: Tensor = None, extra_metadata: dict = None,
           memory_format: str = "channels_last") -> dict:
    """Export ``model`` to ``out_path`` (.pt) plus ``<stem>.json``; returns the metadata written."""
    import copy
    if not layers:
        raise ExportError("choose at least one layer (--layers)")
    if len(input_shape) != 3:
        raise ExportError(f"input shape must be C,H,W; got {list(input_shape)}")
    c = input_shape[0]
    if len(mean) != c or len(std) != c:
        raise ExportError(f"mean and std need one value per input channel ({c}); got {len(mean)} and {len(std)}")
    if any(s <= 0 for s in std):
        raise ExportError(f"std values must be positive; got {list(std)}")
    model = model.eval()
    head = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not head:
        raise ExportError("the model has no nn.Linear classifier head")
    num_classes = head[-1].out_features
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    if len(class_names) != num_classes:
        raise ExportError(f"{len(class_names)} class names for {num_classes} classes")

    folded = copy.deepcopy(model)
    fold_batchnorm(folded)
    contract = split_stages(folded, layers, num_classes).eval()
    scripted = torch.jit.script(contract)
    to_memory_format(scripted, memory_format)

    if verify_batch is None:
        gen = torch.Generator().manual_seed(0)
        verify_batch = torch.randn((8, *input_shape), generator=gen)
    # verify the in-memory script, then what was written, so a bad save is never left behind
    verify(scripted, model, layers, verify_batch)
    stem, _ = os.path.splitext(out_path)
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad():
        _, pen, acts, _ = scripted(verify_batch[:1])
    sizes = layer_sizes(folded, layers, verify_batch[:1])
    if sum(sizes) != acts.shape[1]:
        raise ExportError(f"layer sizes {sizes} do not add up to the activation width {acts.shape[1]}")
    meta = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "modelFile": os.path.basename(stem) + ".pt",
        "inputShape": list(int(v) for v in input_shape),
        "numClasses": int(num_classes),
        "classNames": list(class_names),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "layers": [{"name": l, "size": int(s)} for l, s in zip(layers, sizes)],
        "penultimateSize": int(pen.shape[1]),
        "outputs": ["logits", "penultimate", "activations", "gradients"],
        "loss": "uniform-target cross-entropy, summed over the batch",
        "exportedWithTorch": torch.__version__,
        "memoryFormat": memory_format,
        "head": head_metadata(contract.head),
    }
    if extra_metadata:
        meta.update(extra_metadata)
    tmp_fd, tmp_pt = tempfile.mkstemp(suffix=".pt", dir=out_dir)
    os.close(tmp_fd)
    try:
        scripted.save(tmp_pt)
        errs = verify(torch.jit.load(tmp_pt), model, layers, verify_batch)
        meta["verification"] = {"batch": int(verify_batch.shape[0]), "maxRelativeError": errs}
        tmp_json = stem + ".json.tmp"
        with open(tmp_json, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        os.chmod(tmp_pt, 0o644)  # mkstemp creates 0600
        os.replace(tmp_pt, stem + ".pt")
        os.replace(tmp_json, stem + ".json")
    finally:
        if os.path.exists(tmp_pt):
            os.remove(tmp_pt)
    return meta


def head_metadata(head) -> dict:
    """The final linear layer (logits = weight @ penultimate + bias): ReAct, ASH and ViM recompute the logits from
    altered penultimate features, so the contract carries it."""
    w = head.weight.detach().to(torch.float32).cpu()
    b = head.bias.detach().to(torch.float32).cpu() if head.bias is not None else torch.zeros(w.shape[0])
    return {"weight": [[float(v) for v in row] for row in w.tolist()], "bias": [float(v) for v in b.tolist()]}


def add_head(pt_path: str) -> dict:
    """Writes the head of an exported contract model into its metadata (for exports made before the contract
    carried it); the model file is not touched. Atomic: the metadata is replaced only when complete."""
    stem, _ = os.path.splitext(pt_path)
    json_path = stem + ".json"
    if not os.path.isfile(pt_path) or not os.path.isfile(json_path):
        raise ExportError(f"add-head needs an exported model and its metadata: {pt_path} and {json_path}")
    with open(json_path) as f:
        meta = json.load(f)
    scripted = torch.jit.load(pt_path, map_location="cpu")
    head = dict(scripted.named_children()).get("head")
    if head is None or not hasattr(head, "weight"):
        raise ExportError(f"{pt_path} has no 'head' submodule: it is not a SISOM contract export")
    h = head_metadata(head)
    if len(h["weight"]) != meta.get("numClasses") or len(h["weight"][0]) != meta.get("penultimateSize"):
        raise ExportError(f"{pt_path}: the head is {len(h['weight'])} x {len(h['weight'][0])}, the metadata says "
                          f"{meta.get('numClasses')} classes and {meta.get('penultimateSize')} penultimate features")
    meta["head"] = h
    tmp = json_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    os.replace(tmp, json_path)
    return meta


def layer_sizes(model: nn.Module, layers: Sequence[str], x: Tensor) -> List[int]:
    modules = dict(model.named_modules())
    seen = {}
    hooks = [modules[l].register_forward_hook(lambda m, i, o, l=l: seen.__setitem__(l, o)) for l in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return [int(seen[l].shape[1]) for l in layers]


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------

def load_factory(spec: str):
    if ":" not in spec:
        raise ExportError(f"--factory must look like 'package.module:callable' or 'torchvision:resnet18'; got '{spec}'")
    mod_name, fn_name = spec.split(":", 1)
    if mod_name == "torchvision":
        mod_name = "torchvision.models"
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ExportError(f"cannot import '{mod_name}' ({e}); add its directory with --python-path") from None
    fn = getattr(mod, fn_name, None)
    if fn is None:
        raise ExportError(f"module '{mod_name}' has no '{fn_name}'")
    return fn


def floats(text: str) -> List[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got '{text}'") from None


def ints(text: str) -> List[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "add-head":
        if len(argv) != 2:
            print("usage: sisom_export.py add-head MODEL.pt", file=sys.stderr)
            return 2
        try:
            add_head(argv[1])
        except ExportError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"wrote the head into {os.path.splitext(argv[1])[0]}.json")
        return 0
    p = argparse.ArgumentParser(
        prog="sisom_export.py",
        description="Export a PyTorch classifier as a SISOM-ready TorchScript model (+ metadata JSON) for "
                    "sisom-spark. The export is checked against eager PyTorch before it is written.",
        epilog="Example: sisom_export.py --factory torchvision:resnet18 --factory-kwargs '{\"num_classes\": 10}' "
               "--state-dict ckpt.pt --layers layer1,layer2,layer3,avgpool --input-shape 3,224,224 "
               "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --out models/resnet18.pt")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--factory", help="'package.module:callable' building the nn.Module "
                                       "(or 'torchvision:resnet18' etc.)")
    src.add_argument("--full-model", help="a file written by torch.save(model) (the whole module, not a state dict)")
    p.add_argument("--factory-kwargs", default="{}", help="JSON object of keyword arguments for --factory")
    p.add_argument("--state-dict", help="weights to load into the built model (torch.save(model.state_dict()))")
    p.add_argument("--python-path", action="append", default=[], help="directory to add to sys.path (repeatable)")
    p.add_argument("--layers", required=True,
                   help="comma-separated child-module names whose outputs form the SISOM feature, in forward "
                        "order; for a ResNet: layer1,layer2,layer3,avgpool")
    p.add_argument("--input-shape", required=True, type=ints, help="C,H,W of one input image, e.g. 1,28,28")
    p.add_argument("--mean", required=True, type=floats, help="per-channel normalisation mean (images in [0,1])")
    p.add_argument("--std", required=True, type=floats, help="per-channel normalisation std")
    p.add_argument("--class-names", help="comma-separated class names (default 0..K-1)")
    p.add_argument("--memory-format", choices=MEMORY_FORMATS, default="channels_last",
                   help="layout of the convolution weights (default channels_last: faster in libtorch's oneDNN "
                        "convolutions on CPU executors)")
    p.add_argument("--out", required=True, help="output model file, e.g. models/net.pt (net.json is written beside)")
    args = p.parse_args(argv)

    try:
        sys.path[:0] = args.python_path
        if args.factory:
            try:
                kwargs = json.loads(args.factory_kwargs)
            except json.JSONDecodeError as e:
                raise ExportError(f"--factory-kwargs is not valid JSON: {e}") from None
            model = load_factory(args.factory)(**kwargs)
        else:
            if not os.path.isfile(args.full_model):
                raise ExportError(f"--full-model file not found: {args.full_model}")
            model = torch.load(args.full_model, map_location="cpu")
        if args.state_dict:
            if not os.path.isfile(args.state_dict):
                raise ExportError(f"--state-dict file not found: {args.state_dict}")
            state = torch.load(args.state_dict, map_location="cpu")
            missing, unexpected = model.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ExportError(f"state dict does not fit the model: missing {missing[:5]}, "
                                  f"unexpected {unexpected[:5]}")
        if not isinstance(model, nn.Module):
            raise ExportError(f"expected an nn.Module, got {type(model).__name__}")
        layers = [l.strip() for l in args.layers.split(",") if l.strip()]
        names = args.class_names.split(",") if args.class_names else None
        meta = export(model, layers, args.input_shape, args.out, args.mean, args.std, names,
                      memory_format=args.memory_format)
    except ExportError as e:
        print(f"sisom_export: error: {e}", file=sys.stderr)
        return 2
    errs = meta["verification"]["maxRelativeError"]
    print(f"wrote {args.out} and {os.path.splitext(args.out)[0]}.json: {meta['numClasses']} classes, layers "
          + ", ".join(f"{l['name']}({l['size']})" for l in meta["layers"])
          + "; max relative error vs eager: " + ", ".join(f"{k} {v:.2g}" for k, v in errs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
