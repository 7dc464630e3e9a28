#!/usr/bin/env bash
# Rehearses a rendered Sentinel overlay on this machine (deploy/check.sh):
# its own init scripts write the data nodes' and the sentinels'
# configurations from its own templates and Secret values, and real
# redis-server processes run them on loopback addresses (data node i on
# 127.0.1.(i+1), sentinel j on 127.0.2.(j+1): one address per pod, the same
# port for all, as in the cluster). Only the addresses, ports and paths are
# replaced. Then:
#   1. first start: the sentinels agree on redis-0 as the master, with its
#      replicas and each other;
#   2. stockd, with the overlay's environment (its URL pointed at the local
#      sentinels), is ready, on that master, with the overlay's durability;
#      a reserve is answered and is on the replica;
#   3. SENTINEL FAILOVER: the sentinels promote the replica, stockd follows
#      it and a reserve is answered on the new master;
#   4. the old master's pod replaced (its configuration gone, its data kept):
#      its init script makes it a replica of the new master;
#   5. a sentinel's pod replaced (its configuration gone): its init script
#      takes the current master from the other sentinels.
#
#   rehearse-sentinel.sh OVERLAY DIR STOCKD STOCKD_ENV
#     DIR        what `node sentinel.mjs --rehearsal DIR RENDER` wrote
#     STOCKD     the stockd binary
#     STOCKD_ENV stockd's rendered environment (consistency.mjs --print-env)
#
# Prints "ok   OVERLAY: rehearsal ..." or "FAIL ..." per step; stops at the
# first failure; leaves no process behind.
set -uo pipefail

OVERLAY=$1 DIR=$2 STOCKD=$3 STOCKD_ENV=$4
W=$(mktemp -d)
pids=()
# shellcheck source=rehearse-lib.sh
. "$(dirname "$0")/rehearse-lib.sh"

# shellcheck disable=SC1091
. "$DIR/topology"
REDIS_PASSWORD=$(cat "$DIR/secrets/redis-password")
SENTINEL_PASSWORD=$(cat "$DIR/secrets/sentinel-password")
node_ip() { echo "127.0.1.$(($1 + 1))"; }
sentinel_ip() { echo "127.0.2.$(($1 + 1))"; }

# A port free on every address the rehearsal uses (nothing listens on it,
# on any address).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}
RP=$(free_port)
SP=$(free_port)
[ "$RP" != "$SP" ] || SP=$((RP + 1))

nodes=()
for ((i = 0; i < REDIS_REPLICAS; i++)); do nodes+=("$(node_ip "$i")"); done
sentinels=()
for ((j = 0; j < SENTINEL_REPLICAS; j++)); do sentinels+=("$(sentinel_ip "$j")"); done

rcli() { REDISCLI_AUTH=$REDIS_PASSWORD timeout 3 redis-cli --raw -h "$1" -p "$RP" "${@:2}" 2>/dev/null | tr -d '\r'; }
scli() { REDISCLI_AUTH=$SENTINEL_PASSWORD timeout 3 redis-cli --raw -h "$1" -p "$SP" "${@:2}" 2>/dev/null | tr -d '\r'; }
# Waits up to $1 seconds for the command after it to succeed.
within() {
  local t=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$t" ] || return 1
    sleep 0.2
  done
}

# A pod's init container: the overlay's script with its settings, the
# addresses, ports and paths of this rehearsal.
run_init() { # redis|sentinel SELF CONF TEMPLATE [DATA]
  (
    # shellcheck disable=SC1090
    . "$DIR/$1/env"
    export SELF=$2 CONF=$3 TEMPLATE=$4 DATA=${5:-/nonexistent} SECRETS=$DIR/secrets WAIT_S=20
    export FIRST_MASTER REDIS_NODES="${nodes[*]}" SENTINELS="${sentinels[*]}" REDIS_PORT=$RP SENTINEL_PORT=$SP
    sh "$DIR/$1/init.sh"
  ) >>"$W/init.log" 2>&1
}
FIRST_MASTER=$(node_ip 0)
export FIRST_MASTER

# The template with this pod's address, port and directory.
localise() { # TEMPLATE IP PORT DIR OUT
  sed -e "s/^bind .*/bind $2/" -e "s/^port .*/port $3/" -e "s#^dir .*#dir $4#" "$1" >"$5"
}

