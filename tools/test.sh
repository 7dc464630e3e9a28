#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as
# errors, and runs the unit tests and the integration tests (which start
# their own redis-server and stockd processes on free ports).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/deps.sh

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTOCKD_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

cd "$build"
ctest --output-on-failure -L unit
ctest --output-on-failure -L integration
