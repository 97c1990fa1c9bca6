#!/usr/bin/env bash
# treelog verify on a 150,000-file tree with a one-day-old client state:
# time and bytes fetched from the log. Figures go to docs/performance.md.
# Usage: bench/client.sh [--packages N]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/clientbench "$@"
