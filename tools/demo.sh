#!/usr/bin/env bash
# Installs what is missing, builds stockd and stockctl, starts a local
# redis-server (AOF on, data in .demo/) and stockd on 127.0.0.1:7400 (its
# status page on http://127.0.0.1:9400/ui), with an auth token made once in
# .demo/token, loads a small demo catalogue (stock, locations, sales
# channels and their routing rules), and stays in the foreground until
# Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target stockd stockctl

redis_port=${DEMO_REDIS_PORT:-6380}
listen=${STOCKD_LISTEN:-127.0.0.1:7400}
http=${STOCKD_HTTP:-127.0.0.1:9400}
mkdir -p .demo
data=$(cd .demo && pwd)
# Clients and the status page's stock views authenticate with this token.
if [ ! -s .demo/token ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >.demo/token)
fi
token=$(cat .demo/token)

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data" \
  --appendonly yes --appendfsync always --maxmemory-policy noeviction \
  --daemonize yes --pidfile "$data/redis.pid" --logfile "$data/redis.log"
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.05
done

cleanup() {
  [ -n "${stockd_pid:-}" ] && kill "$stockd_pid" 2>/dev/null && wait "$stockd_pid" || true
  redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

./build/stockd --listen "$listen" --http "$http" --redis "redis://127.0.0.1:$redis_port/0" \
  --auth-token-file .demo/token &
stockd_pid=$!

host=${listen%:*}
port=${listen##*:}
for _ in $(seq 100); do
  if { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
    printf '{"id":0,"method":"ping"}\n' >&3
    read -r -t 2 pong <&3 || pong=""
    exec 3<&-
    case "$pong" in *'"redis":"up"'*) break ;; esac
  fi
  sleep 0.05
done

# The demo catalogue: one request per line, answered in order.
exec 3<>"/dev/tcp/$host/$port"
lines=$(grep -c . deploy/demo/catalogue.ndjson)
printf '{"id":0,"method":"auth","params":{"token":"%s"}}\n' "$token" >&3
cat deploy/demo/catalogue.ndjson >&3
failed=0
for _ in $(seq "$((lines + 1))"); do
  read -r -t 5 answer <&3
  case "$answer" in *'"error"'*) echo "demo: $answer" >&2; failed=1 ;; esac
done
exec 3<&-
[ "$failed" -eq 0 ] || { echo "demo: loading the catalogue failed" >&2; exit 1; }

cat <<MSG

stockd is listening on $listen (Redis on 127.0.0.1:$redis_port, data in .demo/).
Status page: http://$http/ui (sign in with the token below for stock data).
Auth token (in .demo/token): $token
Demo catalogue loaded: skus TSHIRT-M, MUG, POSTER at wh-east (Newark, zone
us-east), wh-west (Reno, us-west) and store-9 (Chicago, us-central), each
with coordinates; channels "web" and "store" (channel order), and
"web-nearest", which ships from the location nearest the order's
destination first (rules nearest, priority). Try:

  printf '{"id":0,"method":"auth","params":{"token":"$token"}}\n{"id":1,"method":"stock.get","params":{"sku":"TSHIRT-M"}}\n' | nc -q1 $host $port

  # Ship to Sacramento: wh-west (the nearest) takes it; explain
  # lists every candidate in ranked order with its distance.
  export STOCKD_AUTH_TOKEN=$token
  build/stockctl --port $port reserve --channel web-nearest --ship-to 38.5816,-121.4944,us-west --explain TSHIRT-M=1

  # A live view in the terminal (q quits)
  build/stockctl top --http $http

Ctrl-C stops stockd and Redis.
MSG
wait "$stockd_pid"
