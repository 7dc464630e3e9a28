#!/usr/bin/env bash
# Rehearses a rendered Cluster overlay on this machine (deploy/check.sh):
# its own init script writes each node's configuration from its own
# template and Secret value, real redis-server processes run them on
# loopback addresses (node i on 127.0.3.(i+1): one address per pod, the
# same port for all, as in the cluster), and its own Job script makes them
# a cluster. Only the addresses, ports and paths are replaced. Then:
#   1. first start: the Job's script makes a cluster of masters with their
#      replicas; every node agrees, and names itself to clients by SELF;
#   2. the Job's script again: nothing changes;
#   3. stockd, with the overlay's environment (its URL pointed at the local
#      nodes, its tenants file the overlay's), is ready on the cluster;
#      each tenant's reserve is held on the master of the tenant's slot
#      (and is on that master's replica); a wrong token is 1006;
#   4. CLUSTER FAILOVER of a tenant's master: stockd follows the new map and
#      a reserve for that tenant is held on the new master;
#   5. a replica's pod replaced with a new claim (nodes.conf and data gone):
#      it starts alone; the Job's script adds it back as a replica and
#      forgets the node it replaced;
#   6. stockd exits 0 on SIGTERM.
#
#   rehearse-cluster.sh OVERLAY DIR STOCKD STOCKD_ENV
#     DIR        what `node cluster.mjs --rehearsal DIR RENDER` wrote
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
PASSWORD=$(cat "$DIR/secrets/redis-password")
node_ip() { echo "127.0.3.$(($1 + 1))"; }
MASTERS=$((NODES / (1 + REPLICAS_PER_MASTER)))

. "$(dirname "$0")/ports.sh"
RP=$(cluster_free_port)

nodes=()
for ((i = 0; i < NODES; i++)); do nodes+=("$(node_ip "$i")"); done

rcli() { REDISCLI_AUTH=$PASSWORD timeout 5 redis-cli --raw -h "$1" -p "$RP" "${@:2}" 2>/dev/null | tr -d '\r'; }
info() { rcli "$1" CLUSTER INFO | sed -n "s/^$2://p"; }
# Waits up to $1 seconds for the command after it to succeed.
within() {
  local t=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$t" ] || return 1
    sleep 0.2
  done
}
why() { echo "$(tail -4 "$W/init.log" | tr '\n' ' ') $(tail -2 "$W"/redis-*/redis.log 2>/dev/null | grep -v '^==' | tail -3 | tr '\n' ' ')"; }