start_node() { # i
  local ip d
  ip=$(node_ip "$1")
  d=$W/redis-$1
  redis-server "$d/run/redis.conf" --logfile "$d/redis.log" --daemonize no &
  pids[$1]=$!
  within 10 sh -c "[ \"\$(REDISCLI_AUTH='$REDIS_PASSWORD' redis-cli -h $ip -p $RP ping 2>/dev/null)\" = PONG ]"
}
init_node() { # i
  local d=$W/redis-$1
  mkdir -p "$d/data" "$d/run"
  localise "$DIR/redis/template.conf" "$(node_ip "$1")" "$RP" "$d/data" "$d/template.conf"
  run_init redis "$(node_ip "$1")" "$d/run/redis.conf" "$d/template.conf" "$d/data"
}
start_sentinel() { # j
  local d=$W/sentinel-$1
  redis-server "$d/sentinel.conf" --sentinel --logfile "$d/sentinel.log" --daemonize no &
  pids[100 + $1]=$!
  within 10 sh -c "[ \"\$(REDISCLI_AUTH='$SENTINEL_PASSWORD' redis-cli -h $(sentinel_ip "$1") -p $SP ping 2>/dev/null)\" = PONG ]"
}
init_sentinel() { # j
  local d=$W/sentinel-$1
  mkdir -p "$d"
  localise "$DIR/sentinel/template.conf" "$(sentinel_ip "$1")" "$SP" "$d" "$d/template.conf"
  run_init sentinel "$(sentinel_ip "$1")" "$d/sentinel.conf" "$d/template.conf"
}
master_of() { scli "$1" SENTINEL get-master-addr-by-name "$MASTER_NAME" | head -1; }
# Every sentinel names $1 as the master and sees the replicas and its peers.
agreed() {
  local j out
  for ((j = 0; j < SENTINEL_REPLICAS; j++)); do
    [ "$(master_of "$(sentinel_ip "$j")")" = "$1" ] || return 1
    out=$(scli "$(sentinel_ip "$j")" SENTINEL master "$MASTER_NAME")
    [ "$(sed -n '/^num-slaves$/{n;p}' <<<"$out")" = $((REDIS_REPLICAS - 1)) ] || return 1
    [ "$(sed -n '/^num-other-sentinels$/{n;p}' <<<"$out")" = $((SENTINEL_REPLICAS - 1)) ] || return 1
  done
}
# The master at $1 has all its replicas online and counts them as good
# (min-replicas-to-write): writes go through.
replicated() {
  local info n=$((REDIS_REPLICAS - 1)) k
  info=$(rcli "$1" info replication)
  grep -qx role:master <<<"$info" || return 1
  grep -qx "connected_slaves:$n" <<<"$info" || return 1
  for ((k = 0; k < n; k++)); do grep -q "^slave$k:.*state=online" <<<"$info" || return 1; done
  ! grep -q '^min_slaves_good_slaves:' <<<"$info" || grep -qx "min_slaves_good_slaves:$n" <<<"$info"
}
why() { echo "$(tail -3 "$W/init.log" | tr '\n' ' ') $(tail -2 "$W"/*/*.log 2>/dev/null | grep -v '^==' | tail -4 | tr '\n' ' ')"; }

# ---- 1. first start ---------------------------------------------------------
for ((i = 0; i < REDIS_REPLICAS; i++)); do init_node "$i" || fail "redis-init.sh of data node $i: $(why)"; done
for ((i = 0; i < REDIS_REPLICAS; i++)); do start_node "$i" || fail "data node $i did not start on its configuration: $(why)"; done
for ((j = 0; j < SENTINEL_REPLICAS; j++)); do init_sentinel "$j" || fail "sentinel-init.sh of sentinel $j: $(why)"; done
for ((j = 0; j < SENTINEL_REPLICAS; j++)); do start_sentinel "$j" || fail "sentinel $j did not start on its configuration: $(why)"; done
within 30 agreed "$(node_ip 0)" || fail "the sentinels do not agree on $(node_ip 0) with $((REDIS_REPLICAS - 1)) replica(s) and $((SENTINEL_REPLICAS - 1)) peers: $(why)"
[[ "$(scli "$(sentinel_ip 0)" SENTINEL ckquorum "$MASTER_NAME")" == OK* ]] || fail "SENTINEL CKQUORUM is not OK"
within 20 replicated "$(node_ip 0)" || fail "data node 0 does not have its replica(s) online: $(rcli "$(node_ip 0)" info replication | grep -E '^(connected_slaves|slave[0-9]|min_slaves)' | tr '\n' ' ')"
ok "first start: $REDIS_REPLICAS data nodes and $SENTINEL_REPLICAS sentinels from the overlay's scripts and templates; the sentinels agree on data node 0 as the master, see its replica(s) and each other; quorum reachable"

