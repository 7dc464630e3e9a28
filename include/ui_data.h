/* The status page's data methods: ui.ledger, ui.holds and ui.low_stock
 * (M_INTERNAL in methods.h: never on the wire, only the status page's
 * session runs them), and the contracts of their scripts (see contract.h).
 * Each is one bounded read: the page polls them, so none may hold Redis
 * for long however large the namespace grows. */
#ifndef STOCKD_UI_DATA_H
#define STOCKD_UI_DATA_H

#include "contract.h"

/* What each method reads at most. */
enum {
    UI_LEDGER_DEFAULT = 20,    /* ui.ledger's entries without count (validate.h: its max) */
    UI_HOLDS_SKUS = 1000,      /* skus of the due index whose holds are counted */
    UI_HOLDS_FIRST = 100,      /* skus, of those, whose first hold may be `next` */
    UI_LOW_STOCK_DEFAULT = 50, /* ui.low_stock's rows without count (validate.h: its max) */
    UI_LOW_STOCK_SCAN = 250,   /* stock-level events read, newest first (about 2 ms of
                                * Redis a call: the page asks every 10 s) */
};

/* lua/ui_holds.lua */
#define UI_HOLDS_KEYS(X) X(UI_HOLDS_K_DUE)
#define UI_HOLDS_ARGV(X)                                                                           \
    X(UI_HOLDS_A_HOLDS) X(UI_HOLDS_A_RES) X(UI_HOLDS_A_SKUS) X(UI_HOLDS_A_FIRST)
#define UI_HOLDS_STATUS(X) X(UI_HOLDS_ST_OK)

/* lua/ui_low_stock.lua */
#define UI_LOW_STOCK_KEYS(X) X(UI_LOW_STOCK_K_STOCK_EVENTS)
#define UI_LOW_STOCK_ARGV(X) X(UI_LOW_STOCK_A_STOCK) X(UI_LOW_STOCK_A_SCAN)
#define UI_LOW_STOCK_STATUS(X) X(UI_LOW_STOCK_ST_OK)

struct request;

/* The handlers (methods.h).
 *   ui.ledger {count?}: {"entries":[{id, at, type, sku, location, quantity,
 *     reservation, reason}...]}, the newest ledger entries first (a plain
 *     XREVRANGE of {ns}:events).
 *   ui.holds {}: {"now","skus","holds","complete","next":null|{reservation_id,
 *     sku, location, quantity, deadline, created_at (null when unknown)}}.
 *   ui.low_stock {count?}: {"rows":[{sku, location, available,
 *     low_stock_threshold (null for none), on_hand, reserved}...],"scanned"},
 *     the lowest available first, then by sku and location (bytewise).
 * Every string read from Redis is written JSON-escaped; numbers are
 * integers. */
void ui_ledger(struct request *req);
void ui_holds(struct request *req);
void ui_low_stock(struct request *req);

enum { UI_HOLDS_KEYS(CONTRACT_ENUM) UI_HOLDS_K_FIXED };
enum { UI_HOLDS_ARGV(CONTRACT_ENUM) UI_HOLDS_A_FIXED };
enum { UI_HOLDS_STATUS(CONTRACT_ENUM) UI_HOLDS_STATUSES };
enum { UI_LOW_STOCK_KEYS(CONTRACT_ENUM) UI_LOW_STOCK_K_FIXED };
enum { UI_LOW_STOCK_ARGV(CONTRACT_ENUM) UI_LOW_STOCK_A_FIXED };
enum { UI_LOW_STOCK_STATUS(CONTRACT_ENUM) UI_LOW_STOCK_STATUSES };

#endif
