/* The Redis side of the export: the ledger stream {ns}:events read through
 * a consumer group, over one blocking hiredis connection owned by the
 * export thread (every call is bounded by the socket timeout). Each
 * function returns SOURCE_OK or a negative SOURCE_* code with s->err
 * saying why; after SOURCE_ERR the caller closes the connection. */
#ifndef STOCKD_EXPORT_SOURCE_H
#define STOCKD_EXPORT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "ledger.h"
#include "options.h"

enum source_result {
    SOURCE_OK = 0,
    SOURCE_ERR = -1,     /* the connection failed or Redis refused a command */
    SOURCE_NOGROUP = -2, /* the stream or the export group is gone */
};

struct source {
    const struct export_config *cfg; /* borrowed */
    redisContext *c;                 /* owned; NULL while not connected */
    char key[IDENT_MAX + 16];        /* {ns}:events */
    char err[512];                   /* why the last call failed */
};

/* Entries delivered by one read, as rows. The rows borrow from reply. */
struct batch {
    redisReply *reply;       /* owned (freeReplyObject in batch_reset) */
    struct ledger_row *rows; /* owned array; n_rows used */
    size_t n_rows, rows_cap;
    struct stream_id *lost; /* owned array: ids delivered without their entry (it was
                             * trimmed while pending) or dropped from the pending list by
                             * XAUTOCLAIM for the same reason */
    size_t n_lost, lost_cap;
    struct stream_id first, last; /* the first and last ids delivered (rows and lost) */
    struct str *pairs;            /* owned scratch for reading an entry's fields */
    size_t pairs_cap;
};

void batch_init(struct batch *b);
/* Frees the reply and forgets the rows; keeps the arrays for reuse. */
void batch_reset(struct batch *b);
void batch_free(struct batch *b);
/* rows + lost. */
size_t batch_size(const struct batch *b);

/* What Redis says of the ledger and the group at one instant. */
struct source_snapshot {
    long long now_ms; /* Redis's clock */
    struct stream_info stream;
    bool group_found;
    struct group_info group;
    bool has_pending_min;
    struct stream_id pending_min; /* the oldest entry read and not acknowledged */
};

void source_init(struct source *s, const struct export_config *cfg);
/* Connects (2 s), authenticates with cfg->redis (its password already
 * loaded), selects the db and names the client. */
int source_connect(struct source *s);
/* Drops the connection; safe when there is none. */
void source_close(struct source *s);

/* XGROUP CREATE at id 0 with MKSTREAM: the whole retained ledger is
 * exported. *created tells whether it was made now. */
int source_create_group(struct source *s, bool *created);

/* In one MULTI/EXEC: Redis's clock, XINFO STREAM, XINFO GROUPS, XPENDING,
 * and XREADGROUP of up to count new entries (">") into b. The snapshot
 * describes the moment just before the read, so a gap it shows is the one
 * this read stepped over. */
int source_read_new(struct source *s, long long count, struct source_snapshot *snap,
                    struct batch *b);
/* The snapshot alone, and the oldest entry not yet delivered when nothing
 * is pending (for the lag while PostgreSQL is away): *oldest is 0-0 when
 * there is none. */
int source_snapshot(struct source *s, struct source_snapshot *snap, struct stream_id *oldest);
/* This consumer's own pending entries after `after` (up to count) into b. */
int source_read_pending(struct source *s, struct stream_id after, long long count, struct batch *b);
/* XAUTOCLAIM JUSTID from *cursor: moves up to count pending entries of any
 * consumer of the group to this one, appends the ids Redis dropped from
 * the pending list because their entries are gone to b->lost, and moves
 * *cursor on (0-0 when done). */
int source_claim(struct source *s, struct stream_id *cursor, long long count, struct batch *b);
/* XACK every id of b. */
int source_ack(struct source *s, const struct batch *b);
/* XGROUP SETID ... ENTRIESREAD: corrects the group's read counter after a
 * gap (ledger_gap_repair). */
int source_setid(struct source *s, struct stream_id id, long long entries_read);
/* Waits up to block_ms for an entry after `after` (XREAD, which changes
 * nothing). */
int source_wait(struct source *s, struct stream_id after, long long block_ms);

#endif
