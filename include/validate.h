/* Validation of a request's params object into a plain struct, against each
 * method's params schema (validate.c; the methods themselves are declared in
 * methods.h). Unknown fields are refused, so a misspelt optional field never
 * goes unseen. Pure: no I/O. */
#ifndef STOCKD_VALIDATE_H
#define STOCKD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "ident.h"
#include "methods.h"
#include "rpc.h"

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
    HAS_COORDS = 1u << 8, /* location.set: lat and lng (both, checked) */
    HAS_LNG = 1u << 9,    /* lng seen (HAS_COORDS stands for both) */
    HAS_ZONE = 1u << 10,
    HAS_PRIORITY = 1u << 11,
    HAS_TAGS = 1u << 12,
    HAS_RULES = 1u << 13,
    HAS_DESTINATION = 1u << 14,
    HAS_MAX_DISTANCE = 1u << 15,
    HAS_EXPLAIN = 1u << 16,
    HAS_DEST_ZONE = 1u << 17, /* destination.zone */
    HAS_BACKORDER_LIMIT = 1u << 18,
    HAS_LOW_STOCK = 1u << 19,
    CLEAR_LOW_STOCK = 1u << 20, /* low_stock_threshold: null */
    HAS_QUANTITY = 1u << 21,    /* reservation.transfer */
    HAS_ALLOW_BACKORDER = 1u << 22,
    HAS_ALLOW_PARTIAL = 1u << 23,
    HAS_COUNT = 1u << 24, /* ui.ledger, ui.low_stock */
};

/* The most entries or rows the status page's lists ask for (ui_data.h has
 * their defaults). */
#define UI_LEDGER_MAX 100
#define UI_LOW_STOCK_MAX 200

/* The ranking rules of a channel (PROTOCOL-2: locations and routing). */
enum rule { RULE_SAME_ZONE, RULE_NEAREST, RULE_PRIORITY, RULE_CHANNEL_ORDER, RULE_COUNT };
const char *rule_name(enum rule r);
/* The rule of that name, or -1. */
int rule_lookup(struct str name);

/* A point on the earth as the client gave it (degrees). */
struct coords {
    double lat, lng;
};

/* reserve's destination. */
struct destination {
    struct coords at;
    struct ident zone; /* HAS_DEST_ZONE */
};

/* The validated params of any method; each method fills the fields it has.
 * Everything borrowed points into the parsed request, which must outlive it. */
struct params {
    unsigned present;
    struct ident sku, location, channel, order_id, reservation_id;
    struct str reason;
    struct str token; /* auth: never logged or echoed */
    long long on_hand, safety_stock, delta, ttl_ms;
    long long backorder_limit, low_stock_threshold; /* stock.set */
    enum strategy strategy;
    /* location.set */
    struct coords coords; /* HAS_COORDS */
    struct ident zone;    /* HAS_ZONE */
    long long priority;   /* 0 unless HAS_PRIORITY */
    struct ident tags[MAX_TAGS];
    unsigned n_tags;
    /* channel.set */
    enum rule rules[MAX_RULES];
    unsigned n_rules; /* 0: not given */
    /* reserve */
    struct destination destination; /* HAS_DESTINATION */
    double max_distance_km;         /* HAS_MAX_DISTANCE */
    bool explain;
    bool allow_backorder, allow_partial;
    /* reservation.transfer (sku too) */
    struct ident from, to;
    long long quantity;      /* HAS_QUANTITY */
    long long count;         /* HAS_COUNT: ui.ledger, ui.low_stock */
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
