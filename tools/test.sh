#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as
# errors, and runs the unit tests and the integration tests (which start
# their own redis-server and stockd processes on free ports). Then the same
# suites again on an ASan+UBSan build, where any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/deps.sh

build=${BUILD_DIR:-build}
jobs=$(nproc)

run_suites() { # build dir, build type
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" -DSTOCKD_WERROR=ON -DSTOCKD_TESTS=ON >/dev/null
  cmake --build "$1" -j"$jobs"
  (cd "$1" && ctest --no-tests=error --output-on-failure -L unit && ctest --no-tests=error --output-on-failure -L integration)
}

echo "== release build =="
run_suites "$build" RelWithDebInfo

echo "== ASan + UBSan build =="
# A sanitizer report makes the process exit non-zero; stockd runs under the
# same options, so a report in it fails the test that stopped it.
export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suites "$build-sanitize" Asan
