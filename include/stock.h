/* The stock and channel family: stock.set, stock.adjust, stock.get,
 * channel.set and channel.get, and the contracts of their scripts (see
 * contract.h). */
#ifndef STOCKD_STOCK_H
#define STOCKD_STOCK_H

#include "contract.h"

/* lua/stock_set.lua */
#define STOCK_SET_KEYS(X) X(STOCK_SET_K_STOCK) X(STOCK_SET_K_EVENTS) X(STOCK_SET_K_STOCK_EVENTS)
#define STOCK_SET_ARGV(X)                                                                          \
    X(STOCK_SET_A_LOCATION) X(STOCK_SET_A_ON_HAND) X(STOCK_SET_A_SAFETY) X(STOCK_SET_A_SKU)        \
    X(STOCK_SET_A_MAXLEN) X(STOCK_SET_A_BACKORDER) X(STOCK_SET_A_LOW_STOCK)
#define STOCK_SET_STATUS(X) X(STOCK_SET_ST_OK) X(STOCK_SET_ST_BELOW_RESERVED)

/* lua/stock_adjust.lua */
#define STOCK_ADJUST_KEYS(X)                                                                       \
    X(STOCK_ADJUST_K_STOCK) X(STOCK_ADJUST_K_EVENTS) X(STOCK_ADJUST_K_STOCK_EVENTS)
#define STOCK_ADJUST_ARGV(X)                                                                       \
    X(STOCK_ADJUST_A_LOCATION) X(STOCK_ADJUST_A_DELTA) X(STOCK_ADJUST_A_MAX) X(STOCK_ADJUST_A_SKU) \
    X(STOCK_ADJUST_A_MAXLEN) X(STOCK_ADJUST_A_REASON)
#define STOCK_ADJUST_STATUS(X)                                                                     \
    X(STOCK_ADJUST_ST_OK) X(STOCK_ADJUST_ST_SHORT) X(STOCK_ADJUST_ST_TOO_LARGE)

/* lua/stock_get.lua: ARGV is the list of locations (none: all of them). */
#define STOCK_GET_KEYS(X) X(STOCK_GET_K_STOCK)
#define STOCK_GET_STATUS(X) X(STOCK_GET_ST_OK)

/* lua/channel_set.lua: the fixed ARGV, then the list of locations. */
#define CHANNEL_SET_KEYS(X) X(CHANNEL_SET_K_CHANNEL) X(CHANNEL_SET_K_RULES)
#define CHANNEL_SET_ARGV(X) X(CHANNEL_SET_A_RULES)
#define CHANNEL_SET_STATUS(X) X(CHANNEL_SET_ST_OK)

/* lua/channel_get.lua */
#define CHANNEL_GET_KEYS(X) X(CHANNEL_GET_K_CHANNEL) X(CHANNEL_GET_K_RULES)
#define CHANNEL_GET_STATUS(X) X(CHANNEL_GET_ST_OK) X(CHANNEL_GET_ST_UNKNOWN)

struct request;

/* The handlers (methods.h). */
void stock_set(struct request *req);
void stock_adjust(struct request *req);
void stock_get(struct request *req);
void channel_set(struct request *req);
void channel_get(struct request *req);

enum { STOCK_SET_KEYS(CONTRACT_ENUM) STOCK_SET_K_FIXED };
enum { STOCK_SET_ARGV(CONTRACT_ENUM) STOCK_SET_A_FIXED };
enum { STOCK_SET_STATUS(CONTRACT_ENUM) STOCK_SET_STATUSES };
enum { STOCK_ADJUST_KEYS(CONTRACT_ENUM) STOCK_ADJUST_K_FIXED };
enum { STOCK_ADJUST_ARGV(CONTRACT_ENUM) STOCK_ADJUST_A_FIXED };
enum { STOCK_ADJUST_STATUS(CONTRACT_ENUM) STOCK_ADJUST_STATUSES };
enum { STOCK_GET_KEYS(CONTRACT_ENUM) STOCK_GET_K_FIXED };
enum { STOCK_GET_STATUS(CONTRACT_ENUM) STOCK_GET_STATUSES };
enum { CHANNEL_SET_KEYS(CONTRACT_ENUM) CHANNEL_SET_K_FIXED };
enum { CHANNEL_SET_ARGV(CONTRACT_ENUM) CHANNEL_SET_A_FIXED };
enum { CHANNEL_SET_STATUS(CONTRACT_ENUM) CHANNEL_SET_STATUSES };
enum { CHANNEL_GET_KEYS(CONTRACT_ENUM) CHANNEL_GET_K_FIXED };
enum { CHANNEL_GET_STATUS(CONTRACT_ENUM) CHANNEL_GET_STATUSES };

#endif
