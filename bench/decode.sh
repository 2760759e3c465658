#!/usr/bin/env bash
# Image decoding CPU per image: ImageIO's default InputStream path (temporary-file cache) vs the in-memory stream
# that ImagePreprocessor uses, on the bundled pool PNGs (or DIR).
#   bench/decode.sh [DIR=data-samples/pool/images]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-data-samples/pool/images}
./mvnw -q -B -DskipTests install
./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.DecodeBench -Dsisom.args="$(realpath "$DIR")" 2>/dev/null \
  | grep -E '^(decode|ratio)'
