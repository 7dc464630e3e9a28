/* The Lua scripts of lua/, embedded into the binary at build time with their
 * SHA1 (generated scripts.c). One script per operation. */
#ifndef STOCKD_SCRIPTS_H
#define STOCKD_SCRIPTS_H

#include <stddef.h>

/* X(enum name, file name in lua/ without .lua) */
#define STOCKD_SCRIPTS(X)                                                                          \
    X(STOCK_SET, stock_set)                                                                        \
    X(STOCK_ADJUST, stock_adjust)                                                                  \
    X(STOCK_GET, stock_get)                                                                        \
    X(CHANNEL_SET, channel_set)                                                                    \
    X(CHANNEL_GET, channel_get)                                                                    \
    X(LOCATION_SET, location_set)                                                                  \
    X(LOCATION_GET, location_get)                                                                  \
    X(LOCATION_LIST, location_list)                                                                \
    X(RESERVE, reserve)                                                                            \
    X(RESERVATION_GET, reservation_get)                                                            \
    X(RESERVATION_PLAN, reservation_plan)                                                          \
    X(COMMIT, commit)                                                                              \
    X(RELEASE, release)                                                                            \
    X(EXTEND, extend)                                                                              \
    X(UPDATE, update)                                                                              \
    X(TRANSFER, transfer)                                                                          \
    X(EXPIRE_DUE, expire_due)                                                                      \
    X(EXPIRE, expire)                                                                              \
    X(AUDIT, audit)                                                                                \
    X(AUDIT_INDEX, audit_index)                                                                    \
    X(WEBHOOK_READ, webhook_read)                                                                  \
    X(WEBHOOK_CHECK, webhook_check)                                                                \
    X(WEBHOOK_ACK, webhook_ack)                                                                    \
    X(WEBHOOK_DEAD, webhook_dead)                                                                  \
    X(WEBHOOK_LEASE, webhook_lease)                                                                \
    X(WEBHOOK_STATS, webhook_stats)

enum script_id {
#define X(name, file) SCRIPT_##name,
    STOCKD_SCRIPTS(X)
#undef X
        SCRIPT_COUNT
};

struct script {
    const char *name;
    const char *sha1; /* 40 lowercase hex digits */
    const char *body;
    size_t len;
};

/* Indexed by enum script_id; defined in the generated scripts.c. */
extern const struct script scripts[SCRIPT_COUNT];

#endif
