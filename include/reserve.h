/* The reserve family: reserve, and the contract of its script (see
 * contract.h). */
#ifndef STOCKD_RESERVE_H
#define STOCKD_RESERVE_H

#include "contract.h"

/* lua/reserve.lua. After the fixed KEYS: one {ns}:stock:<sku> per line,
 * then one {ns}:holds:<sku> per line.
 * After the fixed ARGV (the last of which, N, counts the lines): sku and
 * quantity per line, then m and m requested locations. */
#define RESERVE_KEYS(X)                                                                            \
    X(RESERVE_K_EXPIRY) X(RESERVE_K_RES) X(RESERVE_K_ORDER) X(RESERVE_K_CHANNEL) X(RESERVE_K_EVENTS)
#define RESERVE_ARGV(X)                                                                            \
    X(RESERVE_A_ID) X(RESERVE_A_ORDER_ID) X(RESERVE_A_TTL) X(RESERVE_A_STRATEGY)                   \
    X(RESERVE_A_MAXLEN) X(RESERVE_A_STALE) X(RESERVE_A_N)
#define RESERVE_STATUS(X)                                                                          \
    X(RESERVE_ST_HELD) X(RESERVE_ST_BOUND) X(RESERVE_ST_SHORT) X(RESERVE_ST_NO_CHANNEL)

struct request;

/* The handler of reserve (methods.h). */
void reserve_order(struct request *req);

enum { RESERVE_KEYS(CONTRACT_ENUM) RESERVE_K_FIXED };
enum { RESERVE_ARGV(CONTRACT_ENUM) RESERVE_A_FIXED };
enum { RESERVE_STATUS(CONTRACT_ENUM) RESERVE_STATUSES };

#endif
