#!/usr/bin/env bash
# The GPU build (the cuda profile: DJL 0.33.0, PyTorch 2.5.1 with CUDA 12.4 natives from Maven Central) through the
# whole test suite on this machine, GPU or not: a CUDA libtorch runs its CPU kernels (ai.sisom.model.Natives loads
# it where DJL would not). Prints how long the natives' download (about 2.4 GB, once per Maven repository) and the
# suite took; the first test JVM also extracts the natives (about 4 GB) into DJL's cache directory (DJL_CACHE_DIR).
#   bench/cuda-build-check.sh [extra Maven arguments, e.g. -o]
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
./mvnw -B -q "$@" -Pcuda -pl common dependency:resolve -DincludeArtifactIds=pytorch-native-cu124 >/dev/null
t1=$(date +%s)
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
./mvnw -B "$@" -Pcuda verify >"$log" 2>&1 || status=$?
t2=$(date +%s)
grep -E '^\[(INFO|ERROR|WARNING)\] Tests run:|BUILD|Reactor Summary|SUCCESS|FAILURE' "$log" | grep -v ' -- in ' || true
echo "cuda build: natives resolved in $((t1 - t0)) s, ./mvnw -Pcuda verify (tests and the GPU jar) in $((t2 - t1)) s"
ls -l jobs/target/*-spark-cu124.jar 2>/dev/null || true
[ $status -eq 0 ] || tail -80 "$log"
exit $status
