#!/usr/bin/env bash
# Checks the monitoring files: deploy/prometheus/alerts.yaml (promtool check
# rules, its unit tests with promtool test rules, and that each alert has
# its severity, annotations, runbook section and tests), the Grafana
# dashboard deploy/grafana/stockd.json (parses, sane, its PromQL parses),
# and that every metric and label named in either is really exposed: it
# starts a redis-server (temp dir, Unix socket), stockd with a webhook URL
# on a closed port (so the webhook metrics exist) and stockd-export (no
# PostgreSQL), and a 3-master Redis Cluster on loopback addresses with a
# second stockd following it; each stockd answers one request; then it
# scrapes the three /metrics and compares. A self-test proves that a
# misspelt metric and label fail that comparison.
#
#   bash deploy/validate/monitoring.sh BUILD_DIR    (BUILD_DIR holds a built stockd and
#                                                   tools/stockd-export/stockd-export)
#
# Called by deploy/check.sh (section f). One "ok"/"FAIL" line per check;
# exits 1 if one failed.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bash deploy/validate/monitoring.sh BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "FAIL monitoring: no directory $1"; exit 1; }
STOCKD="$BUILD_DIR/stockd"
EXPORTER="$BUILD_DIR/tools/stockd-export/stockd-export"
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
ALERTS="deploy/prometheus/alerts.yaml"
TESTS="deploy/prometheus/alerts.test.yaml"
DASHBOARD="deploy/grafana/stockd.json"
DOC="docs/monitoring.md"
MJS="$ROOT/deploy/validate/monitoring.mjs"

failed=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failed=1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# promtool comes with Debian's prometheus package (only the tool is used).
if ! command -v promtool >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $sudo apt-get install -y -qq --no-install-recommends prometheus; } >"$TMP/apt.log" 2>&1
  if ! command -v promtool >/dev/null; then
    fail "monitoring: no promtool and apt-get install prometheus failed: $(tail -1 "$TMP/apt.log")"
    exit 1
  fi
fi

