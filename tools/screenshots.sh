#!/usr/bin/env bash
# Regenerates the README's screenshots in docs/screenshots/: the status page
# (ui-overview.png, ui-stock.png, ui-reservation.png, ui-ledger.png), taken
# by the browser test (tests/browser/ui.mjs) against its own stockd, Redis,
# demo catalogue and load; and stockctl top (top.png), run under tmux and
# captured with its colours (tools/screenshots/top.mjs).
#
#   tools/screenshots.sh                   builds stockd and stockctl in build/
#   BUILD_DIR=dir tools/screenshots.sh     takes them from dir, builds nothing
#
# Needs node, chromium, chromedriver, tmux and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node chromium chromedriver tmux redis-server; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool is not installed" >&2; exit 1; }
done

if [ -n "${BUILD_DIR:-}" ]; then
  build=$BUILD_DIR
else
  build=build
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target stockd stockctl
fi

out=docs/screenshots
mkdir -p "$out"

echo "screenshots: the status page"
STOCKD_SCREENSHOT_DIR="$out" node tests/browser/ui.mjs "$build/stockd"

echo "screenshots: stockctl top"
if ! node tools/screenshots/top.mjs "$build/stockd" "$build/stockctl" "$out/top.png"; then
  echo "screenshots: top.png NOT regenerated (see the message above)" >&2
  exit 1
fi

ls -l "$out"
