#!/usr/bin/env bash
# Manifest create/verify throughput on a generated Gentoo-sized tree, beside
# the hashing limit measured in the same run. Figures go to docs/performance.md.
# Usage: bench/manifest.sh [--dir DIR] [--packages N] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/manifestbench "$@"
