#!/usr/bin/env bash
# Client benchmarks, each against references measured in the same run on a
# local stack:
#   bench_client: `stratus run --wait hello.wasm` end to end (median of 50)
#     against `stratus exec hello.wasm` and a create sent straight to the
#     runtime;
#   bench_files: module files that travel with the request (1 MiB, 20 MiB):
#     first run, cached run and a pre-placed module; the transfer's MiB/s
#     against mosquitto itself and a plain copy.
# usage: bench/client/run.sh BUILD_DIR [--runs N]   (--runs goes to bench_client)
set -euo pipefail
builddir=$(realpath "${1:?usage: $0 BUILD_DIR}")
shift
for b in bench_client bench_files; do
  if [ ! -x "$builddir/bench/client/$b" ]; then
    cmake --build "$builddir" --target "$b" -j 2
  fi
done
"$builddir/bench/client/bench_client" "$@"
"$builddir/bench/client/bench_files"
