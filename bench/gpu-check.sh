#!/usr/bin/env bash
# The GPU check (docs/gpu.md), in two steps because the GPU machine has Python and CUDA PyTorch but no Java and no
# network, and only a small working tree travels to it:
#   bench/gpu-check.sh prepare   here: exports a random-init (seed 0) torchvision ResNet-18 at 3x224x224 with our
#                                exporter into target/gpu-check/ (about 45 MB; carry that folder to the GPU machine)
#   bench/gpu-check.sh [DEVICE]  there (DEVICE cuda, the default when a GPU is visible, or cpu): runs
#                                bench/python/gpu_check.py on the bundled model and the prepared ResNet-18, at most
#                                about 8 minutes (--budget-s), and writes its output to target/gpu-check/gpu-check.txt
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${SISOM_PYTHON:-python3}
OUT=target/gpu-check
mkdir -p "$OUT"
if [ "${1:-}" = prepare ]; then
  PY=${SISOM_PYTHON:-/usr/bin/python3}
  classes=$(seq -s, 0 9)
  "$PY" python/sisom_export.py --python-path bench/python --factory gpu_check_models:resnet18 \
    --layers layer1,layer2,layer3,avgpool --input-shape 3,224,224 \
    --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --class-names "$classes" --out "$OUT/resnet18_224.pt"
  du -h "$OUT"/resnet18_224.*
  exit 0
fi
models=(data-samples/model/fmnist_resnet18w16.pt)
[ -f "$OUT/resnet18_224.pt" ] && models+=("$OUT/resnet18_224.pt") \
  || echo "no $OUT/resnet18_224.pt (run bench/gpu-check.sh prepare where torchvision is installed): bundled model only"
dev=()
[ -n "${1:-}" ] && dev=(--device "$1")
"$PY" bench/python/gpu_check.py "${dev[@]}" --budget-s "${SISOM_GPU_BUDGET_S:-360}" "${models[@]}" \
  2>&1 | tee "$OUT/gpu-check.txt"
exit "${PIPESTATUS[0]}"
