# Sourced by the checks that start a Redis Cluster on loopback addresses
# (rehearse-cluster.sh, monitoring.sh): a port for every node, free on
# every address with its cluster bus port (+10000) free too, and below the
# ephemeral range so that no outgoing connection takes it meanwhile.
cluster_free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 2700))
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
    ss -Hltn "sport = :$((p + 10000))" 2>/dev/null | grep -q . && continue
    echo "$p"
    return
  done
}
