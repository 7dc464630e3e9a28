/* Redis key names. Every key stockd touches is built here, from the
 * namespace and validated identifiers only (struct ident comes from
 * ident_check), and carries the {namespace} hash tag so that all keys of one
 * namespace live in one Redis Cluster slot. */
#ifndef STOCKD_KEYS_H
#define STOCKD_KEYS_H

#include "buf.h"
#include "ident.h"

/* X(enum name, key segment, takes an identifier) */
#define STOCKD_KEYS(X)                                                                             \
    X(STOCK, "stock", 1)     /* hash: <location>:on_hand|reserved|safety|...|event */           \
    X(CHANNEL, "channel", 1) /* list: ordered location ids */                                   \
    X(RES, "res", 1)         /* hash: one reservation */                                        \
    X(ORDER, "order", 1)     /* string: order_id -> reservation id */                           \
    X(HOLDS, "holds", 1)     /* zset: a sku's held allocations by deadline */                  \
    X(EXPIRY, "expiry", 0)   /* zset: ids of holds made before {ns}:due, by deadline */        \
    X(DUE, "due", 0)         /* zset: skus with holds, by their earliest deadline or before */ \
    X(EVENTS, "events", 0)   /* stream: the ledger of stock movements */                       \
    X(QUARANTINE, "quarantine", 0) /* hash: unreadable reservation id -> why */               \
    X(LOCATION, "location", 1)     /* hash: lat, lng, zone, priority, tags */                  \
    X(LOCATIONS, "locations", 0)   /* hash: location -> lat,lng,zone,priority (ranking) */    \
    X(GEO, "geo", 0)               /* GEO set: the locations with coordinates */              \
    X(RULES, "rules", 1)           /* string: a channel's ranking rules, comma-joined */       \
    X(STOCK_EVENTS, "stock-events", 0) /* stream: low_stock, out_of_stock, back_in_stock */     \
    X(STOCK_EVENTS_DEAD, "stock-events:dead", 0) /* stream: webhook events given up */          \
    /* hash: per webhook group (its 16 hex digits), "<sku>\t<loc>" -> last finished id */       \
    X(STOCK_EVENTS_CURSOR, "stock-events:cursor:webhook", 1)

enum key_kind {
#define X(name, seg, has_id) KEY_##name,
    STOCKD_KEYS(X)
#undef X
};

/* Appends "{ns}:<segment>:<id>" (or "{ns}:<segment>" for kinds without an
 * identifier, where id is ignored and may be NULL) to out. */
void keys_build(struct buf *out, const struct ident *ns, enum key_kind kind, const struct ident *id);

/* The length of "{ns}:<segment>:", the part of a key before its identifier. */
size_t keys_prefix_len(const struct ident *ns, enum key_kind kind);

/* Appends "{ns}:<segment>:", the start of every key of a kind (a script
 * that finds identifiers in data appends them to it). */
void keys_prefix(struct buf *out, const struct ident *ns, enum key_kind kind);

/* Appends the SCAN pattern of every key of a kind: "{ns}:<segment>:*". */
void keys_pattern(struct buf *out, const struct ident *ns, enum key_kind kind);

#endif
