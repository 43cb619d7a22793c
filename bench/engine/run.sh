#!/usr/bin/env bash
# Engine benchmark: runs every program natively, on the Stratus engine
# (bench_engine) and on Node.js (V8, as a reference), checks that all three
# print the same checksums, and prints a table of run times (best of
# BENCH_REPS runs, default 3, each measured in-process around run()), the
# ratios to native and their geometric means. Then the same programs built as
# WASI commands, through `stratus exec` and through node's node:wasi, against
# native; then the startup time of a ~100 KB wasm32-wasi module (load +
# validate + instantiate).
#
# usage: bench/engine/run.sh BUILD_DIR
# where BUILD_DIR is a release build with the bench_engine target built:
#   CC=clang cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATUS_TESTS=OFF
#   cmake --build build-release --target bench_engine
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
dir=$build/bench/engine
driver=$dir/bench_engine
reps=${BENCH_REPS:-3}
programs=(fib sieve nbody mandelbrot matmul quicksort hash)
node=$(command -v node || true)
for f in "$driver" "$dir/wasm/startup.wasm"; do
  if [ ! -e "$f" ]; then
    echo "run.sh: $f is missing: build the bench_engine target in $build" >&2
    exit 2
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# best_run NAME CMD...: runs CMD $reps times; stdout must be the same every
# time (kept in $tmp/NAME.out); echoes the smallest run_us reported on stderr.
best_run() {
  local name=$1
  shift
  local best=
  for ((i = 0; i < reps; i++)); do
    if ! "$@" >"$tmp/$name.cur" 2>"$tmp/$name.err"; then
      echo "run.sh: $name failed: $(tail -n 3 "$tmp/$name.err")" >&2
      echo FAIL
      return
    fi
    if [ $i -gt 0 ] && ! cmp -s "$tmp/$name.cur" "$tmp/$name.out"; then
      echo "run.sh: $name printed different output on repeat runs" >&2
      echo FAIL
      return
    fi
    mv "$tmp/$name.cur" "$tmp/$name.out"
    local us
    us=$(sed -n 's/^run_us=//p' "$tmp/$name.err" | tail -n 1)
    if [ -z "$best" ] || [ "$us" -lt "$best" ]; then best=$us; fi
  done
  echo "$best"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

status=0
printf '%-11s %10s %11s %10s %14s %12s  %s\n' program native_ms stratus_ms node_ms stratus/native node/native checksums
log_engine=0 log_node=0 n=0 nnode=0
for p in "${programs[@]}"; do
  nat=$(best_run "$p.native" "$dir/native/$p")
  eng=$(best_run "$p.stratus" "$driver" "$dir/wasm/$p.wasm")
  js=none
  if [ -n "$node" ]; then js=$(best_run "$p.node" "$node" "$here/run_node.cjs" "$dir/wasm/$p.wasm"); fi
  check=same
  if [ "$nat" = FAIL ] || [ "$eng" = FAIL ] || ! cmp -s "$tmp/$p.native.out" "$tmp/$p.stratus.out"; then
    check="MISMATCH (stratus)"
    status=1
  fi
  if [ "$js" != none ] && { [ "$js" = FAIL ] || ! cmp -s "$tmp/$p.native.out" "$tmp/$p.node.out"; }; then
    check="$check MISMATCH (node)"
    status=1
  fi
  if [ "$nat" = FAIL ] || [ "$eng" = FAIL ]; then
    printf '%-11s %10s %11s %10s %14s %12s  %s\n' "$p" "$nat" "$eng" "$js" - - "$check"
    continue
  fi
  r_eng=$(ratio "$eng" "$nat")
  log_engine=$(awk -v s="$log_engine" -v r="$r_eng" 'BEGIN { print s + log(r) }')
  n=$((n + 1))
  r_js=-
  js_ms=-
  if [ "$js" != none ] && [ "$js" != FAIL ]; then
    r_js=$(ratio "$js" "$nat")
    js_ms=$(ms "$js")
    log_node=$(awk -v s="$log_node" -v r="$r_js" 'BEGIN { print s + log(r) }')
    nnode=$((nnode + 1))
  fi
  printf '%-11s %10s %11s %10s %14s %12s  %s\n' "$p" "$(ms "$nat")" "$(ms "$eng")" "$js_ms" "$r_eng" "$r_js" "$check"
done
if [ $n -gt 0 ]; then
  gm_eng=$(awk -v s="$log_engine" -v n="$n" 'BEGIN { printf "%.2f", exp(s / n) }')
  gm_node=-
  if [ $nnode -gt 0 ]; then gm_node=$(awk -v s="$log_node" -v n="$nnode" 'BEGIN { printf "%.2f", exp(s / n) }'); fi
  printf '%-11s %10s %11s %10s %14s %12s\n' geomean "" "" "" "$gm_eng" "$gm_node"
fi

# The same programs as WASI commands: stratus exec and node:wasi vs native.
stratus=$build/src/cli/stratus
if [ -x "$stratus" ]; then
  echo
  echo "as WASI commands (run() timed inside the program):"
  printf '%-11s %10s %11s %10s %14s %12s  %s\n' program native_ms exec_ms node_ms exec/native node/native checksums
  log_exec=0 log_nw=0 n=0 nnw=0
  for p in "${programs[@]}"; do
    nat=$(best_run "$p.native" "$dir/native/$p")
    ex=$(best_run "$p.exec" "$stratus" exec "$dir/wasi/$p.wasm")
    nw=none
    if [ -n "$node" ]; then nw=$(best_run "$p.nodewasi" "$node" --no-warnings "$here/run_node_wasi.mjs" "$dir/wasi/$p.wasm"); fi
    check=same
    if [ "$nat" = FAIL ] || [ "$ex" = FAIL ] || ! cmp -s "$tmp/$p.native.out" "$tmp/$p.exec.out"; then
      check="MISMATCH (exec)"
      status=1
    fi
    if [ "$nw" != none ] && { [ "$nw" = FAIL ] || ! cmp -s "$tmp/$p.native.out" "$tmp/$p.nodewasi.out"; }; then
      check="$check MISMATCH (node)"
      status=1
    fi
    if [ "$nat" = FAIL ] || [ "$ex" = FAIL ]; then
      printf '%-11s %10s %11s %10s %14s %12s  %s\n' "$p" "$nat" "$ex" "$nw" - - "$check"
      continue
    fi
    r_ex=$(ratio "$ex" "$nat")
    log_exec=$(awk -v s="$log_exec" -v r="$r_ex" 'BEGIN { print s + log(r) }')
    n=$((n + 1))
    r_nw=- nw_ms=-
    if [ "$nw" != none ] && [ "$nw" != FAIL ]; then
      r_nw=$(ratio "$nw" "$nat")
      nw_ms=$(ms "$nw")
      log_nw=$(awk -v s="$log_nw" -v r="$r_nw" 'BEGIN { print s + log(r) }')
      nnw=$((nnw + 1))
    fi
    printf '%-11s %10s %11s %10s %14s %12s  %s\n' "$p" "$(ms "$nat")" "$(ms "$ex")" "$nw_ms" "$r_ex" "$r_nw" "$check"
  done
  if [ $n -gt 0 ]; then
    gm_nw=-
    if [ $nnw -gt 0 ]; then gm_nw=$(awk -v s="$log_nw" -v n="$nnw" 'BEGIN { printf "%.2f", exp(s / n) }'); fi
    printf '%-11s %10s %11s %10s %14s %12s\n' geomean "" "" "" \
      "$(awk -v s="$log_exec" -v n="$n" 'BEGIN { printf "%.2f", exp(s / n) }')" "$gm_nw"
  fi
else
  echo "run.sh: no $stratus: the WASI comparison is left out (build the stratus target)" >&2
fi

size=$(stat -c %s "$dir/wasm/startup.wasm")
echo
echo "startup: load + validate + instantiate of startup.wasm ($((size / 1024)) KB, wasm32-wasi C with libc):"
echo -n "  stratus: "
"$driver" --startup 50 "$dir/wasm/startup.wasm" | sed 's/^ *//' || status=1
if [ -n "$node" ]; then
  "$node" "$here/run_node.cjs" --startup 50 "$dir/wasm/startup.wasm" || status=1
fi
exit $status
