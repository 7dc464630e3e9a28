/* The slot map (see cluster_map.h). */
#include "cluster_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct cluster_map *m, char *why, size_t whylen, const char *what)
{
    memset(m->owner, 0xff, sizeof m->owner);
    m->n_nodes = m->n_masters = 0;
    m->covered = 0;
    snprintf(why, whylen, "CLUSTER SLOTS: %s", what);
    return -1;
}

/* The node [host, port, ...] of e: its index in m (added when new; -1 when
 * m is full), or -2 when e is not such a node. masters: add as a master
 * (masters must come before replicas, so the replicas are added after). */
static int node_of(struct cluster_map *m, const redisReply *e, const char *asked_host)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_INTEGER ||
        e->element[1]->integer < 1 || e->element[1]->integer > 65535)
        return -2;
    const char *host = e->element[0]->str;
    if (host[0] == '\0' || strcmp(host, "?") == 0)
        host = asked_host;
    if (strlen(host) >= sizeof m->node[0].host)
        return -2;
    int port = (int)e->element[1]->integer;
    int i = cluster_map_find(m, host, port);
    if (i >= 0 || m->n_nodes == CLUSTER_MAP_NODES)
        return i;
    snprintf(m->node[m->n_nodes].host, sizeof m->node[0].host, "%s", host);
    m->node[m->n_nodes].port = port;
    return m->n_nodes++;
}

static bool range_ok(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
           r->element[0]->type == REDIS_REPLY_INTEGER &&
           r->element[1]->type == REDIS_REPLY_INTEGER && r->element[0]->integer >= 0 &&
           r->element[0]->integer <= r->element[1]->integer && r->element[1]->integer < SLOT_COUNT;
}

int cluster_map_parse(struct cluster_map *m, const redisReply *r, const char *asked_host, char *why,
                      size_t whylen)
{
    memset(m->owner, 0xff, sizeof m->owner);
    m->n_nodes = m->n_masters = 0;
    m->covered = 0;
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return fail(m, why, whylen, r ? r->str : "no reply");
    if (r->type != REDIS_REPLY_ARRAY)
        return fail(m, why, whylen, "not an array");
    /* Two passes: the masters first, so that they lead node[]. */
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (!range_ok(e))
            return fail(m, why, whylen, "an element that is not [start, end, master, ...]");
        int k = node_of(m, e->element[2], asked_host);
        if (k == -2)
            return fail(m, why, whylen, "a master that is not [host, port, ...]");
        if (k < 0)
            continue;
        for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++) {
            if (m->owner[s] == CLUSTER_MAP_NONE)
                m->covered++;
            m->owner[s] = (uint16_t)k;
        }
    }
    m->n_masters = m->n_nodes;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        for (size_t j = 3; j < e->elements; j++)
            if (node_of(m, e->element[j], asked_host) == -2)
                return fail(m, why, whylen, "a replica that is not [host, port, ...]");
    }
    return 0;
}

int cluster_map_find(const struct cluster_map *m, const char *host, int port)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->node[i].port == port && strcmp(m->node[i].host, host) == 0)
            return i;
    return -1;
}

int cluster_addr_parse(struct cluster_addr *a, const char *s, size_t n)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL || colon == s || colon + 1 == s + n)
        return -1;
    const char *h = s, *h_end = colon;
    if (*h == '[' && h_end[-1] == ']') {
        h++;
        h_end--;
    }
    size_t hn = (size_t)(h_end - h);
    if (hn == 0 || hn >= sizeof a->host)
        return -1;
    long port = 0;
    for (const char *p = colon + 1; p < s + n; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return -1;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    memcpy(a->host, h, hn);
    a->host[hn] = '\0';
    a->port = (int)port;
    return 0;
}
