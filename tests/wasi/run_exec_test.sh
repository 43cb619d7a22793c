#!/bin/bash
# Runs one WASI test program through `stratus exec` and checks its exit
# status, its stdout (against a file, or "md5:DIGEST:BYTES" for big output)
# and, with --fs, that the sandbox held: the program gets a fresh directory
# as /sandbox next to a directory "outside" that must come out unchanged.
#
# usage: run_exec_test.sh STRATUS WASM EXPECTED STATUS [--fs] [--stdin FILE]
#                         [--stdin-pipe FILE] [--stderr-has TEXT] [-- EXEC-OPTIONS... -- ARGS...]
set -u
stratus=$1 wasm=$2 expected=$3 want_status=$4
shift 4
fs=0 stdin=/dev/null pipe=0 stderr_has=
while [ $# -gt 0 ]; do
  case $1 in
    --fs) fs=1; shift ;;
    --stdin) stdin=$2; shift 2 ;;
    --stdin-pipe) stdin=$2; pipe=1; shift 2 ;;
    --stderr-has) stderr_has=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_exec_test: unknown option $1" >&2; exit 2 ;;
  esac
done
exec_opts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  exec_opts+=("$1")
  shift
done
# The same program in another tier (the compiled tier's variants of these
# tests set STRATUS_TEST_ENGINE=aot).
[ -n "${STRATUS_TEST_ENGINE:-}" ] && exec_opts+=(--engine "$STRATUS_TEST_ENGINE")
[ $# -gt 0 ] && shift

work=$(mktemp -d /tmp/stratus-wasi-test.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
if [ $fs = 1 ]; then
  mkdir "$work/box" "$work/outside"
  echo secret > "$work/outside/secret"
  echo "hello file" > "$work/box/data.txt"
  ln -s /etc "$work/box/etc_link"
  ln -s ../outside "$work/box/up"
  exec_opts+=(--dir "$work/box:/sandbox")
  before=$(cd "$work" && find outside -printf '%p %s %m %T@\n' | sort; md5sum outside/secret)
fi

if [ $pipe = 1 ]; then
  # Through a pipe, so that reads block until data arrives.
  cat "$stdin" | "$stratus" exec "${exec_opts[@]}" "$wasm" "$@" >"$work/stdout" 2>"$work/stderr"
  status=${PIPESTATUS[1]}
else
  "$stratus" exec "${exec_opts[@]}" "$wasm" "$@" <"$stdin" >"$work/stdout" 2>"$work/stderr"
  status=$?
fi
fail=0
if [ "$status" != "$want_status" ]; then
  echo "FAIL: exit status $status, expected $want_status"
  fail=1
fi
case $expected in
  md5:*)
    want_md5=$(echo "$expected" | cut -d: -f2)
    want_len=$(echo "$expected" | cut -d: -f3)
    got_md5=$(md5sum <"$work/stdout" | cut -d' ' -f1)
    got_len=$(wc -c <"$work/stdout")
    if [ "$got_md5" != "$want_md5" ] || [ "$got_len" -ne "$want_len" ]; then
      echo "FAIL: stdout is $got_len bytes, md5 $got_md5; expected $want_len bytes, md5 $want_md5"
      fail=1
    fi ;;
  -) ;;
  *)
    if ! diff -u "$expected" "$work/stdout"; then
      echo "FAIL: stdout differs from $expected"
      fail=1
    fi ;;
esac
if [ -n "$stderr_has" ] && ! grep -qF "$stderr_has" "$work/stderr"; then
  echo "FAIL: stderr lacks '$stderr_has'"
  fail=1
fi
if [ $fs = 1 ]; then
  after=$(cd "$work" && find outside -printf '%p %s %m %T@\n' | sort; md5sum outside/secret)
  if [ "$before" != "$after" ]; then
    echo "FAIL: the directory outside the sandbox changed"
    echo "before: $before"
    echo "after: $after"
    fail=1
  fi
  if [ -e /etc/stratus_escape_test ]; then
    echo "FAIL: /etc/stratus_escape_test was created"
    fail=1
  fi
fi
if [ $fail = 1 ]; then
  echo "--- stderr:"
  cat "$work/stderr"
fi
exit $fail
