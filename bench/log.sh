#!/usr/bin/env bash
# The log server's write path side by side with tessera's own POSIX
# conformance server: entries/s and POST-to-published-checkpoint latency,
# on POSIX (with and without three local witnesses) and on S3+MySQL
# (MinIO + MariaDB) with 1 and 2 processes. Figures go to docs/performance.md.
# Usage: bench/log.sh [--duration 10s] [--origins 64] [--s3=false]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
command -v posix >/dev/null || go install github.com/transparency-dev/tessera/cmd/conformance/posix@v1.0.4
go run ./bench/logbench --tessera "$(command -v posix)" "$@"
