#!/usr/bin/env bash
# RSS of feature extraction over N images from T threads (default 100000 images, 2 threads, batch 64).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -B -DskipTests install
exec ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ExtractionMemoryBench -Dsisom.heap=-Xmx1g \
  -Dsisom.args="${1:-100000} ${2:-2} ${3:-64}"
