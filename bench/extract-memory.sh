#!/usr/bin/env bash
# RSS of feature extraction over N images from T task threads, each decoding ahead on D threads (default 100000
# images, 2 tasks, batch 64, 1 decode thread: the CPU defaults; 512 and 4 are the GPU defaults).
#   bench/extract-memory.sh [images=100000] [tasks=2] [batch=64] [decode threads=1]
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -B -DskipTests install
exec ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ExtractionMemoryBench -Dsisom.heap=-Xmx1g \
  -Dsisom.args="${1:-100000} ${2:-2} ${3:-64} ${4:-1}"
