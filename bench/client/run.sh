#!/usr/bin/env bash
# Client benchmark: `stratus run --wait hello.wasm` end to end (median of
# 50) against `stratus exec hello.wasm` and a create sent straight to the
# runtime, in the same run, on a local stack.
# usage: bench/client/run.sh BUILD_DIR [--runs N]
set -euo pipefail
builddir=$(realpath "${1:?usage: $0 BUILD_DIR}")
shift
bin="$builddir/bench/client/bench_client"
if [ ! -x "$bin" ]; then
  cmake --build "$builddir" --target bench_client -j 2
fi
exec "$bin" "$@"
