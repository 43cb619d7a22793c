#!/usr/bin/env bash
# Installs the Debian packages Stratus needs to build, test and run.
# Idempotent: safe to run any number of times. chromium and chromium-driver
# are for the dashboard's test in a real headless browser.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang lld llvm libclang-rt-14-dev
  libclang-rt-14-dev-wasm32 wasi-libc wabt
  libmosquitto-dev mosquitto mosquitto-clients
  libjansson-dev libcmocka-dev openssl
  libsqlite3-dev sqlite3
  chromium chromium-driver
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The mosquitto package starts a system broker on port 1883; Stratus tests
# start their own brokers on free ports, so the system one is not needed.
echo "install-deps: installed ${missing[*]}"
