#!/usr/bin/env bash
# Auditor catch-up on a log of 1,000,000 MetaManifests, beside this
# machine's Ed25519 verification limit measured in the same run.
# Figures go to docs/performance.md.
# Usage: bench/audit.sh [--entries N] [--origins N] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/auditbench "$@"
