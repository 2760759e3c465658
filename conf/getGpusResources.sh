#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript, or spark.worker.resource.gpu.* on a
# standalone cluster): prints the GPUs this executor may use as the CUDA device ordinals its process sees, which is
# what a task hands to libtorch: {"name": "gpu", "addresses": ["0","1"]}. A resource manager that isolates GPUs with
# CUDA_VISIBLE_DEVICES leaves the process seeing them as 0..n-1, whatever their physical indexes; a container that
# shows only its own GPUs (Kubernetes' device plugin, YARN with Docker) lists exactly those through nvidia-smi.
if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
  n=$(printf '%s' "$CUDA_VISIBLE_DEVICES" | tr ',' '\n' | grep -c '[^[:space:]]' || true)
  ids=$(seq 0 $((n - 1)) 2>/dev/null)
else
  ids=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null)
fi
addresses=$(printf '%s\n' $ids | grep . | sed 's/.*/"&"/' | paste -sd, -)
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
