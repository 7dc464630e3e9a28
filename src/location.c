/* The location family (see location.h): each method is one script call.
 * Per script, in order: the KEYS/ARGV builder, then the reply reader, both
 * following the contract in location.h. */
#include "location.h"

#include <stdio.h>
#include <stdlib.h>

#include "keys.h"
#include "request.h"

size_t location_coord_text(double v, char out[32])
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
        lat_n = location_coord_text(p->coords.lat, lat);
        lng_n = location_coord_text(p->coords.lng, lng);
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

/* --- location.list: lua/location_list.lua ------------------------------ */

/* {OK, location, lat, lng, zone, priority, tags, ...}: six per location,
 * in name order. */
static void location_list_reply(struct request *req, struct reply *rd)
{
    struct request_scratch *sc = request_scratch(req);
    size_t count = reply_count(rd);
    if ((count - 1) % 6 != 0)
        rd->bad = true;
    size_t n = (count - 1) / 6;
    sc->locs = xgrow(sc->locs, &sc->locs_cap, n, sizeof *sc->locs);
    for (size_t i = 0; i < n; i++) {
        sc->locs[i].location = reply_ident(rd, 1 + 6 * i).s;
        reply_location(rd, 2 + 6 * i, &sc->locs[i]);
    }
    if (rd->bad)
        return;
    result_locations(request_result(req), sc->locs, n);
    request_finish(req);
}

void location_list(struct request *req)
{
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, LOCATION_LIST_K_LOCATIONS, ns, KEY_LOCATIONS, NULL);
    ARGS_AT(a, LOCATION_LIST_K_FIXED + LOCATION_LIST_A_PREFIX);
    args_add_prefix(a, ns, KEY_LOCATION);
    request_call(req, SCRIPT_LOCATION_LIST, LOCATION_LIST_K_FIXED, LOCATION_LIST_STATUSES,
                 location_list_reply);
}
