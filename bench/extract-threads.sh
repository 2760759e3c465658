#!/usr/bin/env bash
# Feature extraction as an executor runs it: TASKS task threads at once sharing one model, with libtorch's intra-op
# pool at each size given (fresh JVM each), on the bundled pool images. Shows what an oversized libtorch pool per
# task costs: on a cluster Spark sets OMP_NUM_THREADS to spark.task.cpus in each executor, but in local mode every
# task's pool takes every core. Prints img/s per size and the ratio to the first size.
#   bench/extract-threads.sh [tasks=2] [batch=64] [rounds=5] [threads ...=1 2 8]
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${1:-2}; B=${2:-64}; R=${3:-5}; shift $(( $# < 3 ? $# : 3 ))
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1 2 8)
MODEL=data-samples/model/fmnist_resnet18w16.pt
IMAGES=data-samples/pool/images
./mvnw -q -B -DskipTests install
out=$(mktemp); trap 'rm -f "$out"' EXIT
for t in "${sizes[@]}"; do
  OMP_NUM_THREADS=$t ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ExtractionThreadsBench \
    -Dsisom.args="$MODEL $IMAGES $B $TASKS $t $R" 2>/dev/null | grep '^threads ' | tee -a "$out"
done
awk 'NR==1{base=$5} {printf "libtorch threads %d per task, %d tasks: %.0f img/s, %.2fx the first\n", $2, $4, $5, $5/base}' "$out"
