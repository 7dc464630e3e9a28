# The loopback rehearsals' shared steps (sourced by rehearse-*.sh, which
# set OVERLAY, the work dir W and the array pids of the processes they
# start): stopping a process, the cleanup at exit, and the ok/FAIL lines.
# Stops a process and waits for it, 10 s at most (then SIGKILL); returns
# its exit status, or 137 after the SIGKILL.
stop() {
  local i
  kill "$1" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return; }
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 137
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p"; done
  rm -rf "$W"
}
trap cleanup EXIT

ok() { echo "ok   $OVERLAY: rehearsal: $*"; }
fail() {
  echo "FAIL $OVERLAY: rehearsal: $*"
  exit 1
}
