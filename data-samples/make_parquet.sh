#!/usr/bin/env bash
# Writes the Parquet copies of the bundled labeled set and pool (id, image bytes[, label]) from the manifests
# that make_samples.py wrote, through the project's own import job. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/sisom-local import --set sisom.input.path=data-samples/labeled/manifest.csv --set sisom.input.format=manifest \
  --set sisom.input.labeled=true --set sisom.output=data-samples/labeled/parquet --set spark.master=local[2]
bin/sisom-local import --set sisom.input.path=data-samples/pool/manifest.csv --set sisom.input.format=manifest \
  --set sisom.output=data-samples/pool/parquet --set spark.master=local[2]
# Hadoop's local checksum files are noise in a repository
find data-samples/labeled/parquet data-samples/pool/parquet -name '.*.crc' -delete
