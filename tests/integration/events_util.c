/* The stock-events stream of the events tests read back and checked, and
 * the steps those tests share (events_util.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_util.h"

/* --- the stream, read back ------------------------------------------------ */

/* The fields every entry has, in this order. */
static const char *const entry_fields[] = {"type",      "sku",   "location",    "available",
                                           "threshold", "cause", "reservation", "prev"};

static void copy(char *dst, size_t size, const redisReply *v)
{
    if (v->type != REDIS_REPLY_STRING || v->len >= size)
        fail_msg("a stream value that is not a short string");
    memcpy(dst, v->str, v->len + 1);
}

/* Every entry of the stream, oldest first, in *out (malloc'd; free it);
 * their count. Fails on an entry without exactly the fields above. */
int read_events(struct event **out)
{
    int n = 0, cap = 0;
    *out = NULL;
    char from[64] = "-";
    for (;;) {
        redisReply *r = harness_redis(&H, "XRANGE " STREAM " %s + COUNT 1000", from);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        size_t got = r->elements;
        for (size_t i = 0; i < got; i++) {
            const redisReply *id = r->element[i]->element[0], *fv = r->element[i]->element[1];
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                struct event *grown = realloc(*out, (size_t)cap * sizeof **out);
                assert_non_null(grown);
                *out = grown;
            }
            struct event *e = &(*out)[n++];
            if (fv->elements != 16)
                fail_msg("entry %s has %zu fields and values", id->str, fv->elements);
            for (size_t f = 0; f < 8; f++)
                if (strcmp(fv->element[2 * f]->str, entry_fields[f]) != 0)
                    fail_msg("entry %s: field %zu is %s, not %s", id->str, f,
                             fv->element[2 * f]->str, entry_fields[f]);
            copy(e->id, sizeof e->id, id);
            copy(e->type, sizeof e->type, fv->element[1]);
            copy(e->sku, sizeof e->sku, fv->element[3]);
            copy(e->loc, sizeof e->loc, fv->element[5]);
            e->available = atoll(fv->element[7]->str);
            e->threshold = atoll(fv->element[9]->str);
            copy(e->cause, sizeof e->cause, fv->element[11]);
            copy(e->rid, sizeof e->rid, fv->element[13]);
            copy(e->prev, sizeof e->prev, fv->element[15]);
            snprintf(from, sizeof from, "(%s", e->id);
        }
        freeReplyObject(r);
        if (got < 1000)
            return n;
    }
}

/* Names given to reservation ids, so that an entry reads "... r2". */
static struct {
    char id[64], name[16];
} names[64];
static int n_names;

void name_id(const char *id, const char *name)
{
    assert_true(n_names < 64);
    snprintf(names[n_names].id, sizeof names[0].id, "%s", id);
    snprintf(names[n_names].name, sizeof names[0].name, "%s", name);
    n_names++;
}

static const char *id_name(const char *id)
{
    if (id[0] == '\0')
        return "-";
    for (int i = 0; i < n_names; i++)
        if (strcmp(names[i].id, id) == 0)
            return names[i].name;
    return id;
}

/* The stream from entry `from` on as "type sku@location available/threshold
 * cause reservation" joined by "; " (static storage). */
static const char *events_from(int from)
{
    static char out[8192];
    struct event *e;
    int n = read_events(&e);
    out[0] = '\0';
    size_t len = 0;
    for (int i = from; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s %s@%s %lld/%lld %s %s",
                                i > from ? "; " : "", e[i].type, e[i].sku, e[i].loc,
                                e[i].available, e[i].threshold, e[i].cause, id_name(e[i].rid));
    free(e);
    return out;
}

void expect_events_at(int line, int from, const char *want)
{
    const char *got = events_from(from);
    if (strcmp(got, want) != 0)
        fail_msg("line %d: stock events from %d\nwant: %s\n got: %s", line, from, want, got);
}

/* The id of an entry's (sku, location) chain position: -1 when none
 * before it. */
static int chain_before(const struct event *e, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (strcmp(e[j].sku, e[i].sku) == 0 && strcmp(e[j].loc, e[i].loc) == 0)
            return j;
    return -1;
}

/* What every stream must be: each entry's prev is the id of the entry
 * before it of its (sku, location) ('' for the first); out_of_stock and
 * back_in_stock alternate per (sku, location); each entry's available is
 * on the side of its level that its type says; and the <loc>:event field
 * of each stock hash names the last entry of its location. Returns the
 * number of entries. */
int check_chains(void)
{
    struct event *e;
    int n = read_events(&e);
    for (int i = 0; i < n; i++) {
        int j = chain_before(e, i);
        if (strcmp(e[i].prev, j < 0 ? "" : e[j].id) != 0)
            fail_msg("entry %d (%s) of %s@%s: prev '%s', want '%s'", i, e[i].id, e[i].sku,
                     e[i].loc, e[i].prev, j < 0 ? "" : e[j].id);
        bool low = strcmp(e[i].type, "low_stock") == 0;
        bool out = strcmp(e[i].type, "out_of_stock") == 0;
        bool back = strcmp(e[i].type, "back_in_stock") == 0;
        if (!(low && e[i].available <= e[i].threshold && e[i].threshold >= 0) &&
            !(out && e[i].available <= 0 && e[i].threshold == 0) &&
            !(back && e[i].available > 0 && e[i].threshold == 0))
            fail_msg("entry %d: %s with available %lld, threshold %lld", i, e[i].type,
                     e[i].available, e[i].threshold);
        /* The last entry about 0 of this (sku, location) is the other one. */
        for (int k = j; (out || back) && k >= 0; k = chain_before(e, k)) {
            if (strcmp(e[k].type, "low_stock") == 0)
                continue;
            if (strcmp(e[k].type, e[i].type) == 0)
                fail_msg("entries %d and %d of %s@%s: two %s in a row", k, i, e[i].sku, e[i].loc,
                         e[i].type);
            break;
        }
        bool last = true;
        for (int k = i + 1; k < n && last; k++)
            last = strcmp(e[k].sku, e[i].sku) != 0 || strcmp(e[k].loc, e[i].loc) != 0;
        if (last) {
            redisReply *r =
                harness_redis(&H, "HGET {inv}:stock:%s %s:event", e[i].sku, e[i].loc);
            if (r->type != REDIS_REPLY_STRING || strcmp(r->str, e[i].id) != 0)
                fail_msg("%s@%s: event field '%s', want '%s'", e[i].sku, e[i].loc,
                         r->type == REDIS_REPLY_STRING ? r->str : "(none)", e[i].id);
            freeReplyObject(r);
        }
    }
    free(e);
    return n;
}

/* --- shared steps ----------------------------------------------------------- */

int events_teardown(void **state)
{
    (void)state;
    check_chains();
    audit_ok_on(conn());
    n_names = 0;
    return 0;
}

/* A reserve of params that must succeed, its id named name. */
void hold_as(const char *name, const char *fmt, ...)
{
    char params[1024], id[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(params, sizeof params, fmt, ap);
    va_end(ap);
    cJSON_Delete(reserve_ok(id, "%s", params));
    name_id(id, name);
}

/* The id named name. */
const char *id_of(const char *name)
{
    for (int i = 0; i < n_names; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].id;
    fail_msg("no reservation named %s", name);
    return NULL;
}

void ok(cJSON *r)
{
    cJSON_Delete(must(r));
}
