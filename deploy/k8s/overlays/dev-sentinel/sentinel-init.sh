#!/bin/sh
# Writes a sentinel's configuration before it starts (the init container of
# sentinel-statefulset.yaml): sentinel.conf from the ConfigMap, this
# sentinel's address, the passwords, and the master to monitor. That master
# is the one the other sentinels follow; without them (all sentinels new),
# the data node that says it is a master (the one furthest ahead if several
# do); without either (the first start), FIRST_MASTER. Passwords go from the
# Secret's files into the configuration file, never onto a command line.
#
# Environment (set by the StatefulSet): SELF (this sentinel's host name, as
# the others reach it), FIRST_MASTER, REDIS_NODES and SENTINELS (host names,
# space-separated), MASTER_NAME, QUORUM; optional: REDIS_PORT (6379),
# SENTINEL_PORT (26379), DOWN_AFTER_MS (5000), FAILOVER_TIMEOUT_MS (60000),
# TEMPLATE, CONF, SECRETS (paths), WAIT_S (120).
set -eu

: "${SELF:?}" "${FIRST_MASTER:?}" "${REDIS_NODES:?}" "${SENTINELS:?}" "${MASTER_NAME:?}" "${QUORUM:?}"
: "${REDIS_PORT:=6379}" "${SENTINEL_PORT:=26379}" "${WAIT_S:=120}"
: "${DOWN_AFTER_MS:=5000}" "${FAILOVER_TIMEOUT_MS:=60000}"
: "${TEMPLATE:=/etc/sentinel-template/sentinel.conf}" "${CONF:=/data/sentinel.conf}"
: "${SECRETS:=/run/secrets/redis}"

say() { echo "sentinel-init: $*" >&2; }

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

# "HOST PORT" of the master, from the first other sentinel that knows it.
master_from_sentinels() {
  for s in $SENTINELS; do
    [ "$s" = "$SELF" ] && continue
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

# "HOST PORT" of the data node that says it is a master, the one with the
# highest replication offset if several do.
master_from_nodes() {
  best=""
  best_offset=-1
  for n in $REDIS_NODES; do
    info=$(REDISCLI_AUTH=$password timeout 3 redis-cli --raw -h "$n" -p "$REDIS_PORT" \
      INFO replication 2>/dev/null | tr -d '\r') || continue
    printf '%s\n' "$info" | grep -qx 'role:master' || continue
    offset=$(printf '%s\n' "$info" | sed -n 's/^master_repl_offset://p')
    case $offset in "" | *[!0-9]*) offset=0 ;; esac
    if [ "$offset" -gt "$best_offset" ]; then
      best=$n
      best_offset=$offset
    fi
  done
  [ -n "$best" ] && echo "$best $REDIS_PORT"
}

if hp=$(master_from_sentinels); then
  how="as the other sentinels"
elif hp=$(master_from_nodes); then
  how="the data node that is a master"
else
  hp="$FIRST_MASTER $REDIS_PORT"
  how="first start"
fi
master=${hp% *}
master_port=${hp#* }

# With resolve-hostnames, Sentinel refuses to start on a name that does not
# resolve yet (the data node's pod may still be being created): wait for it.
deadline=$(($(date +%s) + WAIT_S))
until getent ahosts "$master" >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "$master does not resolve after ${WAIT_S}s; exiting so that the pod tries again"
    exit 1
  fi
  sleep 1
done

umask 077
{
  cat "$TEMPLATE"
  echo ""
  echo "# Added by sentinel-init.sh:"
  echo "sentinel announce-ip $SELF"
  echo "sentinel announce-port $SENTINEL_PORT"
  echo "requirepass $sentinel_password"
  echo "sentinel sentinel-pass $sentinel_password"
  echo "sentinel monitor $MASTER_NAME $master $master_port $QUORUM"
  echo "sentinel auth-pass $MASTER_NAME $password"
  echo "sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS"
  echo "sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS"
  echo "sentinel parallel-syncs $MASTER_NAME 1"
} >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
say "$SELF monitors $MASTER_NAME at $master:$master_port ($how), quorum $QUORUM"
