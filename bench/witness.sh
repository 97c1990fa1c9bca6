#!/usr/bin/env bash
# Witness add-checkpoint throughput at 1, 10 and 50 concurrent logs, durable,
# beside the disk's fsync rate measured in the same run. Figures go to
# docs/performance.md.
# Usage: bench/witness.sh [--duration 5s] [--logs 1,10,50] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/witnessbench "$@"
