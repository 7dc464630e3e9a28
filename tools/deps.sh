#!/usr/bin/env bash
# Installs the Debian (bookworm) packages stockd needs to build, run and
# test, when any is missing. Needs root or sudo for apt-get.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev libhiredis-dev libcjson-dev libcmocka-dev
  libcurl4-openssl-dev libssl-dev libpq-dev postgresql
  redis-server redis-tools netcat-openbsd
  clang libclang-rt-14-dev valgrind prometheus
  chromium chromium-driver tmux
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm (the Node example, the manifest validation) may come
# from elsewhere than Debian: only install them when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
