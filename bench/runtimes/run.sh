#!/usr/bin/env bash
# Runtime benchmark: module start latency, creates per second and memory of
# the linux/minimal and linux runtimes, against `stratus exec` of the same
# module in the same run.
# usage: bench/runtimes/run.sh BUILD_DIR [bench_runtimes options]
set -euo pipefail
builddir=$(realpath "${1:?usage: $0 BUILD_DIR}")
shift
bin="$builddir/bench/runtimes/bench_runtimes"
if [ ! -x "$bin" ]; then
  cmake --build "$builddir" --target bench_runtimes -j 2
fi
"$bin" "$@"
# The benchmarking runtime's own overhead (bench_benchmarking.c).
bench="$builddir/bench/runtimes/bench_benchmarking"
if [ ! -x "$bench" ]; then
  cmake --build "$builddir" --target bench_benchmarking -j 2
fi
"$bench"
