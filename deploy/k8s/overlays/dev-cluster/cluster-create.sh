#!/bin/sh
# Makes the nodes a Redis Cluster, or finds that they are one (the Job of
# cluster-job.yaml; safe to run any number of times):
#   - no node holds a slot: a first start. Nodes that met without slots (a
#     create that stopped half way) and hold no key are reset; then
#     `redis-cli --cluster create` with REPLICAS_PER_MASTER replicas each.
#   - some node holds slots: the cluster exists. A node that knows only
#     itself and holds nothing (a pod whose claim was replaced) is added as
#     a replica of the master with the fewest replicas, and the entries of
#     the nodes it replaced (failed, under the same name) are forgotten.
# Then it waits until every node says cluster_state:ok, every master has
# its replicas online and `redis-cli --cluster check` passes. It never moves a slot or resets a node that
# holds keys: resharding is an operator's decision (README: Resharding).
#
# Environment (set by the Job): REDIS_NODES (host names, space-separated),
# REPLICAS_PER_MASTER; optional: REDIS_PORT (6379), SECRETS (path), WAIT_S (300).
set -eu

: "${REDIS_NODES:?}" "${REPLICAS_PER_MASTER:?}"
: "${REDIS_PORT:=6379}" "${SECRETS:=/run/secrets/redis}" "${WAIT_S:=300}"

say() { echo "cluster-create: $*" >&2; }
deadline=$(($(date +%s) + WAIT_S))
late() { [ "$(date +%s)" -ge "$deadline" ]; }

v=$(cat "$SECRETS/redis-password")
case $v in
  "" | *[!A-Za-z0-9._~+/=-]*)
    say "redis-password must be one or more of the characters A-Z a-z 0-9 . _ ~ + / = -"
    exit 1
    ;;
esac
# redis-cli takes the password from the environment, not its command line.
REDISCLI_AUTH=$v
export REDISCLI_AUTH

cli() { # HOST ARGS...
  h=$1
  shift
  timeout 10 redis-cli --raw -h "$h" -p "$REDIS_PORT" "$@" 2>/dev/null | tr -d '\r'
}
info() { cli "$1" CLUSTER INFO | sed -n "s/^$2://p"; }
ip_of() { getent ahostsv4 "$1" 2>/dev/null | awk 'NR == 1 { print $1 }'; }
myid() { cli "$1" CLUSTER MYID; }

# 1. every node answers
for n in $REDIS_NODES; do
  until [ "$(cli "$n" PING)" = PONG ] && [ -n "$(ip_of "$n")" ]; do
    if late; then
      say "$n does not answer after ${WAIT_S}s; exiting so that the Job tries again"
      exit 1
    fi
    sleep 2
  done
done

# 2. is there a cluster?
seed=""
for n in $REDIS_NODES; do
  if [ "$(info "$n" cluster_slots_assigned)" -gt 0 ] 2>/dev/null; then
    seed=$n
    break
  fi
done

if [ -z "$seed" ]; then
  # A first start (or one that stopped before the slots were assigned).
  addrs=""
  for n in $REDIS_NODES; do
    if [ "$(info "$n" cluster_known_nodes)" != 1 ]; then
      if [ "$(cli "$n" DBSIZE)" != 0 ]; then
        say "$n knows other nodes and holds keys, yet no node holds a slot: refusing to guess; see README (Redis Cluster)"
        exit 1
      fi
      cli "$n" CLUSTER RESET HARD >/dev/null
      say "$n: met other nodes without slots (an earlier create stopped half way): reset"
    fi
    addrs="$addrs $(ip_of "$n"):$REDIS_PORT"
  done
  say "creating the cluster:$addrs, $REPLICAS_PER_MASTER replica(s) per master"
  # shellcheck disable=SC2086
  redis-cli --cluster create $addrs --cluster-replicas "$REPLICAS_PER_MASTER" --cluster-yes >&2
  seed=$(echo "$REDIS_NODES" | awk '{ print $1 }')
