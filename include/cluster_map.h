/* A Redis Cluster's slot map, as CLUSTER SLOTS tells it: which master
 * serves each of the 16384 hash slots, and the other nodes known (the
 * replicas), which may be asked for the map when the masters cannot.
 * Reads a hiredis reply; opens nothing. */
#ifndef STOCKD_CLUSTER_MAP_H
#define STOCKD_CLUSTER_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "slot.h"

/* Most nodes a map names (masters and replicas); past it, nodes are left
 * out (a slot whose master is left out is uncovered). */
#define CLUSTER_MAP_NODES 128
#define CLUSTER_MAP_NONE 0xffff /* owner[] of a slot no master serves */

struct cluster_addr {
    char host[256];
    int port;
};

struct cluster_map {
    uint16_t owner[SLOT_COUNT]; /* index in node[] of each slot's master, or CLUSTER_MAP_NONE */
    struct cluster_addr node[CLUSTER_MAP_NODES]; /* masters (those that serve slots) first */
    int n_nodes, n_masters;
    unsigned covered; /* slots with a master */
};

/* Fills m from a CLUSTER SLOTS reply r: [[start, end, [host, port, id,
 * ...], [replica...]...]...]. A node's host given as "" or "?" (the node
 * that answered does not know its own address) is taken as asked_host.
 * Returns 0, or -1 with why (one line) when r is not such a reply; m is
 * then empty. */
int cluster_map_parse(struct cluster_map *m, const redisReply *r, const char *asked_host, char *why,
                      size_t whylen);
/* The index of host:port among m's nodes, or -1. */
int cluster_map_find(const struct cluster_map *m, const char *host, int port);
/* Parses "host:port" (the last ':' starts the port; "[v6]:port" too), as in
 * MOVED and ASK replies, into a. Returns 0 or -1. */
int cluster_addr_parse(struct cluster_addr *a, const char *s, size_t n);

#endif
