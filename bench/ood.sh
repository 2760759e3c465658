#!/usr/bin/env bash
# OOD benchmark, one command: data sets (bench/python/ood_data.py) -> features through the extract job -> every method
# scored on the same features (ai.sisom.bench.OodBenchmark) -> results.csv, results.md, scores.csv,
# scores-heldout.csv, auroc.png, histograms.png in OUT. Two suites: the bundled model against near and far OOD sets,
# and the 8-class model of data-samples/make_heldout_model.py against its two held-out classes.
#   bench/ood.sh [--reduced] [OUT=target/ood] [key=value ...]   (keys: see OodBenchmark, e.g. variants=false)
# --reduced is the CI configuration (500 / 400 fit, 500 / 496 ID test, 150 per OOD set: a few minutes); without
# it, 10,000 / 8,000 fit, all 10,000 / 8,000 ID test images, 2,000 per OOD set (1,000 per held-out class).
# Needs Debian's python3-numpy python3-pil python3-sklearn python3-skimage python3-torch python3-matplotlib
# dataset-fashion-mnist fonts-dejavu-core fonts-liberation.
set -euo pipefail
cd "$(dirname "$0")/.."
reduced=()
if [ "${1:-}" = "--reduced" ]; then reduced=(--reduced); shift; fi
OUT=${1:-target/ood}; shift || true
PY=${SISOM_PYTHON:-/usr/bin/python3}
for a in "$@"; do
  case "$a" in *" "*) echo "ood.sh: arguments with spaces are not supported: '$a'" >&2; exit 2;; esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
start=$(date +%s)
rm -rf "$OUT/data"
$PY bench/python/ood_data.py "$OUT/data" "${reduced[@]}"
./mvnw -q -B -DskipTests install
./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.OodBenchmark -Dsisom.args="$OUT/data $OUT $*" \
  2> "$OUT/benchmark.log" || { tail -n 30 "$OUT/benchmark.log" >&2; echo "ood.sh: the benchmark failed, log: $OUT/benchmark.log" >&2; exit 1; }
$PY bench/python/ood_plots.py "$OUT"
echo "ood.sh: done in $(( $(date +%s) - start )) s: $OUT/results.md, $OUT/auroc.png, $OUT/histograms.png"
