/* Fuzzes params validation, the only path from client strings to Redis
 * keys. Every accepted request must hold only what the contract allows:
 * identifiers of 1..128 allowed bytes, whole quantities in range, no
 * repeated sku or location; and every key built from its identifiers must
 * keep the namespace hash tag as its only braces. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "keys.h"
#include "validate.h"

static bool allowed(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._~@/+=-", c) != NULL;
}

static void check_ident(const struct ident *id)
{
    FUZZ_CHECK(id->s.n >= 1 && id->s.n <= IDENT_MAX);
    for (size_t i = 0; i < id->s.n; i++)
        FUZZ_CHECK(id->s.p[i] != 0 && allowed((unsigned char)id->s.p[i]));
    /* A key built from it has exactly the namespace's braces and the two
     * colons of "{ns}:<segment>:<id>". */
    static const struct ident ns = {{"inv", 3}};
    struct buf key;
    buf_init(&key);
    keys_build(&key, &ns, KEY_STOCK, id);
    size_t braces = 0, colons = 0;
    for (size_t i = 0; i < key.len; i++) {
        braces += key.data[i] == '{' || key.data[i] == '}';
        colons += key.data[i] == ':';
    }
    FUZZ_CHECK(braces == 2 && colons == 2);
    FUZZ_CHECK(key.len == strlen("{inv}:stock:") + id->s.n);
    buf_free(&key);
}

static bool same(const struct ident *a, const struct ident *b)
{
    return str_eq(a->s, b->s);
}

static void check_params(enum method_id m, const struct params *p, const struct limits *lim)
{
    const struct ident *ids[] = {&p->sku, &p->location, &p->channel, &p->order_id,
                                 &p->reservation_id};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i]->s.p != NULL)
            check_ident(ids[i]);
    FUZZ_CHECK(p->n_items <= lim->max_items);
    for (unsigned i = 0; i < p->n_items; i++) {
        check_ident(&p->items[i].sku);
        FUZZ_CHECK(p->items[i].quantity >= 1 && p->items[i].quantity <= QTY_MAX);
        for (unsigned k = 0; k < i; k++)
            FUZZ_CHECK(!same(&p->items[k].sku, &p->items[i].sku));
    }
    if (m == METHOD_RESERVE)
        FUZZ_CHECK(p->n_items >= 1);
    FUZZ_CHECK(p->n_locations <= MAX_LOCATIONS);
    for (unsigned i = 0; i < p->n_locations; i++) {
        check_ident(&p->locations[i]);
        for (unsigned k = 0; k < i; k++)
            FUZZ_CHECK(!same(&p->locations[k], &p->locations[i]));
    }
    if (m == METHOD_STOCK_SET) {
        FUZZ_CHECK(p->on_hand >= 0 && p->on_hand <= STOCK_MAX);
        if (p->present & HAS_SAFETY_STOCK)
            FUZZ_CHECK(p->safety_stock >= 0 && p->safety_stock <= STOCK_MAX);
    }
    if (m == METHOD_STOCK_ADJUST)
        FUZZ_CHECK(p->delta != 0 && p->delta >= -STOCK_MAX && p->delta <= STOCK_MAX);
    if (m == METHOD_RESERVE || m == METHOD_EXTEND)
        FUZZ_CHECK(p->ttl_ms >= TTL_MIN_MS && p->ttl_ms <= TTL_MAX_MS);
    if (p->present & HAS_ZONE)
        check_ident(&p->zone);
    FUZZ_CHECK(p->n_tags <= MAX_TAGS);
    for (unsigned i = 0; i < p->n_tags; i++) {
        check_ident(&p->tags[i]);
        for (unsigned k = 0; k < i; k++)
            FUZZ_CHECK(!same(&p->tags[k], &p->tags[i]));
    }
    FUZZ_CHECK(p->n_rules <= MAX_RULES && (p->n_rules > 0) == !!(p->present & HAS_RULES));
    for (unsigned i = 0; i < p->n_rules; i++) {
        FUZZ_CHECK(p->rules[i] < RULE_COUNT);
        for (unsigned k = 0; k < i; k++)
            FUZZ_CHECK(p->rules[k] != p->rules[i]);
    }
    FUZZ_CHECK(p->priority >= -PRIORITY_MAX && p->priority <= PRIORITY_MAX);
    FUZZ_CHECK(!(p->present & HAS_LNG)); /* only ever both, as HAS_COORDS */
    if (p->present & HAS_COORDS)
        FUZZ_CHECK(isfinite(p->coords.lat) && fabs(p->coords.lat) <= 90 &&
                   isfinite(p->coords.lng) && fabs(p->coords.lng) <= 180);
    if (p->present & HAS_DESTINATION) {
        const struct coords *at = &p->destination.at;
        FUZZ_CHECK(isfinite(at->lat) && fabs(at->lat) <= 90 && isfinite(at->lng) &&
                   fabs(at->lng) <= 180);
        if (p->present & HAS_DEST_ZONE)
            check_ident(&p->destination.zone);
    } else {
        FUZZ_CHECK(!(p->present & (HAS_MAX_DISTANCE | HAS_DEST_ZONE)));
    }
    if (p->present & HAS_MAX_DISTANCE)
        FUZZ_CHECK(p->max_distance_km > 0 && isfinite(p->max_distance_km));
    if (p->present & HAS_REASON) {
        FUZZ_CHECK(p->reason.n >= 1 && p->reason.n <= TEXT_MAX);
        for (size_t i = 0; i < p->reason.n; i++)
            FUZZ_CHECK((unsigned char)p->reason.p[i] >= 0x20 && p->reason.p[i] != 0x7f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_request req;
    struct rpc_error err;
    if (rpc_decode((const char *)data, size, &req, &err) == 0) {
        int m = method_lookup(req.method);
        if (m >= 0) {
            static struct ident locs[MAX_LOCATIONS];
            static struct line_item items[8];
            const struct limits lim = {8, 900000};
            struct params p;
            memset(&p, 0, sizeof p);
            p.locations = locs;
            p.items = items;
            if (params_validate((enum method_id)m, req.params, &lim, &p, &err) == 0)
                check_params((enum method_id)m, &p, &lim);
            else
                FUZZ_CHECK(err.id == E_INVALID_PARAMS && err.has_field);
        }
    }
    rpc_request_free(&req);
    return 0;
}
