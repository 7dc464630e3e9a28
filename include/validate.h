/* Methods and their parameters: the method table, and validation of a
 * request's params object into a plain struct. Identifier validation lives
 * here too; it is the only way to obtain a struct ident, and keys.h builds
 * Redis keys from nothing else. Pure: no I/O. */
#ifndef STOCKD_VALIDATE_H
#define STOCKD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "rpc.h"

#define IDENT_MAX 128        /* bytes in sku, location, channel, order_id, ... */
#define MAX_LOCATIONS 64     /* in a channel, or in a reserve's locations */
#define TEXT_MAX 256         /* bytes in a free-text reason */
#define TOKEN_MAX 1023       /* bytes in an auth token */
#define QTY_MAX 1000000000LL /* one line of a reservation */
#define STOCK_MAX 1000000000000000LL /* on_hand, safety_stock, |delta| */
#define TTL_MIN_MS 1000LL
#define TTL_MAX_MS 86400000LL

/* X(enum name, wire name). The order is the order of the method table. */
#define STOCKD_METHODS(X)                                                                          \
    X(PING, "ping")                                                                                \
    X(AUTH, "auth")                                                                                \
    X(STOCK_SET, "stock.set")                                                                      \
    X(STOCK_ADJUST, "stock.adjust")                                                                \
    X(STOCK_GET, "stock.get")                                                                      \
    X(CHANNEL_SET, "channel.set")                                                                  \
    X(CHANNEL_GET, "channel.get")                                                                  \
    X(RESERVE, "reserve")                                                                          \
    X(RESERVATION_GET, "reservation.get")                                                          \
    X(COMMIT, "commit")                                                                            \
    X(RELEASE, "release")                                                                          \
    X(EXTEND, "extend")                                                                            \
    X(STOCK_AUDIT, "stock.audit")

enum method_id {
#define X(name, wire) METHOD_##name,
    STOCKD_METHODS(X)
#undef X
        METHOD_COUNT
};

/* Looks a method up by its wire name (case-sensitive). Returns its id, or
 * -E_METHOD_NOT_FOUND. */
int method_lookup(const char *name);
const char *method_name(enum method_id m);

/* An identifier that passed ident_check: 1..IDENT_MAX bytes of
 * [A-Za-z0-9._~@/+=-]. Borrowed: p points into the request or the config. */
struct ident {
    const char *p;
    size_t n;
};

/* Returns true and fills *out when s[0..n) is a valid identifier. */
bool ident_check(const char *s, size_t n, struct ident *out);

/* A free-text field (reason): valid UTF-8, no control bytes. Borrowed. */
struct text {
    const char *p;
    size_t n;
};

enum strategy { STRATEGY_AUTO, STRATEGY_SINGLE, STRATEGY_PER_LINE, STRATEGY_SPLIT };
const char *strategy_name(enum strategy s);

struct line_item {
    struct ident sku;
    long long quantity;
};

/* Bits of params.present, one per optional field. */
enum {
    HAS_SAFETY_STOCK = 1u << 0,
    HAS_TTL = 1u << 1,
    HAS_ORDER_ID = 1u << 2,
    HAS_CHANNEL = 1u << 3,
    HAS_LOCATIONS = 1u << 4,
    HAS_REASON = 1u << 5,
    HAS_STRATEGY = 1u << 6,
    HAS_SKU = 1u << 7,
};

/* The validated params of any method; each method fills the fields it has.
 * Everything borrowed points into the parsed request, which must outlive it. */
struct params {
    unsigned present;
    struct ident sku, location, channel, order_id, reservation_id;
    struct text reason;
    struct text token; /* auth: never logged or echoed */
    long long on_hand, safety_stock, delta, ttl_ms;
    enum strategy strategy;
    struct ident *locations; /* caller's storage for MAX_LOCATIONS entries */
    unsigned n_locations;
    struct line_item *items; /* caller's storage for max_items entries */
    unsigned n_items;
};

struct limits {
    unsigned max_items;      /* lines in one reserve */
    long long default_ttl_ms; /* reserve without ttl_ms */
};

/* Validates params (may be NULL when the request had none) for method m into
 * out. out->locations and out->items must point to storage for MAX_LOCATIONS
 * and lim->max_items entries. Returns 0 or -E_INVALID_PARAMS with err naming
 * the field. Unknown fields are rejected, so that a typo never goes unseen. */
int params_validate(enum method_id m, const cJSON *params, const struct limits *lim,
                    struct params *out, struct rpc_error *err);

#endif
