/* The Lua scripts of lua/, embedded into the binary at build time with their
 * SHA1 (generated scripts.c). One script per operation. */
#ifndef STOCKD_SCRIPTS_H
#define STOCKD_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>

/* X(enum name, file name in lua/ without .lua, WRITES or READS). A script
 * that may write anything (a stock hash, a record, a stream entry, a
 * consumer group's state) is WRITES: with --durability its calls are
 * answered only once replicas confirm them. READS scripts must not write:
 * the build (tools/embed_lua.cmake) fails when one calls a writing
 * command. */
#define STOCKD_SCRIPTS(X)                                                                          \
    X(STOCK_SET, stock_set, WRITES)                                                                \
    X(STOCK_ADJUST, stock_adjust, WRITES)                                                          \
    X(STOCK_GET, stock_get, READS)                                                                 \
    X(CHANNEL_SET, channel_set, WRITES)                                                            \
    X(CHANNEL_GET, channel_get, READS)                                                             \
    X(LOCATION_SET, location_set, WRITES)                                                          \
    X(LOCATION_GET, location_get, READS)                                                           \
    X(LOCATION_LIST, location_list, READS)                                                         \
    X(RESERVE, reserve, WRITES)                                                                    \
    X(RESERVATION_GET, reservation_get, READS)                                                     \
    X(RESERVATION_PLAN, reservation_plan, READS)                                                   \
    X(COMMIT, commit, WRITES)                                                                      \
    X(RELEASE, release, WRITES)                                                                    \
    X(EXTEND, extend, WRITES)                                                                      \
    X(UPDATE, update, WRITES)                                                                      \
    X(TRANSFER, transfer, WRITES)                                                                  \
    X(EXPIRE_DUE, expire_due, WRITES)                                                              \
    X(EXPIRE, expire, WRITES)                                                                      \
    X(AUDIT, audit, READS)                                                                         \
    X(AUDIT_INDEX, audit_index, READS)                                                             \
    X(WEBHOOK_READ, webhook_read, WRITES)                                                          \
    X(WEBHOOK_CHECK, webhook_check, READS)                                                         \
    X(WEBHOOK_ACK, webhook_ack, WRITES)                                                            \
    X(WEBHOOK_DEAD, webhook_dead, WRITES)                                                          \
    X(WEBHOOK_LEASE, webhook_lease, WRITES)                                                        \
    X(WEBHOOK_STATS, webhook_stats, WRITES)                                                        \
    X(UI_HOLDS, ui_holds, READS)                                                                   \
    X(UI_LOW_STOCK, ui_low_stock, READS)

enum script_id {
#define X(name, file, access) SCRIPT_##name,
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

enum script_access { SCRIPT_ACCESS_READS, SCRIPT_ACCESS_WRITES };

/* True when script id is declared WRITES. */
static inline bool script_writes(enum script_id id)
{
    static const bool writes[SCRIPT_COUNT] = {
#define X(name, file, access) [SCRIPT_##name] = SCRIPT_ACCESS_##access == SCRIPT_ACCESS_WRITES,
        STOCKD_SCRIPTS(X)
#undef X
    };
    return (unsigned)id < SCRIPT_COUNT && writes[id];
}

#endif