# ---- 2. stockd on it ------------------------------------------------------------
mapfile -t envs <"$STOCKD_ENV"
hosts=$(printf '%s:'"$SP"',' "${sentinels[@]}")
URL="redis+sentinel://${hosts%,}/$MASTER_NAME/$DB"
env -i "${envs[@]}" STOCKD_REDIS_URL="$URL" STOCKD_LISTEN=127.0.0.1:0 STOCKD_HTTP=127.0.0.1:0 "$STOCKD" >"$W/stockd.log" 2>&1 &
pids[200]=$!
TOKEN=$(printf '%s\n' "${envs[@]}" | sed -n 's/^STOCKD_AUTH_TOKEN=//p')
rpc_port="" http_port=""
for _ in $(seq 100); do
  http_port=$(sed -n 's#.*health and metrics on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$W/stockd.log" | head -1)
  rpc_port=$(sed -n 's#.*listening on 127\.0\.0\.1:\([0-9]*\).*#\1#p' "$W/stockd.log" | head -1)
  [ -n "$http_port" ] && [ -n "$rpc_port" ] && break
  kill -0 "${pids[200]}" 2>/dev/null || break
  sleep 0.1
done
{ [ -n "$http_port" ] && [ -n "$rpc_port" ]; } || fail "stockd did not start with the overlay's environment: $(tail -2 "$W/stockd.log" | tr '\n' ' ')"
readyz() { # -> "STATUS BODY..." on one line
  local out
  exec 3<>"/dev/tcp/127.0.0.1/$http_port" || return 1
  printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
  out=$(timeout 3 cat <&3 | tr -d '\r')
  exec 3<&-
  echo "$(head -1 <<<"$out" | awk '{print $2}') $(sed '1,/^$/d' <<<"$out" | tr '\n' '|')"
}
ready_on() { [[ "$(readyz)" == "200 "*"master $1:$RP (sentinel)"* ]]; }
# One reserve through stockd; echoes its answer line.
n_order=0
reserve() {
  n_order=$((n_order + 1))
  exec 4<>"/dev/tcp/127.0.0.1/$rpc_port" || return 1
  {
    printf '{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"%s"}}\n' "$TOKEN"
    printf '{"jsonrpc":"2.0","id":2,"method":"stock.set","params":{"sku":"REHEARSAL","location":"loc-1","on_hand":1000}}\n'
    printf '{"jsonrpc":"2.0","id":3,"method":"channel.set","params":{"channel":"rehearsal","locations":["loc-1"]}}\n'
    printf '{"jsonrpc":"2.0","id":4,"method":"reserve","params":{"order_id":"rehearsal-%d","channel":"rehearsal","items":[{"sku":"REHEARSAL","quantity":1}]}}\n' "$n_order"
  } >&4
  timeout 5 head -4 <&4 | tail -1
  exec 4<&-
}
within 20 ready_on "$(node_ip 0)" || fail "stockd is not ready on $(node_ip 0) through the sentinels: /readyz $(readyz); $(tail -2 "$W/stockd.log" | tr '\n' ' ')"
durability=$(printf '%s\n' "${envs[@]}" | sed -n 's/^STOCKD_DURABILITY=//p')
[ "$durability" = replica ] && durability=replica:1
[[ "$(readyz)" == *"durability: ${durability:-none}"* ]] || fail "/readyz does not say durability: ${durability:-none}: $(readyz)"
answer=$(reserve)
[[ "$answer" == *'"status":"held"'* ]] || fail "a reserve on $(node_ip 0) was not held: $answer"
ns=$(printf '%s\n' "${envs[@]}" | sed -n 's/^STOCKD_NAMESPACE=//p')
within 5 sh -c "[ -n \"\$(REDISCLI_AUTH='$REDIS_PASSWORD' redis-cli -h $(node_ip 1) -p $RP --raw exists '{${ns:-inv}}:order:rehearsal-1' | grep -x 1)\" ]" ||
  fail "the reserve's order binding is not on the replica $(node_ip 1)"
ok "stockd with the overlay's environment: ready through the sentinels on $(node_ip 0), durability ${durability:-none}; a reserve held, and on the replica"

# ---- 3. failover ------------------------------------------------------------------
[ "$(scli "$(sentinel_ip 0)" SENTINEL failover "$MASTER_NAME")" = OK ] || fail "SENTINEL FAILOVER was refused"
within 30 agreed "$(node_ip 1)" || fail "after SENTINEL FAILOVER the sentinels do not agree on $(node_ip 1) with its replica(s): $(why)"
within 30 replicated "$(node_ip 1)" || fail "data node 1 does not have its replica(s) online after the failover"
within 20 ready_on "$(node_ip 1)" || fail "stockd did not follow the failover to $(node_ip 1): /readyz $(readyz)"
answer=""
for _ in $(seq 20); do
  answer=$(reserve)
  [[ "$answer" == *'"status":"held"'* ]] && break
  sleep 0.5
done
[[ "$answer" == *'"status":"held"'* ]] || fail "no reserve held on the new master: $answer"
[[ "$(readyz)" == *"failovers seen 1"* ]] || fail "/readyz does not count the failover: $(readyz)"
ok "SENTINEL FAILOVER: the sentinels promote data node 1 and reconfigure data node 0 as its replica; stockd follows (/readyz: master $(node_ip 1), failovers seen 1) and a reserve is held there"

# ---- 4. the old master's pod replaced -------------------------------------------------
rcli "$(node_ip 0)" shutdown >/dev/null
wait "${pids[0]}" 2>/dev/null
rm -f "$W/redis-0/run/redis.conf"
init_node 0 || fail "redis-init.sh of the replaced data node 0: $(why)"
grep -q "^replicaof $(node_ip 1) $RP\$" "$W/redis-0/run/redis.conf" || fail "the replaced data node 0 is not configured as a replica of $(node_ip 1): $(grep replicaof "$W/redis-0/run/redis.conf")"
start_node 0 || fail "the replaced data node 0 did not start: $(why)"
within 20 sh -c "REDISCLI_AUTH='$REDIS_PASSWORD' redis-cli -h $(node_ip 0) -p $RP info replication 2>/dev/null | tr -d '\r' | grep -qx master_link_status:up" ||
  fail "the replaced data node 0 does not replicate from $(node_ip 1)"
ok "data node 0's pod replaced (configuration gone, data kept): redis-init.sh asks the sentinels and it comes back as a replica of $(node_ip 1)"

# ---- 5. a sentinel's pod replaced -------------------------------------------------------
last=$((SENTINEL_REPLICAS - 1))
scli "$(sentinel_ip "$last")" shutdown >/dev/null
wait "${pids[$((100 + last))]}" 2>/dev/null
rm -f "$W/sentinel-$last/sentinel.conf"
init_sentinel "$last" || fail "sentinel-init.sh of the replaced sentinel $last: $(why)"
grep -q "^sentinel monitor $MASTER_NAME $(node_ip 1) $RP " "$W/sentinel-$last/sentinel.conf" ||
  fail "the replaced sentinel $last does not monitor $(node_ip 1): $(grep 'sentinel monitor' "$W/sentinel-$last/sentinel.conf")"
start_sentinel "$last" || fail "the replaced sentinel $last did not start: $(why)"
within 20 sh -c "[ \"\$(REDISCLI_AUTH='$SENTINEL_PASSWORD' redis-cli -h $(sentinel_ip "$last") -p $SP --raw sentinel get-master-addr-by-name '$MASTER_NAME' | head -1)\" = $(node_ip 1) ]" ||
  fail "the replaced sentinel $last does not name $(node_ip 1)"
ok "sentinel $last's pod replaced (configuration gone): sentinel-init.sh takes the master from the other sentinels ($(node_ip 1))"

# ---- 6. stockd stops -----------------------------------------------------------------------
stop "${pids[200]}"
rc=$?
unset 'pids[200]'
[ "$rc" = 0 ] || fail "stockd exited $rc on SIGTERM (want 0; 137: it did not exit within 10 s): $(tail -2 "$W/stockd.log" | tr '\n' ' ')"
ok "stockd exits 0 on SIGTERM"
