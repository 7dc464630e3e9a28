/* The location family (see location.h): each method is one script call.
 * Per script, in order: the KEYS/ARGV builder, then the reply reader, both
 * following the contract in location.h. */
#include "location.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "request.h"
#include "route.h"

/* A coordinate as the shortest decimal that reads back as the same double
 * (52.52, not 52.520000000000003); out holds 32 bytes. Returns the length. */
static size_t coord_text(double v, char out[32])
{
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(out, 32, "%.*g", digits, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return (size_t)n;
}

/* --- location.set: lua/location_set.lua -------------------------------- */

static void location_reply(struct request *req, struct reply *rd);

void location_set(struct request *req)
{
    const struct params *p = &req->params;
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, LOCATION_SET_K_LOCATION, ns, KEY_LOCATION, &p->location);
    ARG_KEY(a, LOCATION_SET_K_LOCATIONS, ns, KEY_LOCATIONS, NULL);
    ARG_KEY(a, LOCATION_SET_K_GEO, ns, KEY_GEO, NULL);
    int base = LOCATION_SET_K_FIXED;
    ARG_IDENT(a, base + LOCATION_SET_A_LOCATION, &p->location);
    char lat[32], lng[32];
    size_t lat_n = 0, lng_n = 0;
    if (p->present & HAS_COORDS) {
        lat_n = coord_text(p->coords.lat, lat);
        lng_n = coord_text(p->coords.lng, lng);
    }
    ARG_BYTES(a, base + LOCATION_SET_A_LAT, lat, lat_n);
    ARG_BYTES(a, base + LOCATION_SET_A_LNG, lng, lng_n);
    ARG_STR(a, base + LOCATION_SET_A_ZONE, (p->present & HAS_ZONE) ? p->zone.s : STR_LIT(""));
    ARG_INT(a, base + LOCATION_SET_A_PRIORITY, p->priority);
    /* The tags, comma-joined (an identifier has no comma). */
    struct buf *tags = &request_scratch(req)->json;
    buf_reset(tags);
    for (unsigned i = 0; i < p->n_tags; i++) {
        if (i > 0)
            buf_appendc(tags, ',');
        buf_append(tags, p->tags[i].s.p, p->tags[i].s.n);
    }
    ARG_BYTES(a, base + LOCATION_SET_A_TAGS, tags->data, tags->len);
    buf_reset(tags);
    route_pack_location(tags, (p->present & HAS_COORDS) != 0, p->coords.lat, p->coords.lng,
                        p->priority, (p->present & HAS_ZONE) ? p->zone.s : STR_LIT(""));
    ARG_BYTES(a, base + LOCATION_SET_A_ENTRY, tags->data, tags->len);
    request_call(req, SCRIPT_LOCATION_SET, LOCATION_SET_K_FIXED, LOCATION_SET_STATUSES,
                 location_reply);
}

/* location.set and location.get: {OK, lat, lng, zone, priority, tags}
 * (location.get also {NOT_FOUND}; both number OK the same, checked). */
static void location_reply(struct request *req, struct reply *rd)
{
    _Static_assert((int)LOCATION_SET_ST_OK == (int)LOCATION_GET_ST_OK, "one reader for both");
    if (reply_status(rd) != LOCATION_GET_ST_OK) {
        reply_expect(rd, 1);
        struct rpc_error err;
        rpc_error_set(&err, E_NOT_FOUND);
        err.message = "No such location.";
        if (!rd->bad)
            request_fail(req, &err);
        return;
    }
    struct location_rec rec;
    reply_expect(rd, 6);
    reply_location(rd, 1, &rec);
    rec.location = req->params.location.s;
    if (rd->bad)
        return;
    result_location(request_result(req), &rec);
    request_finish(req);
}

/* --- location.get: lua/location_get.lua -------------------------------- */

void location_get(struct request *req)
{
    struct args *a = request_args(req);
    ARG_KEY(a, LOCATION_GET_K_LOCATION, request_ns(req), KEY_LOCATION, &req->params.location);
    request_call(req, SCRIPT_LOCATION_GET, LOCATION_GET_K_FIXED, LOCATION_GET_STATUSES,
                 location_reply);
}

/* --- location.list: lua/location_list.lua, page by page --------------- */

#define LIST_PAGE 200 /* HSCAN COUNT: a page's records read in one call */

