#!/usr/bin/env bash
# Greedy batch-diverse selection cost as q and the candidate count grow.
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -B -DskipTests install
./mvnw -q -B -pl bench exec:exec -Dsisom.main=ai.sisom.bench.GreedyBench 2>/dev/null
