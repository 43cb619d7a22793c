#!/usr/bin/env bash
# The README's main job: a local stack on this machine. Starts `stratus up`
# (a private mosquitto, the orchestrator with its dashboard, a manager with a
# linux/minimal and a linux runtime) in the background with the build's
# examples as its module directory, runs the `hello` example through the
# orchestrator with `stratus run --wait` (its output and exit code), then
# shows the dashboard's address and the next commands to try, and keeps the
# stack up until Ctrl-C, which stops everything. With --once it stops right
# after the example and exits with its exit code.
#
# usage: scripts/run-local.sh BUILD_DIR [--once]
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [--once]" >&2; exit 2; }
[ $# -ge 1 ] || usage
builddir=$1
once=0
shift
for arg in "$@"; do
  case "$arg" in
    --once) once=1 ;;
    *) usage ;;
  esac
done

stratus=$(realpath "$builddir/src/cli/stratus" 2>/dev/null || true)
[ -n "$stratus" ] && [ -x "$stratus" ] || { echo "run-local: no stratus binary in $builddir (build first)" >&2; exit 1; }
examples=$(realpath "$builddir/examples")
[ -f "$examples/hello.wasm" ] || { echo "run-local: no $examples/hello.wasm (build first)" >&2; exit 1; }

log=$(mktemp "${TMPDIR:-/tmp}/stratus-up-XXXXXX")
up_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    echo "== stopping the stack"
    kill -TERM "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== stratus up (modules from $examples)"
# `up` stops its broker, orchestrator and manager when it ends, and they end
# with it even if it is killed.
"$stratus" up --module-dir "$examples" >"$log" 2>&1 &
up_pid=$!
for _ in $(seq 1 600); do
  grep -q "Ctrl-C stops everything." "$log" && break
  kill -0 "$up_pid" 2>/dev/null || break
  sleep 0.05
done
if ! grep -q "Ctrl-C stops everything." "$log"; then
  cat "$log" >&2
  echo "run-local: the stack did not come up" >&2
  exit 1
fi
grep -v "Ctrl-C stops everything." "$log"

echo
echo "== stratus run --wait hello.wasm -- from the local stack"
set +e
"$stratus" run --wait hello.wasm -- from the local stack
code=$?
set -e
echo "== the module exited with code $code"

dashboard=$(sed -n 's/^  dashboard *//p' "$log")
echo
echo "== the dashboard: $dashboard"
echo "== try, in another terminal (the commands find this stack by themselves):"
echo "     $stratus run --wait hello.wasm -- a b c"
echo "     $stratus run --runtime linux counter.wasm     # runs until stopped"
echo "     $stratus list"
echo "     $stratus status"
echo "     $stratus logs hello"
echo "     $stratus stop counter"
if [ "$once" = 1 ]; then
  exit "$code"
fi
echo "== running; Ctrl-C stops everything"
wait "$up_pid"
