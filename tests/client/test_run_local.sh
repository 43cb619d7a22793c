#!/usr/bin/env bash
# The README's main job end to end: scripts/run-local.sh BUILD_DIR --once
# brings the stack up with `stratus up`, runs hello through it with
# `stratus run --wait` (its output and exit code shown), prints the
# dashboard's address, and stops everything. Run with a private state
# directory so it never meets the user's stack.
set -uo pipefail
builddir=$1
script=$2
state=$(mktemp -d "${TMPDIR:-/tmp}/stratus-run-local-XXXXXX")
trap 'rm -rf "$state"' EXIT
out=$(STRATUS_STATE_DIR=$state timeout 120 "$script" "$builddir" --once 2>&1)
status=$?
echo "$out"
fail() { echo "test_run_local: $1" >&2; exit 1; }
[ "$status" = 0 ] || fail "run-local.sh exited with $status"
grep -q "^Hello from Stratus!$" <<<"$out" || fail "no output of hello"
grep -q "^arg 4: stack$" <<<"$out" || fail "hello's arguments missing"
grep -q "== the module exited with code 0" <<<"$out" || fail "no exit code shown"
grep -q "== the dashboard: http://127.0.0.1:[0-9]*/" <<<"$out" || fail "no dashboard address"
[ ! -e "$state/up.json" ] || fail "the stack's up file is left behind"
echo "test_run_local: ok"
