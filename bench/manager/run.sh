#!/usr/bin/env bash
# Manager benchmark: forwarding rate and latency through `stratus manager`
# against the broker alone, and start-to-registered time.
# usage: bench/manager/run.sh BUILD_DIR [bench_manager options]
set -euo pipefail
builddir=$(realpath "${1:?usage: $0 BUILD_DIR}")
shift
bin="$builddir/bench/manager/bench_manager"
if [ ! -x "$bin" ]; then
  cmake --build "$builddir" --target bench_manager -j 2
fi
exec "$bin" "$@"