# A pod's init container: the overlay's script with its settings, this
# rehearsal's address, port and paths.
init_node() { # i
  local d=$W/redis-$1
  mkdir -p "$d/data" "$d/run"
  # bind-source-addr: on loopback the kernel would otherwise give the bus
  # connections 127.0.0.1 as their source, not the node's address.
  sed -e "s/^bind .*/bind $(node_ip "$1")\nbind-source-addr $(node_ip "$1")/" -e "s/^port .*/port $RP/" \
    -e "s#^dir .*#dir $d/data#" "$DIR/redis/template.conf" >"$d/template.conf"
  (
    # shellcheck disable=SC1090,SC1091
    . "$DIR/redis/env"
    export SELF=$(node_ip "$1") CONF=$d/run/redis.conf TEMPLATE=$d/template.conf DATA=$d/data SECRETS=$DIR/secrets WAIT_S=5
    sh "$DIR/redis/init.sh"
  ) >>"$W/init.log" 2>&1
}
start_node() { # i
  local ip d
  ip=$(node_ip "$1")
  d=$W/redis-$1
  redis-server "$d/run/redis.conf" --logfile "$d/redis.log" --daemonize no &
  pids[$1]=$!
  within 10 sh -c "[ \"\$(REDISCLI_AUTH='$PASSWORD' redis-cli -h $ip -p $RP ping 2>/dev/null)\" = PONG ]"
}
# The Job's pod: the overlay's script with its settings.
run_job() {
  (
    # shellcheck disable=SC1090,SC1091
    . "$DIR/job/env"
    export REDIS_NODES="${nodes[*]}" REDIS_PORT=$RP SECRETS=$DIR/secrets WAIT_S=60
    sh "$DIR/job/create.sh"
  ) >"$W/job.log" 2>&1
}
# Every node: cluster_state ok, all slots, NODES known; MASTERS masters with
# REPLICAS_PER_MASTER replicas each that are up.
healthy() {
  local ip nodes_out
  for ip in "${nodes[@]}"; do
    [ "$(info "$ip" cluster_state)" = ok ] || return 1
    [ "$(info "$ip" cluster_slots_assigned)" = 16384 ] || return 1
    [ "$(info "$ip" cluster_known_nodes)" = "$NODES" ] || return 1
  done
  nodes_out=$(rcli "${nodes[0]}" CLUSTER NODES)
  [ "$(awk '$3 ~ /master/ && $3 !~ /fail/ && $9 != ""' <<<"$nodes_out" | wc -l)" = "$MASTERS" ] || return 1
  [ "$(awk '$3 ~ /slave/ && $3 !~ /fail/ && $8 == "connected"' <<<"$nodes_out" | wc -l)" = $((MASTERS * REPLICAS_PER_MASTER)) ] || return 1
  # each master's replicas online, and good for min-replicas-to-write
  for ip in $(awk '$3 ~ /master/ && $3 !~ /fail/ && $9 != "" { split($2, a, ":"); print a[1] }' <<<"$nodes_out"); do
    [ "$(rcli "$ip" INFO replication | grep -c '^slave[0-9]*:.*state=online')" = "$REPLICAS_PER_MASTER" ] || return 1
    ! rcli "$ip" INFO replication | grep -q '^min_slaves_good_slaves:' ||
      rcli "$ip" INFO replication | grep -qx "min_slaves_good_slaves:$REPLICAS_PER_MASTER" || return 1
  done
}
# The address of the master that owns a slot, and of its replica.
master_of_slot() { # SLOT
  rcli "${nodes[0]}" CLUSTER NODES | awk -v s="$1" '$3 ~ /master/ && $3 !~ /fail/ {
    for (i = 9; i <= NF; i++) { n = split($i, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1]);
      if ($i !~ /^\[/ && s >= lo + 0 && s <= hi + 0) { split($2, a, ":"); print a[1]; exit } } }'
}
replica_of() { # MASTER_IP
  local id
  id=$(rcli "$1" CLUSTER MYID)
  rcli "$1" CLUSTER NODES | awk -v m="$id" '$4 == m && $3 ~ /slave/ && $3 !~ /fail/ { split($2, a, ":"); print a[1]; exit }'
}

# ---- 1. first start -------------------------------------------------------------
for ((i = 0; i < NODES; i++)); do init_node "$i" || fail "redis-init.sh of node $i: $(why)"; done
for ((i = 0; i < NODES; i++)); do start_node "$i" || fail "node $i did not start on its configuration: $(why)"; done
run_job || fail "the Job's script did not make the cluster: $(tail -3 "$W/job.log" | tr '\n' ' ')"
within 30 healthy || fail "the cluster is not healthy after the Job: $(info "${nodes[0]}" cluster_state), $(rcli "${nodes[0]}" CLUSTER NODES | awk '{print $3}' | sort | uniq -c | tr '\n' ' ')"
named=$(rcli "${nodes[0]}" CLUSTER SHARDS | grep -c -x 'hostname')
[ "$named" = "$NODES" ] || fail "CLUSTER SHARDS names $named of the $NODES nodes by their hostname (cluster-announce-hostname)"
epoch=$(info "${nodes[0]}" cluster_current_epoch)
ok "first start: $NODES nodes from the overlay's script and template; the Job's script makes $MASTERS masters with $REPLICAS_PER_MASTER replica(s) each, every node agrees (cluster_state ok, 16384 slots) and each is named by its SELF"

# ---- 2. the Job again --------------------------------------------------------------
run_job || fail "the Job's script failed on a cluster that exists: $(tail -3 "$W/job.log" | tr '\n' ' ')"
! grep -qE 'creating|added|forgot|reset' "$W/job.log" || fail "the Job's script changed a cluster that exists: $(tr '\n' ' ' <"$W/job.log")"
[ "$(info "${nodes[0]}" cluster_current_epoch)" = "$epoch" ] && healthy || fail "the cluster changed after the Job's script ran again"
ok "the Job's script again: it finds the cluster and changes nothing (same epoch $epoch)"

