#!/usr/bin/env bash
# The nightly run at lake scale against the bare model forward measured in the same JVM before each night and after
# the last (each night against the mean of the two around it: this machine's speed drifts): N images (the bundled pool's
# 1,000 repeated under distinct ids) in Parquet partitioned by night, three nights, local disk or an in-process S3
# server; prints per night images/s, the ratio to the bare forward, images/s per core, peak RSS and the time by stage;
# OUT/night-N.txt holds the run's output and each Spark job's wall time, OUT/night-N-driver.txt the driver's time.
#   bench/nightly-scale.sh [N=100000] [local|s3] [OUT=target/nightly-scale] [nights=3]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; STORE=${2:-local}; OUT=${3:-target/nightly-scale}; NIGHTS=${4:-3}
rm -rf "$OUT"; mkdir -p "$OUT"
./mvnw -q -B -DskipTests install
./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.NightlyScaleBench \
  -Dsisom.args="$N $STORE $(realpath "$OUT") $NIGHTS" 2>"$OUT/stderr.log"
