#!/usr/bin/env bash
# Engine benchmark: every program natively (gcc -O2) and as a WASI command on
# `stratus exec` (the interpreter, "stratus") and in the compiled tier
# (`stratus exec --engine aot`, "aot": compiled first, into a private cache,
# with the compile time per KiB of wasm reported), and on the peer runtimes
# given by environment variables:
#   WASM3=/path/to/wasm3   WAMR=/path/to/iwasm   NODE=/path/to/node (or "none")
# (node is looked for on PATH unless NODE=none). Each program times its own
# run() and prints run_us=N on stderr, so start-up and compilation are not in
# the figure. Runs are interleaved (every runtime once, then again), BENCH_REPS
# times (default 3); the median counts. Every runtime's output must equal
# native's. Prints per-program times and ratios to native and the geometric
# means of the two groups (the mix, and the PolyBench-like loop nests).
#
# Then start-up: `stratus exec hello.wasm` against the native hello and the
# peers (hyperfine when installed, else a plain loop), peak RSS and page
# faults, the same for a hello declaring 65,536 pages, and a cached compiled
# hello (`--engine aot`, and `--engine auto` as the runtimes run it).
#
# AOT_CC=gcc|clang picks the compiled tier's C compiler (default: its own
# choice, see docs/engine.md).
#
# usage: bench/engine/run.sh BUILD_DIR   (a release build, `make release`)
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
dir=$build/bench/engine
stratus=$build/src/cli/stratus
reps=${BENCH_REPS:-3}
for f in "$stratus" "$dir/programs.sh" "$dir/wasm/hello.wasm"; do
  if [ ! -e "$f" ]; then
    echo "run.sh: $f is missing: build $build first (make release)" >&2
    exit 2
  fi
done
# shellcheck source=/dev/null
. "$dir/programs.sh" # mix=(...) nests=(...)
node=${NODE:-$(command -v node || true)}
[ "$node" = none ] && node=

names=(native stratus aot)
declare -A cmd
cmd[native]=
cmd[stratus]="$stratus exec"
cmd[aot]="$stratus exec --engine aot"
if [ -n "${WASM3:-}" ]; then names+=(wasm3); cmd[wasm3]=$WASM3; fi
if [ -n "${WAMR:-}" ]; then names+=(wamr); cmd[wamr]=$WAMR; fi
if [ -n "$node" ]; then names+=(node); cmd[node]="$node --no-warnings $here/run_node_wasi.mjs"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export STRATUS_AOT_CACHE=$tmp/aot-cache
[ -n "${AOT_CC:-}" ] && export STRATUS_CC=$AOT_CC

# The compiled tier: every program compiled once before the runs, timed.
compile_ms=0
compile_kib=0
for p in "${mix[@]}" "${nests[@]}"; do
  w=$dir/wasi/$p.wasm
  out=$("$stratus" compile "$w") || { echo "run.sh: compile of $p failed" >&2; exit 1; }
  ms=$(sed -n 's/.*compiled in \([0-9]*\) ms.*/\1/p' <<<"$out")
  compile_ms=$((compile_ms + ${ms:-0}))
  compile_kib=$((compile_kib + $(stat -c %s "$w") / 1024))
done
"$stratus" compile "$dir/wasm/hello.wasm" >/dev/null
compiler=$(cut -f2 "$STRATUS_AOT_CACHE/compilers" 2>/dev/null | head -n 1)
printf 'compiled tier: %d KiB of wasm compiled in %d ms (%.1f ms per KiB) by %s\n' \
  "$compile_kib" "$compile_ms" "$(awk -v a="$compile_ms" -v b="$compile_kib" 'BEGIN { print a / b }')" \
  "${compiler:-?}"

# run_once RUNTIME PROGRAM: appends run_us to $tmp/PROGRAM.RUNTIME.times and
# checks the output against native's ("FAIL" in the times file otherwise).
run_once() {
  local rt=$1 p=$2 out=$tmp/$2.$1.out err=$tmp/$2.$1.err
  local -a c
  if [ "$rt" = native ]; then
    c=("$dir/native/$p")
  else
    read -r -a c <<<"${cmd[$rt]}"
    c+=("$dir/wasi/$p.wasm")
  fi
  if ! "${c[@]}" >"$out" 2>"$err"; then
    echo "run.sh: $p on $rt failed: $(tail -n 2 "$err")" >&2
    echo FAIL >>"$tmp/$p.$rt.times"
    return
  fi
  if [ "$rt" != native ] && ! cmp -s "$out" "$tmp/$p.native.out"; then
    echo "run.sh: $p on $rt printed other results than native" >&2
    echo FAIL >>"$tmp/$p.$rt.times"
    return
  fi
  sed -n 's/^run_us=//p' "$err" | tail -n 1 >>"$tmp/$p.$rt.times"
}

