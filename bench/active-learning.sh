#!/usr/bin/env bash
# Active-learning benchmark on Fashion-MNIST (closed set, the LfOSA open-set setting, and the polluted pool: a share
# of OOD images, the queried ones fed back labeled unknown); tables and plots in OUT.
#   bench/active-learning.sh [--reduced] [OUT] [al_benchmark.py options, e.g. --seeds 2 --no-open-set]
# Seeds can run side by side (--first-seed N --seeds 1, each with its own OUT; --threads 1 on a busy machine; build
# once, then SISOM_SKIP_BUILD=1 so the copies do not rebuild at the same time) and be combined with
#   /usr/bin/python3 bench/python/al_benchmark.py --merge OUT1 OUT2 ... --out OUT
# --reduced is the CI configuration (about a minute on an idle 2-core machine); without it, the full one (estimated
# at about an hour on 2 cores, not measured yet).
# Needs Debian's python3-torch python3-numpy python3-matplotlib python3-pil python3-sklearn python3-skimage
# fonts-dejavu-core fonts-liberation and dataset-fashion-mnist.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=full
if [ "${1:-}" = "--reduced" ]; then preset=reduced; shift; fi
out=target/active-learning-$preset
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then out=$1; shift; fi
[ "${SISOM_SKIP_BUILD:-}" = 1 ] || ./mvnw -q -B -DskipTests install
mkdir -p "$out"
# the classpath and JVM flags the exec plugin uses (parent pom), for the benchmark's long-lived job server
./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.JobServer -Dsisom.args=--print-launch > "$out/launch.txt"
exec /usr/bin/python3 bench/python/al_benchmark.py --preset "$preset" --open-set --polluted --launch "$out/launch.txt" \
  --out "$out" "$@"
