#!/usr/bin/env bash
# Where the model forward's time goes, per libtorch operator: ours (DJL, libtorch 2.7.1, graph optimiser off as the
# gradients require) vs Python PyTorch (Debian python3-torch) on the same model, batch and threads: where the
# differences that bench/extract-speed.sh reports come from.
#   bench/extract-profile.sh [batch=64] [threads=2] [forwards=20]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-64}; T=${2:-2}; F=${3:-20}
PY=${SISOM_PYTHON:-/usr/bin/python3}
MODEL=data-samples/model/fmnist_resnet18w16.pt
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
./mvnw -q -B -DskipTests install
OMP_NUM_THREADS=$T ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ExtractionProfile \
  -Dsisom.args="$MODEL $work/java.json $B $T $F" >/dev/null 2>&1
$PY - "$MODEL" "$work/java.json" "$B" "$T" "$F" <<'PY'
import collections, json, sys
import torch
model_path, trace, batch, threads, forwards = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])

def table(pairs):
    agg, cnt = collections.Counter(), collections.Counter()
    for name, us in pairs:
        agg[name] += us
        cnt[name] += 1
    return agg, cnt

ev = json.load(open(trace))
ev = ev["traceEvents"] if isinstance(ev, dict) else ev
java = table((e["name"], e.get("dur", 0)) for e in ev if e.get("ph") == "X")

torch.set_num_threads(threads)
m = torch.jit.load(model_path)
x = torch.randn(batch, 1, 28, 28)
for _ in range(30):
    m(x)
with torch.autograd.profiler.profile() as p:
    for _ in range(forwards):
        m(x)
py = table((e.name, e.cpu_time_total) for e in p.function_events)

ops = ["aten::convolution", "aten::convolution_backward", "aten::contiguous", "aten::relu", "aten::threshold_backward",
       "aten::mean", "aten::add", "aten::mul", "aten::to"]
print(f"{'operator (inclusive ms per forward of ' + str(batch) + ')':<48} {'ours':>8} {'python':>8}")
for op in ops:
    print(f"{op:<48} {java[0][op] / forwards / 1000:8.2f} {py[0][op] / forwards / 1000:8.2f}")
PY