# monitoring.mjs reads YAML with deploy/validate's pinned packages.
if [ ! -d deploy/validate/node_modules/yaml ] &&
   ! (cd deploy/validate && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1; then
  fail "monitoring: npm ci in deploy/validate: $(grep -m1 -i err "$TMP/npm.log")"
  exit 1
fi

# ---- the rules -------------------------------------------------------------------
if out=$(promtool check rules "$ALERTS" 2>&1); then
  ok "promtool check rules $ALERTS: $(grep -o '[0-9]* rules found' <<<"$out")"
else
  fail "promtool check rules $ALERTS: $(grep -v '^Checking' <<<"$out" | head -3 | tr '\n' ' ')"
fi
if out=$(promtool test rules "$TESTS" 2>&1); then
  ok "promtool test rules $TESTS: $(grep -c '^  - name:' "$TESTS") cases pass"
else
  fail "promtool test rules $TESTS: $(grep -v '^Unit Testing' <<<"$out" | grep -v '^ *$' | head -12 | tr -s ' \n' ' ')"
fi
node "$MJS" rules "$ALERTS" "$TESTS" "$DOC" || failed=1

# ---- the dashboard ---------------------------------------------------------------
node "$MJS" dashboard "$DASHBOARD" || failed=1
# promtool parses the dashboard's PromQL when it is written as recording rules.
if n=$(node "$MJS" dashboard-rules "$DASHBOARD" "$TMP/dashboard-rules.json" 2>&1) &&
   out=$(promtool check rules "$TMP/dashboard-rules.json" 2>&1); then
  ok "dashboard PromQL: all $n expressions parse (promtool check rules, Grafana's variables replaced)"
else
  fail "dashboard PromQL: $n $(grep -v '^Checking' <<<"$out" | head -3 | tr '\n' ' ')"
fi

# ---- the names against a running stockd and stockd-export -------------------------
if [ ! -x "$STOCKD" ] || [ ! -x "$EXPORTER" ]; then
  fail "metric names: no stockd or stockd-export in $BUILD_DIR"
  exit 1
fi
# Reads "health and metrics on http://127.0.0.1:PORT/" from a log.
http_port() {
  local i port
  for ((i = 0; i < 50; i++)); do
    port=$(sed -n 's#.*health and metrics on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$1" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# GET PORT PATH -> the body (HTTP/1.0: the server closes when done).
get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  sed '1,/^\r\{0,1\}$/d' <&3
  exec 3<&-
}
# Waits up to $1 seconds for the command after it to succeed.
within() {
  local t=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$t" ] || return 1
    sleep 0.1
  done
}
# A clean environment: no STOCKD_* or PG* of the caller's.
run_env=(env -i PATH="$PATH" HOME="$TMP")
# Starts stockd (NAME ARGS...): its log is $TMP/NAME.log; sets HTTP_PORT and
# LISTEN_PORT, or fails and returns 1.
start_stockd() {
  local name=$1 pid
  shift
  "${run_env[@]}" "$STOCKD" --listen 127.0.0.1:0 --http 127.0.0.1:0 "$@" >"$TMP/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  HTTP_PORT=$(http_port "$TMP/$name.log" "$pid") || { fail "metric names: $name did not start: $(tail -1 "$TMP/$name.log")"; return 1; }
  LISTEN_PORT=$(sed -n 's#.*listening on 127\.0\.0\.1:\([0-9]*\).*#\1#p' "$TMP/$name.log" | head -1)
}
# One answered request (PORT), so that the per-method series (requests,
# latency) have samples and labels.
request() {
  local answer=""
  if [ -n "$1" ] && exec 3<>"/dev/tcp/127.0.0.1/$1"; then
    printf '{"jsonrpc":"2.0","id":1,"method":"stock.get","params":{"sku":"MONITORING-CHECK"}}\n' >&3
    read -r -t 5 answer <&3
    exec 3<&-
  fi
  [ -n "$answer" ]
}

# 1. One Redis: stockd with a webhook URL on a closed port, and
# stockd-export with an unreachable PostgreSQL (its series exist anyway).
redis-server --port 0 --unixsocket "$TMP/redis.sock" --dir "$TMP" --save '' --appendonly no \
  >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
within 5 test -S "$TMP/redis.sock"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/webhook-secret"
chmod 600 "$TMP/webhook-secret"
start_stockd stockd --redis "unix://$TMP/redis.sock" \
  --webhook-url http://127.0.0.1:1/closed --webhook-secret-file "$TMP/webhook-secret" || exit 1
sport=$HTTP_PORT
"${run_env[@]}" "$EXPORTER" --redis "unix://$TMP/redis.sock" --http 127.0.0.1:0 \
  --pg "host=127.0.0.1 port=1 dbname=none connect_timeout=1" >"$TMP/export.log" 2>&1 &
EXPORT_PID=$!
PIDS+=("$EXPORT_PID")
eport=$(http_port "$TMP/export.log" "$EXPORT_PID") || { fail "metric names: stockd-export did not start: $(tail -1 "$TMP/export.log")"; exit 1; }
within 5 grep -q 'redis: connected' "$TMP/stockd.log"
request "$LISTEN_PORT" || fail "metric names: stockd did not answer a request: $(tail -1 "$TMP/stockd.log")"

# 2. A Redis Cluster of 3 masters on loopback addresses (one port for all,
# free on every address with its bus port, below the ephemeral range), and
# stockd following it: the cluster gauges with a cluster behind them.
cluster_ip() { echo "127.0.4.$(($1 + 1))"; }
. deploy/validate/ports.sh
CP=$(cluster_free_port)
seeds=()
for i in 0 1 2; do
  d="$TMP/cluster-$i"
  mkdir -p "$d"
  redis-server --bind "$(cluster_ip "$i")" --bind-source-addr "$(cluster_ip "$i")" --port "$CP" \
    --cluster-enabled yes --cluster-config-file "$d/nodes.conf" --cluster-node-timeout 2000 \
    --dir "$d" --save '' --appendonly no --logfile "$d/redis.log" &
  PIDS+=($!)
  seeds+=("$(cluster_ip "$i"):$CP")
done
pong() { [ "$(timeout 2 redis-cli -h "$1" -p "$CP" PING 2>/dev/null)" = PONG ]; }
cluster_ok() {
  local i
  for i in 0 1 2; do
    timeout 2 redis-cli -h "$(cluster_ip "$i")" -p "$CP" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}
cluster_ready() { get "$1" /readyz | grep -q '3 masters (3 up), 16384/16384 slots'; }
cluster="fail"
if within 10 pong "$(cluster_ip 0)" && within 10 pong "$(cluster_ip 1)" && within 10 pong "$(cluster_ip 2)" &&
   timeout 20 redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes >"$TMP/cluster-create.log" 2>&1 &&
   within 15 cluster_ok; then
  if start_stockd stockd-cluster --redis "redis+cluster://$(IFS=,; echo "${seeds[*]}")"; then
    if within 10 cluster_ready "$HTTP_PORT" && request "$LISTEN_PORT"; then
      get "$HTTP_PORT" /metrics >"$TMP/cluster.metrics"
      got=$(awk '/^stockd_redis_cluster_(masters|masters_up|slots_covered) /{printf "%s%s %s", sep, $1, $2; sep=", "}' "$TMP/cluster.metrics")
      if [ "$got" = "stockd_redis_cluster_masters 3, stockd_redis_cluster_masters_up 3, stockd_redis_cluster_slots_covered 16384" ]; then
        ok "cluster: stockd on a 3-master Redis Cluster (loopback, port $CP) exposes $got"
        cluster=ok
      else
        fail "cluster: stockd on a healthy 3-master cluster exposes $got (want 3, 3, 16384)"
      fi
    else
      fail "cluster: stockd is not ready on the cluster: $(get "$HTTP_PORT" /readyz | tr '\n' ' ') $(tail -1 "$TMP/stockd-cluster.log")"
    fi
  fi
else
  fail "cluster: no 3-master cluster on port $CP: $(tail -2 "$TMP/cluster-create.log" | tr '\n' ' ') $(tail -1 "$TMP"/cluster-*/redis.log | tr '\n' ' ')"
fi

get "$sport" /metrics >"$TMP/stockd.metrics"
get "$eport" /metrics >"$TMP/export.metrics"
expositions=("$TMP/stockd.metrics" "$TMP/export.metrics")
[ "$cluster" = ok ] && expositions+=("$TMP/cluster.metrics")
if ! grep -q '^stockd_requests_total{' "$TMP/stockd.metrics" || ! grep -q '^stockd_webhook_info{' "$TMP/stockd.metrics" ||
   ! grep -q '^stockd_export_lag_seconds' "$TMP/export.metrics"; then
  fail "metric names: the scrapes lack the requests, webhook or export series: $(tail -1 "$TMP/stockd.log")"
fi
lint=()
for f in "${expositions[@]}"; do
  promtool check metrics <"$f" >"$f.lint" 2>&1 || lint+=("$(basename "$f"): $(head -2 "$f.lint" | tr '\n' ' ')")
done
if [ ${#lint[@]} -eq 0 ]; then
  ok "promtool check metrics: the ${#expositions[@]} scrapes ($(cat "${expositions[@]}" | grep -vc '^#') samples) are clean"
else
  fail "promtool check metrics: ${lint[*]}"
fi
node "$MJS" names --rules "$ALERTS" --dashboard "$DASHBOARD" "${expositions[@]}" || failed=1

# The comparison must fail on a misspelt metric name and label name.
sed 's/expr: stockd_redis_up == 0/expr: stockd_redis_upp == 0/' "$ALERTS" >"$TMP/broken-alerts.yaml"
sed 's/sum by (method) (rate(stockd_requests_total/sum by (methdo) (rate(stockd_requests_total/' "$DASHBOARD" >"$TMP/broken-dashboard.json"
out=$(node "$MJS" names --rules "$TMP/broken-alerts.yaml" --dashboard "$TMP/broken-dashboard.json" "${expositions[@]}" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q '^FAIL metric names not in /metrics: stockd_redis_upp (rule StockdRedisDown)' <<<"$out" &&
   grep -q 'label methdo is on none of its metrics' <<<"$out"; then
  ok "metric names self-test: stockd_redis_upp in a rule and label methdo in a panel are reported"
else
  fail "metric names self-test: the misspelt names were not reported (exit $rc): $(tr '\n' ' ' <<<"$out")"
fi

exit "$failed"
