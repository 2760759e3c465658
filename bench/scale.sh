#!/usr/bin/env bash
# End-to-end pool scoring at growing N with a fixed heap (default 10k, 100k, 1M), each size in a fresh JVM: wall
# time, rows/s per core, peak RSS, and time per row relative to the smallest N (flat = linear cost). The 2 GB heap
# is committed and touched at start-up (-Xms2g -XX:+AlwaysPreTouch), so peak RSS compares like with like across N:
# heap that merely fills up to its cap does not show as growth, anything that grows with N off the heap does.
#   [SISOM_SCALE_REF=M] bench/scale.sh [N ...]     (M: reference points, default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
./mvnw -q -B -DskipTests install
out=$(mktemp)
for n in "${sizes[@]}"; do
  ./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.ScoringScaleBench "-Dsisom.heap=-Xms2g -Xmx2g -XX:+AlwaysPreTouch" \
    -Dsisom.args="$n ${SISOM_SCALE_REF:-1000}" 2>/dev/null | grep '^scale ' | tee -a "$out"
done
awk 'NR==1{base=$3/$2} {printf "N=%d: %.2f s, %d rows/s/core, peak RSS %d MB, time per row vs smallest N: %.2fx\n", $2, $3, $4, $5, ($3/$2)/base}' "$out"
rm -f "$out"