median() { # FILE: the median, or FAIL if any run failed
  if grep -q FAIL "$1"; then echo FAIL; else sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; fi
}

status=0
for ((r = 0; r < reps; r++)); do
  for p in "${mix[@]}" "${nests[@]}"; do
    for rt in "${names[@]}"; do run_once "$rt" "$p"; done
  done
done

report() { # GROUP-NAME PROGRAMS...
  local group=$1
  shift
  printf '\n%s (median of %d interleaved runs, ms; ratio to native)\n' "$group" "$reps"
  printf '%-12s' program
  for rt in "${names[@]}"; do printf ' %14s' "$rt"; done
  printf '\n'
  declare -A logsum=() count=()
  for p in "$@"; do
    local nat
    nat=$(median "$tmp/$p.native.times")
    printf '%-12s' "$p"
    for rt in "${names[@]}"; do
      local m
      m=$(median "$tmp/$p.$rt.times")
      if [ "$m" = FAIL ] || [ "$nat" = FAIL ]; then
        printf ' %14s' FAIL
        status=1
        continue
      fi
      if [ "$rt" = native ]; then
        printf ' %14s' "$(awk -v u="$m" 'BEGIN { printf "%.1f", u / 1000 }')"
      else
        local ratio
        ratio=$(awk -v a="$m" -v b="$nat" 'BEGIN { printf "%.2f", a / b }')
        printf ' %14s' "$(awk -v u="$m" -v r="$ratio" 'BEGIN { printf "%.0f (%.2fx)", u / 1000, r }')"
        logsum[$rt]=$(awk -v s="${logsum[$rt]:-0}" -v r="$ratio" 'BEGIN { print s + log(r) }')
        count[$rt]=$((${count[$rt]:-0} + 1))
      fi
    done
    printf '\n'
  done
  printf '%-12s %14s' geomean ""
  for rt in "${names[@]}"; do
    [ "$rt" = native ] && continue
    if [ "${count[$rt]:-0}" -gt 0 ]; then
      printf ' %14s' "$(awk -v s="${logsum[$rt]}" -v n="${count[$rt]}" 'BEGIN { printf "%.2fx", exp(s / n) }')"
    else
      printf ' %14s' -
    fi
  done
  printf '\n'
}
report "mix" "${mix[@]}"
report "loop nests (PolyBench-like)" "${nests[@]}"

# --- start-up ---------------------------------------------------------------
echo
echo "start-up: hello world (whole process)"
starters=("native:$dir/native/hello" "stratus:$stratus exec $dir/wasm/hello.wasm"
  "stratus-4gib:$stratus exec $dir/wasm/hello_4gib.wasm"
  "aot-cached:$stratus exec --engine aot $dir/wasm/hello.wasm"
  "auto-cached:$stratus exec --engine auto $dir/wasm/hello.wasm")
[ -n "${WASM3:-}" ] && starters+=("wasm3:$WASM3 $dir/wasm/hello.wasm")
[ -n "${WAMR:-}" ] && starters+=("wamr:$WAMR $dir/wasm/hello.wasm")
if command -v hyperfine >/dev/null; then
  hf=()
  for s in "${starters[@]}"; do hf+=(-n "${s%%:*}" "${s#*:}"); done
  hyperfine -N -w 20 -r "${BENCH_STARTUP_RUNS:-300}" --export-csv "$tmp/start.csv" "${hf[@]}" \
    >/dev/null 2>&1 || status=1
  # command,mean,stddev,median,user,system,min,max (seconds)
  awk -F, 'NR == 2 { base = $4 } NR > 1 {
    printf "  %-14s median %6.3f ms  (+%6.3f ms vs native)  mean %6.3f ms\n", $1, $4 * 1e3, ($4 - base) * 1e3, $2 * 1e3 }' \
    "$tmp/start.csv"
else
  echo "  (hyperfine not installed: apt-get install hyperfine)"
fi
for s in "${starters[@]}"; do
  name=${s%%:*}
  read -r -a c <<<"${s#*:}"
  rss=$( { /usr/bin/time -f '%M' "${c[@]}" >/dev/null; } 2>&1 | tail -n 1)
  faults=-
  if command -v perf >/dev/null; then
    faults=$(perf stat -x, -e page-faults -r 20 "${c[@]}" 2>&1 >/dev/null | awk -F, '/page-faults/ { print $1 }' || true)
  fi
  printf '  %-14s peak RSS %6s KB  page faults %s\n' "$name" "$rss" "${faults:--}"
done
echo
echo -n "in-process load + validate + instantiate of startup.wasm ($(($(stat -c %s "$dir/wasm/startup.wasm") / 1024)) KB): "
"$dir/bench_engine" --startup 50 "$dir/wasm/startup.wasm" | sed 's/^ *//' || status=1
exit $status
