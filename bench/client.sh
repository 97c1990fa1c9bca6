#!/usr/bin/env bash
# treelog verify in a log shared by 1,000 trees publishing every 30
# minutes, with a week-old client state: bytes fetched from the log,
# requests and time, with the index and without (the scan, today's
# client), side by side in one run; then the index's storage over that
# week. Figures go to docs/performance.md.
# Usage: bench/client.sh [--origins N] [--days D] [--every 30m] [--packages N]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/clientbench "$@"
