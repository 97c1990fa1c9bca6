#!/usr/bin/env bash
# Manifest create and verify (full and incremental) on a generated
# Gentoo-sized tree, beside the anchors measured in the same run: the
# machine's floor (file system + hashing), gemato, a full verification and
# a stat of every file. Figures go to docs/performance.md.
#
# Usage: bench/manifest.sh GEMATO_DIR [--dir DIR] [--packages N] [--runs N]
#                          [--changed FRACTION] [--cpuprofile FILE]
#
# GEMATO_DIR is a checkout of gemato's source (github.com/gentoo/gemato);
# it runs as "python3 -m gemato" with PYTHONPATH=GEMATO_DIR and needs only
# Python 3. The comparison is part of the benchmark: it is never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: bench/manifest.sh GEMATO_DIR [flags]" >&2
  echo "GEMATO_DIR: a checkout of github.com/gentoo/gemato, the anchor of the create and verify figures" >&2
  exit 2
fi
gemato=$1
shift
if [ ! -f "$gemato/gemato/__main__.py" ]; then
  echo "bench/manifest.sh: $gemato is not a gemato source checkout (no gemato/__main__.py)" >&2
  exit 2
fi
exec go run ./bench/manifestbench --gemato "$gemato" "$@"