# ---- 3. stockd on it ---------------------------------------------------------------
mapfile -t envs <"$STOCKD_ENV"
URL="redis+cluster://$(printf '%s:'"$RP"',' "${nodes[@]}")"
URL=${URL%,}
env -i "${envs[@]}" STOCKD_REDIS_URL="$URL" STOCKD_TENANTS_FILE="$DIR/tenants" \
  STOCKD_LISTEN=127.0.0.1:0 STOCKD_HTTP=127.0.0.1:0 "$STOCKD" >"$W/stockd.log" 2>&1 &
pids[200]=$!
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
ready() { # every master up: 200, and no warning of a master down
  local r; r=$(readyz)
  [[ "$r" == "200 "*"cluster"* && "$r" != *"masters not up"* ]]
}
# One reserve through stockd for a tenant, order rehearsal-TENANT-N (the
# caller counts n_order: this runs in a subshell); echoes the last answer.
n_order=0
reserve() { # TOKEN TENANT
  exec 4<>"/dev/tcp/127.0.0.1/$rpc_port" || return 1
  {
    printf '{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"%s"}}\n' "$1"
    printf '{"jsonrpc":"2.0","id":2,"method":"stock.set","params":{"sku":"REHEARSAL","location":"loc-1","on_hand":1000}}\n'
    printf '{"jsonrpc":"2.0","id":3,"method":"channel.set","params":{"channel":"rehearsal","locations":["loc-1"]}}\n'
    printf '{"jsonrpc":"2.0","id":4,"method":"reserve","params":{"order_id":"rehearsal-%s-%d","channel":"rehearsal","items":[{"sku":"REHEARSAL","quantity":1}]}}\n' "$2" "$n_order"
  } >&4
  timeout 5 head -4 <&4 | tail -1
  exec 4<&-
}
# Whether KEY is on the master of its slot and on that master's replica;
# sets held_m to the master, or held_why to what was seen. Right after a
# failover the nodes' views of who replicates whom can lag by a moment, so
# callers retry it.
held_check() { # KEY
  local slot m r
  slot=$(rcli "${nodes[0]}" CLUSTER KEYSLOT "$1")
  m=$(master_of_slot "$slot")
  [ -n "$m" ] || { held_why="no master owns slot $slot in ${nodes[0]}'s view"; return 1; }
  r=$(replica_of "$m")
  [ -n "$r" ] || { held_why="$m owns slot $slot but names no replica of its own"; return 1; }
  [ "$(rcli "$m" EXISTS "$1")" = 1 ] || { held_why="$1 is not on $m, the master of slot $slot"; return 1; }
  # A replica answers MOVED unless the connection is READONLY.
  [ "$(printf 'READONLY\nEXISTS %s\n' "$1" | REDISCLI_AUTH=$PASSWORD timeout 5 redis-cli --raw -h "$r" -p "$RP" 2>/dev/null | tr -d '\r' | tail -1)" = 1 ] ||
    { held_why="$1 is on $m but not on its replica $r"; return 1; }
  held_m=$m
}
held_on_master() { # TENANT ORDER -> the master; or what was seen, on stderr
  within 10 held_check "{$1}:order:$2" || { echo "$held_why" >&2; return 1; }
  echo "$held_m"
}
within 30 ready || fail "stockd is not ready on the cluster: /readyz $(readyz); $(tail -2 "$W/stockd.log" | tr '\n' ' ')"
mapfile -t tenants < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$DIR/tenants")
[ "${#tenants[@]}" -gt 0 ] || fail "the overlay's tenants file names no tenant"
declare -A at=()
for line in "${tenants[@]}"; do
  read -r t tok <<<"$line"
  n_order=$((n_order + 1))
  answer=$(reserve "$tok" "$t")
  [[ "$answer" == *'"status":"held"'* ]] || fail "tenant $t: a reserve was not held: $answer"
  m=$(held_on_master "$t" "rehearsal-$t-$n_order" 2>"$W/held.why") || fail "tenant $t: the order key {$t}:order:rehearsal-$t-$n_order is not on the master of its slot and that master's replica: $(cat "$W/held.why")"
  at[$t]=$m