/* What the pages gave so far; owned by the request's ctx. */
struct list_state {
    char cursor[24];
    struct args rows;      /* per location: name, lat, lng, zone, tags (copies) */
    long long *priorities; /* per location */
    size_t priorities_cap;
};

struct list_ctx {
    struct list_state *st; /* owned; freed when the request is answered */
};

static void list_end(struct request *req)
{
    struct list_state *st = REQUEST_CTX(req, struct list_ctx)->st;
    args_free(&st->rows);
    free(st->priorities);
    free(st);
}

static int rec_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct location_rec *)a)->location,
                   ((const struct location_rec *)b)->location);
}

/* Every page read: the records by name, each once. */
static void list_finish(struct request *req)
{
    struct list_state *st = REQUEST_CTX(req, struct list_ctx)->st;
    struct request_scratch *sc = request_scratch(req);
    size_t n = (size_t)st->rows.n / 5;
    sc->locs = xgrow(sc->locs, &sc->locs_cap, n, sizeof *sc->locs);
    for (size_t i = 0; i < n; i++) {
        struct location_rec *r = &sc->locs[i];
        int at = (int)(5 * i);
        r->location = args_get(&st->rows, at);
        r->lat = args_get(&st->rows, at + 1);
        r->lng = args_get(&st->rows, at + 2);
        r->zone = args_get(&st->rows, at + 3);
        r->tags = args_get(&st->rows, at + 4);
        r->priority = st->priorities[i];
    }
    if (n > 1)
        qsort(sc->locs, n, sizeof *sc->locs, rec_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || !str_eq(sc->locs[kept - 1].location, sc->locs[i].location))
            sc->locs[kept++] = sc->locs[i];
    result_locations(request_result(req), sc->locs, kept);
    request_finish(req);
}

static void list_page(struct request *req);

/* {OK, cursor, location, lat, lng, zone, priority, tags, ...}: a page, six
 * per location, in no order. Each record is checked, then copied. */
static void location_list_reply(struct request *req, struct reply *rd)
{
    struct list_state *st = REQUEST_CTX(req, struct list_ctx)->st;
    size_t count = reply_count(rd);
    struct str cursor = reply_str(rd, 1);
    if (count < 2 || (count - 2) % 6 != 0 || cursor.n == 0 || cursor.n >= sizeof st->cursor)
        rd->bad = true;
    for (size_t at = 2; at + 6 <= count && !rd->bad; at += 6) {
        struct location_rec rec;
        struct ident name = reply_ident(rd, at);
        reply_location(rd, at + 1, &rec);
        if (rd->bad)
            break;
        size_t i = (size_t)st->rows.n / 5;
        st->priorities = xgrow(st->priorities, &st->priorities_cap, i + 1, sizeof *st->priorities);
        st->priorities[i] = rec.priority;
        args_add_str(&st->rows, name.s);
        args_add_str(&st->rows, rec.lat);
        args_add_str(&st->rows, rec.lng);
        args_add_str(&st->rows, rec.zone);
        args_add_str(&st->rows, rec.tags);
    }
    if (rd->bad)
        return;
    memcpy(st->cursor, cursor.p, cursor.n);
    st->cursor[cursor.n] = '\0';
    if (strcmp(st->cursor, "0") == 0) {
        list_finish(req);
        return;
    }
    request_renew_deadline(req);
    list_page(req);
}

static void list_page(struct request *req)
{
    struct list_state *st = REQUEST_CTX(req, struct list_ctx)->st;
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, LOCATION_LIST_K_LOCATIONS, ns, KEY_LOCATIONS, NULL);
    ARGS_AT(a, LOCATION_LIST_K_FIXED + LOCATION_LIST_A_PREFIX);
    args_add_prefix(a, ns, KEY_LOCATION);
    ARG_BYTES(a, LOCATION_LIST_K_FIXED + LOCATION_LIST_A_CURSOR, st->cursor, strlen(st->cursor));
    ARG_INT(a, LOCATION_LIST_K_FIXED + LOCATION_LIST_A_COUNT, LIST_PAGE);
    request_call(req, SCRIPT_LOCATION_LIST, LOCATION_LIST_K_FIXED, LOCATION_LIST_STATUSES,
                 location_list_reply);
}

void location_list(struct request *req)
{
    struct list_state *st = xcalloc(1, sizeof *st);
    args_init(&st->rows);
    strcpy(st->cursor, "0");
    REQUEST_CTX(req, struct list_ctx)->st = st;
    request_on_end(req, list_end);
    list_page(req);
}
