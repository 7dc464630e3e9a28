#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks that keys are only
# built from validated identifiers, builds with warnings as errors, and runs
# the unit tests and the integration tests (which start their own
# redis-server and stockd processes on free ports; among them the status
# page in chromium headless and stockctl top under tmux), checks the image
# recipe, the Kubernetes manifests and the monitoring rules and dashboard
# (deploy/check.sh), the integration suite
# again with stockd under valgrind, both suites again on an ASan+UBSan
# build (any report fails the run), and each libFuzzer target for
# FUZZ_SECONDS (15 s) from its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/deps.sh
bash tools/check_keys.sh

build=${BUILD_DIR:-build}
jobs=$(nproc)

# Integration tests mostly wait (on Redis, timers, other processes): two at
# a time halves the pass. Each has its own Redis (or cluster), stockd and
# ports.
itest_jobs=2

run_suites() { # build dir, build type
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" -DSTOCKD_WERROR=ON -DSTOCKD_TESTS=ON >/dev/null
  cmake --build "$1" -j"$jobs"
  (cd "$1" && ctest --no-tests=error --output-on-failure -L unit &&
    ctest --no-tests=error --output-on-failure -L integration -j"$itest_jobs")
}

echo "== release build =="
run_suites "$build" RelWithDebInfo

echo "== deploy: image recipe and Kubernetes manifests =="
bash deploy/check.sh "$build"

echo "== integration suite with stockd under valgrind =="
# Any memcheck error or definite leak makes stockd exit 99, which fails the
# test that stopped it. The Redis Cluster tests (label cluster) run in the
# release and ASan passes only: they would double this pass's time. So does
# the browser test (label browser), which starts its own stockd. Two tests
# at a time (400 s serially, 230 s so), but for itest_harness, whose
# start-up deadline for a stockd it gives up on does not allow for a second
# valgrind beside it: it runs alone after.
(cd "$build" && STOCKD_VALGRIND=1 ctest --no-tests=error --output-on-failure -L integration \
  -LE 'cluster|browser' -E '^integration_harness$' -j"$itest_jobs" &&
  STOCKD_VALGRIND=1 ctest --no-tests=error --output-on-failure -R '^integration_harness$')

echo "== ASan + UBSan build =="
# A sanitizer report makes the process exit non-zero; stockd runs under the
# same options, so a report in it fails the test that stopped it.
export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suites "$build-sanitize" Asan

echo "== fuzz: ${FUZZ_SECONDS:-15} s per target =="
CC=clang cmake -S . -B "$build-fuzz" -DSTOCKD_FUZZ=ON -DSTOCKD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build-fuzz" -j"$jobs" --target fuzz_framer fuzz_rpc fuzz_validate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in framer rpc validate; do
  mkdir -p "$work/$target"
  # New inputs go to a scratch corpus; the seeds in fuzz/corpus only read.
  if ! "$build-fuzz/fuzz/fuzz_$target" -max_total_time="${FUZZ_SECONDS:-15}" \
      -print_final_stats=1 -artifact_prefix="$work/$target-" \
      "$work/$target" "fuzz/corpus/$target" >"$work/$target.log" 2>&1; then
    tail -n 40 "$work/$target.log"
    echo "fuzz_$target failed; the input is in $work" >&2
    trap - EXIT
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
  echo "fuzz_$target: $runs runs, no crash, no broken invariant"
done
