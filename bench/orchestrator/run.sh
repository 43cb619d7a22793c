#!/usr/bin/env bash
# Orchestrator benchmark: create latency and placements per second against
# the broker alone, RSS and REST latency with 10,000 modules stored, and
# hello modules on a linux runtime through the orchestrator against straight
# to the runtime.
# usage: bench/orchestrator/run.sh BUILD_DIR [bench_orchestrator options]
set -euo pipefail
builddir=$(realpath "${1:?usage: $0 BUILD_DIR}")
shift
bin="$builddir/bench/orchestrator/bench_orchestrator"
if [ ! -x "$bin" ]; then
  cmake --build "$builddir" --target bench_orchestrator -j 2
fi
exec "$bin" "$@"
