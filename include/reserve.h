/* The reserve family: reserve, and the contract of its script (see
 * contract.h). */
#ifndef STOCKD_RESERVE_H
#define STOCKD_RESERVE_H

#include "contract.h"

/* lua/reserve.lua, a batch script (contract.h): the orders of one batch
 * share the fixed KEYS and ARGV; each order's segment of KEYS is its
 * EACH_KEYS, then one {ns}:stock:<sku> per line, then one {ns}:holds:<sku>
 * per line; its segment of ARGV is its EACH_ARGV (the last of which, N,
 * counts the lines), then sku and quantity per line, then m and m
 * requested locations. Its reply is one element per order. */
#define RESERVE_KEYS(X)                                                                            \
    X(RESERVE_K_DUE) X(RESERVE_K_EVENTS) X(RESERVE_K_LOCATIONS) X(RESERVE_K_STOCK_EVENTS)
#define RESERVE_ARGV(X) X(RESERVE_A_MAXLEN)
#define RESERVE_EACH_KEYS(X)                                                                       \
    X(RESERVE_EK_RES) X(RESERVE_EK_ORDER) X(RESERVE_EK_CHANNEL) X(RESERVE_EK_RULES)
#define RESERVE_EACH_ARGV(X)                                                                       \
    X(RESERVE_EA_ID) X(RESERVE_EA_ORDER_ID) X(RESERVE_EA_TTL) X(RESERVE_EA_STRATEGY)               \
    X(RESERVE_EA_STALE) X(RESERVE_EA_ROUTE) X(RESERVE_EA_FLAGS) X(RESERVE_EA_CHANNEL)              \
    X(RESERVE_EA_N)
#define RESERVE_STATUS(X)                                                                          \
    X(RESERVE_ST_HELD) X(RESERVE_ST_BOUND) X(RESERVE_ST_SHORT) X(RESERVE_ST_NO_CHANNEL)            \
    X(RESERVE_ST_BROKEN)

struct request;

/* The handler of reserve (methods.h). */
void reserve_order(struct request *req);

enum { RESERVE_KEYS(CONTRACT_ENUM) RESERVE_K_FIXED };
enum { RESERVE_ARGV(CONTRACT_ENUM) RESERVE_A_FIXED };
enum { RESERVE_EACH_KEYS(CONTRACT_ENUM) RESERVE_EK_FIXED };
enum { RESERVE_EACH_ARGV(CONTRACT_ENUM) RESERVE_EA_FIXED };
enum { RESERVE_STATUS(CONTRACT_ENUM) RESERVE_STATUSES };

#endif
