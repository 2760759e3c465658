#!/usr/bin/env bash
# Feature extraction images/s: our executor code (DJL) vs Python PyTorch (Debian python3-torch) running the same
# exported model on the same PNG files, batch size and thread count, each after one untimed round; prints the median
# round of each and the ratio (best of two alternated runs per side).
#   bench/extract-speed.sh [batch=64] [threads=2] [rounds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-64}; T=${2:-2}; R=${3:-5}
PY=${SISOM_PYTHON:-/usr/bin/python3}
MODEL=data-samples/model/fmnist_resnet18w16.pt
IMAGES=data-samples/pool/images
./mvnw -q -B -DskipTests install
# Java and Python alternate, twice each: on a shared 2-core machine the load drifts over a minute, and alternating
# gives both sides the same chances; each side's best run counts.
java_out=""; py_out=""
for run in 1 2; do
  java_out+=$(OMP_NUM_THREADS=$T ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ExtractionSpeedBench \
    -Dsisom.args="$MODEL $IMAGES $B $T $R" 2>/dev/null | grep '^java-')$'\n'
  py_out+=$($PY bench/python/extract_baseline.py "$MODEL" "$IMAGES" "$B" "$T" "$R")$'\n'
done
echo -n "$java_out"; echo -n "$py_out"
$PY - "$java_out" "$py_out" <<'PY'
import sys
v = {}
for block in sys.argv[1:]:
    for line in block.splitlines():
        if line.strip():
            k, x = line.split()
            v[k] = max(v.get(k, 0.0), float(x))   # best of the alternated runs
print(f"ratio java/python forward (model only): {v['java-forward'] / v['python-forward']:.2f}x")
print(f"ratio java/python end to end (PNG bytes to u): {v['java-end2end'] / v['python-end2end']:.2f}x")
PY
