#!/usr/bin/env bash
# Runs the whole test suite of a build directory with CTest (unit, integration,
# conformance and fuzz labels) and ends with one plain "N passed, N failed" line.
set -uo pipefail
builddir=${1:-build}
cd "$builddir" || exit 2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j "$(nproc)" --timeout 900 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
total=$(grep -Eo 'tests passed, [0-9]+ tests failed out of [0-9]+' ctest.log | grep -Eo '[0-9]+$' | tail -1)
failed=$(grep -Eo '[0-9]+ tests failed out of' ctest.log | grep -Eo '^[0-9]+' | tail -1)
if [ -z "$total" ]; then
  echo "no tests were run"
  exit 1
fi
echo "${total:-0} total"
echo "$((total - failed)) passed, ${failed} failed"
exit "$status"
