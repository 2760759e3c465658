#!/usr/bin/env bash
# Feeding the network: feature extraction end to end (PNG bytes to records) with the next batch decoded on D threads
# while the current one runs, for each D, against D=0 (decoding in the task's thread between forwards) in the same
# run. libtorch gets T threads (what spark.task.cpus gives a task on a cluster).
#   bench/extract-feed.sh [batch=64] [threads=2] [rounds=5] [repeat=3] [decode threads ...=0 1 2]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-64}; T=${2:-2}; R=${3:-5}; REP=${4:-3}; shift $(( $# < 4 ? $# : 4 ))
d=("$@"); [ ${#d[@]} -gt 0 ] || d=(0 1 2)
MODEL=data-samples/model/fmnist_resnet18w16.pt
IMAGES=data-samples/pool/images
./mvnw -q -B -DskipTests install
OMP_NUM_THREADS=$T exec ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ExtractionFeedBench \
  -Dsisom.args="$MODEL $IMAGES $B $R $REP ${d[*]}" 2>/dev/null