done
exec 4<>"/dev/tcp/127.0.0.1/$rpc_port" || fail "no connection to stockd"
printf '{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"not-a-tenant-token"}}\n' >&4
answer=$(timeout 5 head -1 <&4)
exec 4<&-
[[ "$answer" == *'"code":1006'* ]] || fail "a wrong token was not answered 1006: $answer"
spread=$(for t in "${!at[@]}"; do echo "${at[$t]}"; done | sort -u | wc -l)
ok "stockd with the overlay's environment: ready on the cluster ($(readyz | cut -d'|' -f1-2 | tr '|' ' ')); each of ${#tenants[@]} tenants' reserves held on the master of its slot and on its replica ($spread masters used); a wrong token 1006"

# ---- 4. failover -----------------------------------------------------------------------
read -r t tok <<<"${tenants[0]}"
old=${at[$t]}
new=$(replica_of "$old")
[ -n "$new" ] || fail "no replica of $old"
[ "$(rcli "$new" CLUSTER FAILOVER)" = OK ] || fail "CLUSTER FAILOVER on $new was refused"
within 30 sh -c "REDISCLI_AUTH='$PASSWORD' redis-cli -h $new -p $RP role 2>/dev/null | head -1 | grep -qx master" || fail "$new did not become a master"
within 30 healthy || fail "the cluster is not healthy after the failover"
answer=""
for _ in $(seq 40); do
  n_order=$((n_order + 1))
  answer=$(reserve "$tok" "$t")
  [[ "$answer" == *'"status":"held"'* ]] && break
  sleep 0.25
done
[[ "$answer" == *'"status":"held"'* ]] || fail "tenant $t: no reserve held after the failover: $answer; /readyz $(readyz)"
m=$(held_on_master "$t" "rehearsal-$t-$n_order" 2>"$W/held.why") || fail "tenant $t: the reserve after the failover is not on the new master and its replica: $(cat "$W/held.why")"
[ "$m" = "$new" ] || fail "tenant $t: the reserve after the failover is on $m, not the new master $new"
within 10 ready || fail "stockd is not ready after the failover: /readyz $(readyz)"
ok "CLUSTER FAILOVER: $new takes over tenant $t's slot from $old; stockd follows and a reserve is held on $new (and its replica)"

# ---- 5. a replica's pod replaced with a new claim --------------------------------------
for ((k = 0; k < NODES; k++)); do [ "$(node_ip "$k")" = "$old" ] && break; done
rcli "$old" SHUTDOWN NOSAVE >/dev/null
wait "${pids[$k]}" 2>/dev/null
rm -rf "$W/redis-$k"
init_node "$k" || fail "redis-init.sh of the replaced node $k: $(why)"
start_node "$k" || fail "the replaced node $k did not start: $(why)"
[ "$(info "$old" cluster_known_nodes)" = 1 ] || fail "the replaced node $k does not start alone"
run_job || fail "the Job's script did not add the replaced node: $(tail -3 "$W/job.log" | tr '\n' ' ')"
# The master it left without a replica gets it back, not another master
# (the old entry still looks like a live replica for cluster-node-timeout).
grep -q "^cluster-create: $old ([0-9a-f]*) added as a replica of $(rcli "$new" CLUSTER MYID)\$" "$W/job.log" ||
  fail "the Job's script did not make $old a replica of $new, the master it left without one: $(tr '\n' ' ' <"$W/job.log")"
grep -q "forgot" "$W/job.log" || fail "the Job's script did not forget the node $old replaced: $(tr '\n' ' ' <"$W/job.log")"
within 30 healthy || fail "the cluster is not healthy after the replaced node joined: $(rcli "${nodes[0]}" CLUSTER NODES | awk '{print $2, $3}' | tr '\n' ' ')"
ok "node $k's pod replaced with a new claim: it starts alone; the Job's script adds it as a replica of $new (the master it left without one), forgets the node it replaced, and every node agrees again"

# ---- 6. stockd stops -----------------------------------------------------------------------
stop "${pids[200]}"
rc=$?
unset 'pids[200]'
[ "$rc" = 0 ] || fail "stockd exited $rc on SIGTERM (want 0; 137: it did not exit within 10 s): $(tail -2 "$W/stockd.log" | tr '\n' ' ')"
ok "stockd exits 0 on SIGTERM"
