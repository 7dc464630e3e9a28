#!/bin/sh
# Completes a Redis data node's configuration before redis-server starts
# (the init container of redis-statefulset.yaml): redis.conf from the
# ConfigMap, this node's address, the password, and, unless this node is the
# master, the master to replicate. The sentinels say which node is the
# master; when none answers, only a first start (no data anywhere) may pick
# FIRST_MASTER, since guessing on a node with data could throw writes away.
# Passwords go from the Secret's files into the configuration file, never
# onto a command line (redis-cli takes them from REDISCLI_AUTH).
#
# Environment (set by the StatefulSet): SELF (this node's host name, as the
# others reach it), FIRST_MASTER, REDIS_NODES and SENTINELS (host names,
# space-separated), MASTER_NAME; optional: REDIS_PORT (6379), SENTINEL_PORT
# (26379), TEMPLATE, CONF, SECRETS, DATA (paths), WAIT_S (120).
set -eu

: "${SELF:?}" "${FIRST_MASTER:?}" "${REDIS_NODES:?}" "${SENTINELS:?}" "${MASTER_NAME:?}"
: "${REDIS_PORT:=6379}" "${SENTINEL_PORT:=26379}" "${WAIT_S:=120}"
: "${TEMPLATE:=/etc/redis-template/redis.conf}" "${CONF:=/run/redis/redis.conf}"
: "${SECRETS:=/run/secrets/redis}" "${DATA:=/data}"

say() { echo "redis-init: $*" >&2; }

# A password from the Secret, refused if redis.conf could not hold it as a
# bare word.
secret() {
  v=$(cat "$SECRETS/$1")
  case $v in
    "" | *[!A-Za-z0-9._~+/=-]*)
      say "$1 must be one or more of the characters A-Z a-z 0-9 . _ ~ + / = -"
      exit 1
      ;;
  esac
  printf '%s' "$v"
}
password=$(secret redis-password)
sentinel_password=$(secret sentinel-password)

# "HOST PORT" of the master, from the first sentinel that knows it.
master_from_sentinels() {
  for s in $SENTINELS; do
    out=$(REDISCLI_AUTH=$sentinel_password timeout 3 redis-cli --raw -h "$s" -p "$SENTINEL_PORT" \
      SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
    host=$(printf '%s\n' "$out" | sed -n 1p)
    port=$(printf '%s\n' "$out" | sed -n 2p)
    case $port in "" | *[!0-9]*) continue ;; esac
    echo "$host $port"
    return 0
  done
  return 1
}

# Whether another data node answers and holds keys.
peer_has_data() {
  for n in $REDIS_NODES; do
    [ "$n" = "$SELF" ] && continue
    if REDISCLI_AUTH=$password timeout 3 redis-cli --raw -h "$n" -p "$REDIS_PORT" INFO keyspace 2>/dev/null |
      grep -q '^db[0-9]*:keys=[1-9]'; then
      return 0
    fi
  done
  return 1
}

# A node that has run before has its AOF directory on its volume.
has_run() { [ -d "$DATA/appendonlydir" ]; }

deadline=$(($(date +%s) + WAIT_S))
role=""
master=""
master_port=""
while [ -z "$role" ]; do
  if hp=$(master_from_sentinels); then
    master=${hp% *}
    master_port=${hp#* }
    if [ "$master" != "$SELF" ]; then
      role=replica
    elif has_run || ! peer_has_data; then
      role=master
    else
      # The sentinels still name this node, whose volume is new, while a
      # peer holds data: starting empty as the master would have the peer
      # copy the emptiness. Wait for the sentinels to promote the peer.
      say "the sentinels name this node the master, but its volume is new and a peer holds data: waiting for a failover"
    fi
  elif ! has_run && ! peer_has_data; then
    # The first start of the set: no sentinel knows a master yet.
    if [ "$SELF" = "$FIRST_MASTER" ]; then
      role=master
    else
      role=replica
      master=$FIRST_MASTER
      master_port=$REDIS_PORT
    fi
  else
    say "no sentinel answers, and this node has run before: waiting for the sentinels rather than guessing the master"
  fi
  if [ -z "$role" ]; then
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "no decision after ${WAIT_S}s; exiting so that the pod tries again"
      exit 1
    fi
    sleep 2
  fi
done

umask 077
{
  cat "$TEMPLATE"
  echo ""
  echo "# Added by redis-init.sh:"
  echo "replica-announce-ip $SELF"
  echo "requirepass $password"
  echo "masterauth $password"
  if [ "$role" = replica ]; then
    echo "replicaof $master $master_port"
  fi
} >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
if [ "$role" = replica ]; then
  say "$SELF starts as a replica of $master:$master_port"
else
  say "$SELF starts as the master"
fi
