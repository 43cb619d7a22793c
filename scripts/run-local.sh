#!/usr/bin/env bash
# The README's main job: a local stack on this machine. Starts a private
# mosquitto (port 1883 if free, else another free port), subscribes to the
# realm's topics, starts `stratus manager` with a `linux/minimal` runtime whose
# modules come from the build's examples/, shows the registrations, then
# creates the `hello` example module over MQTT and shows its output and its
# exit. Then it keeps running until Ctrl-C (printing how to start more
# modules); with --once it exits after the module's exit. Everything it
# started is stopped on exit.
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

stratus="$builddir/src/cli/stratus"
[ -x "$stratus" ] || { echo "run-local: no stratus binary at $stratus (build first)" >&2; exit 1; }
examples=$(realpath "$builddir/examples")
[ -f "$examples/hello.wasm" ] || { echo "run-local: no $examples/hello.wasm (build first)" >&2; exit 1; }

find_tool() {
  local name=$1 d
  for d in /usr/sbin /usr/local/sbin /usr/bin /usr/local/bin; do
    [ -x "$d/$name" ] && { echo "$d/$name"; return 0; }
  done
  command -v "$name" || return 1
}
mosquitto=$(find_tool mosquitto) || { echo "run-local: mosquitto not found (make deps)" >&2; exit 1; }
mosquitto_sub=$(find_tool mosquitto_sub) || { echo "run-local: mosquitto_sub not found (make deps)" >&2; exit 1; }
mosquitto_pub=$(find_tool mosquitto_pub) || { echo "run-local: mosquitto_pub not found (make deps)" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=1883
if port_in_use "$port"; then
  port=""
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! port_in_use "$candidate"; then port=$candidate; break; fi
  done
  [ -n "$port" ] || { echo "run-local: no free port found" >&2; exit 1; }
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/stratus-local-XXXXXX")
manager_pid="" tail_pid="" sub_pid="" broker_pid=""
cleanup() {
  trap - EXIT INT TERM
  # The manager first, while the broker still runs, so that its
  # unregistration is published; then the rest.
  local pid
  for pid in $manager_pid $tail_pid $sub_pid $broker_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$workdir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
EOF
# The broker and the subscriber run in sessions of their own, so that Ctrl-C
# reaches only the manager (and this script): the manager then still has a
# broker to publish its unregistration to, and the subscriber shows it.
setsid "$mosquitto" -c "$workdir/mosquitto.conf" >"$workdir/mosquitto.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 100); do port_in_use "$port" && break; sleep 0.05; done
port_in_use "$port" || { echo "run-local: mosquitto did not start:" >&2; cat "$workdir/mosquitto.log" >&2; exit 1; }
echo "== mosquitto listening on 127.0.0.1:$port"

realm=realm
# Subscribe before the manager starts so no registration is missed; -v shows
# the topic next to each message.
setsid "$mosquitto_sub" -h 127.0.0.1 -p "$port" -V mqttv5 -v -t "$realm/proc/reg/#" \
  >"$workdir/registrations" 2>&1 &
sub_pid=$!
setsid "$mosquitto_sub" -h 127.0.0.1 -p "$port" -V mqttv5 -v -t "$realm/proc/control/+" \
  -t "$realm/proc/stdio/+" >"$workdir/modules" 2>&1 &
sub_pid="$sub_pid $!"
sleep 0.3

echo "== stratus manager (logs below)"
"$stratus" manager --mqtt "127.0.0.1:$port" --realm "$realm" --name "$(hostname -s 2>/dev/null || echo local)" \
  --runtime linux/minimal:local --module-dir "$examples" &
manager=$!
manager_pid=$manager

# Wait for the manager's and the runtime's registrations (two messages).
for _ in $(seq 1 100); do
  [ "$(grep -c '"action":"create"\|"action": "create"' "$workdir/registrations" || true)" -ge 2 ] && break
  kill -0 "$manager" 2>/dev/null || break
  sleep 0.05
done
echo "== registrations published on $realm/proc/reg/#:"
cat "$workdir/registrations"
if [ "$(grep -c '"action":"create"\|"action": "create"' "$workdir/registrations" || true)" -lt 2 ]; then
  echo "run-local: the manager did not register (see its log above)" >&2
  exit 1
fi

runtime=$(grep '"runtime_type"' "$workdir/registrations" | head -1 |
  sed -n 's/.*"type":"runtime","uuid":"\([0-9a-f-]*\)".*/\1/p')
[ -n "$runtime" ] || { echo "run-local: no runtime uuid in the registration" >&2; exit 1; }
module=$(cat /proc/sys/kernel/random/uuid)
create() { # create FILE MODULE_UUID ARGS_JSON
  printf '{"object_id":"%s","action":"create","type":"req","data":{"type":"module","uuid":"%s","name":"%s","file":"%s","args":%s}}' \
    "$(cat /proc/sys/kernel/random/uuid)" "$2" "${1%.wasm}" "$1" "$3"
}
echo "== creating module hello ($module) on runtime $runtime"
"$mosquitto_pub" -h 127.0.0.1 -p "$port" -t "$realm/proc/control/$runtime" \
  -m "$(create hello.wasm "$module" '{"argv":["from","the","local","stack"]}')"
for _ in $(seq 1 100); do
  grep -q '"action":"exited"' "$workdir/modules" && break
  sleep 0.05
done
echo "== module traffic on $realm/proc/control/+ and $realm/proc/stdio/+:"
cat "$workdir/modules"
grep -q '"action":"exited"' "$workdir/modules" || { echo "run-local: the module did not report its exit" >&2; exit 1; }

if [ "$once" = 1 ]; then
  exit 0
fi
echo "== running; Ctrl-C stops the manager and the broker"
echo "== run another module (examples in $examples):"
echo "   $mosquitto_pub -h 127.0.0.1 -p $port -t $realm/proc/control/$runtime -m '$(create hello.wasm "$(cat /proc/sys/kernel/random/uuid)" '{}')'"
echo "== messages from now on (the unregistration shows on Ctrl-C):"
tail -n 0 -f "$workdir/registrations" "$workdir/modules" &
tail_pid=$!
wait "$manager"
