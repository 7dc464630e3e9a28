/* The method table: every JSON-RPC method stockd answers, declared once.
 * Validation (validate.c) takes each method's params schema from it, the
 * dispatcher (dispatch.c) its handler, metrics its label. Adding a method is
 * one line here, its params schema in validate.c, its handler in its
 * family's file, and its script with that script's contract. */
#ifndef STOCKD_METHODS_H
#define STOCKD_METHODS_H

/* What the request layer must know about a method. */
enum method_flag {
    M_OPEN = 1u << 0,    /* allowed before auth, never refused for load (ping, auth) */
    M_WRITES = 1u << 1,  /* may change data in Redis */
    M_BARRIER = 1u << 2, /* takes effect in a later call than its first: requests after
                          * it on the same connection wait until it is done */
    M_INTERNAL = 1u << 3, /* not on the wire (-32601 there): only the status page's
                           * session runs it (struct session.internal, src/ui_api.c) */
};

/* X(enum name, wire name, handler, flags). The handler is a function
 * `void handler(struct request *)` of the method's family (dispatch.c). */
#define STOCKD_METHODS(X)                                                                          \
    X(PING, "ping", request_ping, M_OPEN)                                                          \
    X(AUTH, "auth", request_auth, M_OPEN)                                                          \
    X(STOCK_SET, "stock.set", stock_set, M_WRITES)                                                 \
    X(STOCK_ADJUST, "stock.adjust", stock_adjust, M_WRITES)                                        \
    X(STOCK_GET, "stock.get", stock_get, 0)                                                        \
    X(CHANNEL_SET, "channel.set", channel_set, M_WRITES)                                           \
    X(CHANNEL_GET, "channel.get", channel_get, 0)                                                  \
    X(LOCATION_SET, "location.set", location_set, M_WRITES)                                        \
    X(LOCATION_GET, "location.get", location_get, 0)                                               \
    X(LOCATION_LIST, "location.list", location_list, 0)                                            \
    X(RESERVE, "reserve", reserve_order, M_WRITES)                                                 \
    X(RESERVATION_GET, "reservation.get", reservation_get, 0)                                      \
    X(COMMIT, "commit", reservation_commit, M_WRITES | M_BARRIER)                                  \
    X(RELEASE, "release", reservation_release, M_WRITES | M_BARRIER)                               \
    X(EXTEND, "extend", reservation_extend, M_WRITES)                                              \
    X(RESERVATION_UPDATE, "reservation.update", reservation_update, M_WRITES | M_BARRIER)          \
    X(RESERVATION_TRANSFER, "reservation.transfer", reservation_transfer, M_WRITES | M_BARRIER)    \
    X(STOCK_AUDIT, "stock.audit", audit_run, 0)                                                    \
    X(UI_LEDGER, "ui.ledger", ui_ledger, M_INTERNAL)                                               \
    X(UI_HOLDS, "ui.holds", ui_holds, M_INTERNAL)                                                  \
    X(UI_LOW_STOCK, "ui.low_stock", ui_low_stock, M_INTERNAL)

enum method_id {
#define X(name, wire, handler, flags) METHOD_##name,
    STOCKD_METHODS(X)
#undef X
        METHOD_COUNT
};

/* Looks a method up by its wire name (case-sensitive). Returns its id, or
 * -1 when there is none. */
int method_lookup(const char *name);
/* The wire name; "unknown" for METHOD_COUNT (a request whose method was
 * never known). */
const char *method_name(enum method_id m);
unsigned method_flags(enum method_id m);

#endif
