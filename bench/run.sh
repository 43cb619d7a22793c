#!/usr/bin/env bash
# Runs every benchmark suite (bench/*/run.sh) against a release build directory.
set -euo pipefail
builddir=$(realpath "${1:-build-release}")
here=$(dirname "$(realpath "$0")")
for suite in "$here"/*/run.sh; do
  [ -x "$suite" ] || continue
  echo "== $(basename "$(dirname "$suite")")"
  "$suite" "$builddir"
done
