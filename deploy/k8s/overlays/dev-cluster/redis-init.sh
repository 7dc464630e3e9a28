#!/bin/sh
# Completes a cluster node's configuration before redis-server starts (the
# init container of redis-statefulset.yaml): redis.conf from the ConfigMap,
# the node's name as clients should reach it, and the password. A node that
# has run before keeps its identity in nodes.conf on its claim; since pod
# IPs change when pods are replaced, the peers' addresses there are looked
# up again by the names the peers announce, so that a cluster whose pods
# all moved at once finds itself again. Creating the cluster, or adding a
# replaced node back, is the Job's (cluster-create.sh).
#
# Environment (set by the StatefulSet): SELF (this node's host name, as the
# others and the clients reach it); optional: TEMPLATE, CONF, SECRETS, DATA
# (paths), WAIT_S (30: how long to wait for the peers' names to resolve).
set -eu

: "${SELF:?}" "${WAIT_S:=30}"
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

# The IPv4 address of a name, or nothing.
ip_of() { getent ahostsv4 "$1" 2>/dev/null | awk 'NR == 1 { print $1 }'; }

# nodes.conf lines: <id> <ip:port@bus[,hostname[,aux...]]> <flags> ...
# Each peer that announced a name gets that name's current address, when it
# resolves within WAIT_S (the others keep theirs: Redis also learns a
# peer's new address when the peer connects).
nodes=$DATA/nodes.conf
if [ -s "$nodes" ]; then
  deadline=$(($(date +%s) + WAIT_S))
  names=$(awk '$2 ~ /,[^,]/ { split($2, a, ","); print a[2] }' "$nodes" | sort -u)
  for n in $names; do
    until [ -n "$(ip_of "$n")" ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 1; done
  done
  : >"$CONF.nodes"
  set -f
  while IFS= read -r line; do
    set -- $line
    addr=${2:-}
    name=$(printf '%s' "$addr" | cut -s -d, -f2)
    ip=""
    [ -n "$name" ] && ip=$(ip_of "$name")
    if [ -n "$ip" ] && [ "${addr#*:}" != "$addr" ]; then
      line=$(printf '%s\n' "$line" | sed "s#^\([^ ]* \)[^:]*:#\1$ip:#")
    fi
    printf '%s\n' "$line" >>"$CONF.nodes"
  done <"$nodes"
  if ! cmp -s "$CONF.nodes" "$nodes"; then
    cat "$CONF.nodes" >"$nodes"
    say "$SELF: peers' addresses in nodes.conf looked up again by their names"
  fi
  rm -f "$CONF.nodes"
  set +f
fi

umask 077
{
  cat "$TEMPLATE"
  echo ""
  echo "# Added by redis-init.sh:"
  echo "cluster-announce-hostname $SELF"
  echo "requirepass $password"
  echo "masterauth $password"
} >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
if [ -s "$nodes" ]; then
  say "$SELF starts as the node in nodes.conf ($(awk '/myself/ { print $1 }' "$nodes"))"
else
  say "$SELF starts as a new node (cluster-create.sh adds it)"
fi
