/* Live moves of a slot between the test cluster's masters, the way
 * redis-cli reshards (see cluster_util.h): IMPORTING/MIGRATING, MIGRATE in
 * chunks, SETSLOT NODE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h" /* xmalloc and friends */
#include "cluster_util.h"
#include "harness.h"

void cl_move_begin(struct cluster *c, struct cl_move *m, unsigned slot, int to, int chunk)
{
    memset(m, 0, sizeof *m);
    m->slot = slot;
    m->to = to;
    m->chunk = chunk > 0 ? chunk : 10;
    m->from = cl_master_of_slot(c, slot);
    if (m->from < 0 || m->from == to)
        fail_msg("slot %u: owner %d cannot move to node %d", slot, m->from, to);
    freeReplyObject(cl_must(c, to, "CLUSTER SETSLOT %u IMPORTING %s", slot, c->node[m->from].id));
    freeReplyObject(cl_must(c, m->from, "CLUSTER SETSLOT %u MIGRATING %s", slot, c->node[to].id));
}

/* Gives the slot to m->to on every running master, the target first. */
static void move_finish(struct cluster *c, struct cl_move *m)
{
    int order[CL_NODES_MAX], n = 0;
    order[n++] = m->to;
    order[n++] = m->from;
    for (int i = 0; i < c->n_nodes; i++)
        if (i != m->to && i != m->from && c->node[i].pid > 0 && cl_is_master(c, i))
            order[n++] = i;
    for (int k = 0; k < n; k++)
        freeReplyObject(
            cl_must(c, order[k], "CLUSTER SETSLOT %u NODE %s", m->slot, c->node[m->to].id));
    m->done = true;
}

/* One chunk; false when no key was left to move. */
static bool move_chunk(struct cluster *c, struct cl_move *m)
{
    redisReply *keys = cl_must(c, m->from, "CLUSTER GETKEYSINSLOT %u %d", m->slot, m->chunk);
    if (keys->type != REDIS_REPLY_ARRAY)
        fail_msg("CLUSTER GETKEYSINSLOT did not answer an array");
    if (keys->elements == 0) {
        freeReplyObject(keys);
        return false;
    }
    size_t argc = 9 + keys->elements, at = 0;
    const char **argv = xcalloc(argc, sizeof *argv);
    size_t *lens = xcalloc(argc, sizeof *lens);
    char port[16];
    snprintf(port, sizeof port, "%d", c->node[m->to].port);
    const char *head[] = {"MIGRATE", "127.0.0.1", port,        "",    "0",
                          "5000",    "AUTH",      c->password, "KEYS"};
    for (size_t k = 0; k < 9; k++) {
        if ((k == 6 || k == 7) && !c->password[0])
            continue;
        argv[at] = head[k];
        lens[at++] = strlen(head[k]);
    }
    for (size_t k = 0; k < keys->elements; k++) {
        argv[at] = keys->element[k]->str;
        lens[at++] = keys->element[k]->len;
    }
    argc = at;
    redisContext *ctx = cl_ctx(c, m->from);
    redisReply *r = ctx ? redisCommandArgv(ctx, (int)argc, argv, lens) : NULL;
    if (r == NULL)
        fail_msg("MIGRATE on node %d got no reply", m->from);
    /* NOKEY: every key of the chunk expired or was deleted meanwhile. */
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOKEY", 5) != 0)
        fail_msg("MIGRATE of %zu keys of slot %u: %s", keys->elements, m->slot, r->str);
    m->keys_moved += (int)keys->elements;
    m->steps++;
    freeReplyObject(r);
    free(argv);
    free(lens);
    freeReplyObject(keys);
    return true;
}

bool cl_move_step(struct cluster *c, struct cl_move *m)
{
    if (m->done)
        return true;
    if (!move_chunk(c, m))
        move_finish(c, m);
    return m->done;
}

void cl_move_all_keys(struct cluster *c, struct cl_move *m)
{
    while (move_chunk(c, m))
        ;
}

void cl_move_key(struct cluster *c, struct cl_move *m, const char *key)
{
    redisReply *r = c->password[0]
                        ? cl_must(c, m->from, "MIGRATE 127.0.0.1 %d %s 0 5000 AUTH %s KEYS %s",
                                  c->node[m->to].port, "", c->password, key)
                        : cl_must(c, m->from, "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS %s",
                                  c->node[m->to].port, "", key);
    freeReplyObject(r);
    m->keys_moved++;
}

void cl_move_slot(struct cluster *c, unsigned slot, int to, int chunk)
{
    struct cl_move m;
    cl_move_begin(c, &m, slot, to, chunk);
    while (!cl_move_step(c, &m))
        ;
    cl_wait_ok(c, 20000);
}