else
  # The cluster exists: add the nodes that know only themselves and hold
  # nothing, each as a replica of the master with the fewest replicas.
  for n in $REDIS_NODES; do
    [ "$(info "$n" cluster_known_nodes)" = 1 ] || continue
    [ "$(info "$n" cluster_slots_assigned)" = 0 ] || continue
    if [ "$(cli "$n" DBSIZE)" != 0 ]; then
      say "$n is alone but holds keys: not adding it; see README (Redis Cluster)"
      continue
    fi
    id=$(myid "$n")
    cli "$n" CLUSTER MEET "$(ip_of "$seed")" "$REDIS_PORT" >/dev/null
    until cli "$seed" CLUSTER NODES | grep -q "^$id "; do
      late && { say "$n did not join"; exit 1; }
      sleep 1
    done
    # The master (not failed) with the fewest replicas that are not failed.
    # The entry of the node this one replaces (same name or address) is not
    # counted: for up to cluster-node-timeout after its pod went away it is
    # not yet flagged failed, and counting it would leave its master
    # without a replica while another gets two.
    master=$(cli "$seed" CLUSTER NODES | awk -v self="$n" -v ip="$(ip_of "$n")" '
      $3 ~ /master/ && $3 !~ /fail/ && $9 != "" { m[$1] = 1 }
      $3 ~ /slave/ && $3 !~ /fail|noaddr/ {
        split($2, a, ","); split(a[1], h, ":")
        if (a[2] != self && h[1] != ip) r[$4]++
      }
      END { for (x in m) if (best == "" || r[x] + 0 < r[best] + 0) best = x; print best }')
    until cli "$n" CLUSTER REPLICATE "$master" | grep -q OK; do
      late && { say "$n could not become a replica of $master"; exit 1; }
      sleep 1
    done
    say "$n ($id) added as a replica of $master"
  done
  # Entries of replaced nodes: no slots, and either under the name (or
  # address) of another entry, the node that replaced it, or without an
  # address. Once Redis has flagged such an entry failed
  # (cluster-node-timeout) or without an address (another node answers
  # there), it is forgotten on every node within a minute (else gossip
  # brings it back).
  while :; do
    stale=$(cli "$seed" CLUSTER NODES | awk '
      { split($2, a, ","); name[$1] = (a[2] != "" ? a[2] : a[1]); n[name[$1]]++; flags[$1] = $3; free[$1] = ($9 == "") }
      END { for (id in name) if (free[id] && (n[name[id]] > 1 || flags[id] ~ /noaddr/)) print id, flags[id] }')
    [ -n "$stale" ] || break
    failed=$(printf '%s\n' "$stale" | awk '$2 ~ /(^|,)(fail|noaddr)(,|$)/ { print $1 }')
    for id in $failed; do
      for n in $REDIS_NODES; do
        [ "$(myid "$n")" = "$id" ] || cli "$n" CLUSTER FORGET "$id" >/dev/null || true
      done
      say "forgot $id (a replaced node)"
    done
    if [ -z "$failed" ]; then
      late && { say "replaced nodes not flagged failed after ${WAIT_S}s: $stale"; exit 1; }
      sleep 1
    fi
  done
fi

# 3. every node agrees
for n in $REDIS_NODES; do
  until [ "$(info "$n" cluster_state)" = ok ] && [ "$(info "$n" cluster_slots_assigned)" = 16384 ]; do
    late && { say "$n: cluster_state $(info "$n" cluster_state) after ${WAIT_S}s"; exit 1; }
    sleep 1
  done
done
# Every master with its replicas online (with min-replicas-to-write, a
# master refuses writes until then).
for n in $REDIS_NODES; do
  cli "$n" ROLE | head -1 | grep -qx master || continue
  [ "$(info "$n" cluster_slots_assigned)" = 16384 ] || continue
  until [ "$(cli "$n" INFO replication | grep -c '^slave[0-9]*:.*state=online')" -ge "$REPLICAS_PER_MASTER" ]; do
    late && { say "$n: its replicas are not online after ${WAIT_S}s"; exit 1; }
    sleep 1
  done
done
while ! out=$(redis-cli --cluster check "$(ip_of "$seed"):$REDIS_PORT" 2>&1); do
  late && { say "redis-cli --cluster check fails: $(printf '%s\n' "$out" | grep -m1 ERR)"; exit 1; }
  sleep 1
done
masters=$(cli "$seed" CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ && $9 != ""' | wc -l)
say "cluster ok: $masters masters, 16384 slots, every node agrees"
