/* The PostgreSQL side of the export: one libpq connection owned by the
 * export thread, the table (created if missing), and batches written with
 * ON CONFLICT (stream_id) DO NOTHING, so that an entry written again after
 * a crash is not written twice. Each function returns 0 or -1 with k->err
 * saying why; after -1 the caller closes the connection (a failed
 * transaction leaves nothing to reuse). */
#ifndef STOCKD_EXPORT_SINK_H
#define STOCKD_EXPORT_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "buf.h"
#include "ledger.h"
#include "options.h"

struct sink {
    const struct export_config *cfg; /* borrowed */
    const char *password;            /* borrowed; NULL: libpq finds it (PGPASSWORD, PGPASSFILE) */
    PGconn *conn;                    /* owned; NULL while not connected */
    int stop_fd;                     /* readable once a stop is asked (sink_connect's) */
    char table[2 * EXPORT_NAME_MAX + 8]; /* quoted: "schema"."name" or "name" */
    char index[EXPORT_NAME_MAX + 16];    /* quoted: "name_ms_seq" */
    bool prepared;       /* INSERT_VALUES: the statement for a full batch is prepared */
    bool temp_table;     /* INSERT_COPY: this connection's temp table exists */
    struct buf sql;      /* owned scratch: statement text or COPY data */
    struct buf vals;     /* owned scratch: parameter values, NUL-separated */
    const char **params; /* owned scratch */
    size_t params_cap;
    char err[512];
};

/* Checks cfg->pg before anything starts: it must parse, and hold no
 * password when it came from argv. Returns 0, or -1 with err (which never
 * quotes the string). */
int sink_check_conninfo(const struct export_config *cfg, char *err, size_t errlen);

void sink_init(struct sink *k, const struct export_config *cfg, const char *password);
void sink_free(struct sink *k);
/* Connects, giving up after 10 s or as soon as stop_fd is readable.
 * Returns 0, -1 (k->err), or 1 when stopped. Every statement afterwards
 * gives up after 90 s (the server's statement_timeout, 60 s, normally ends
 * it first), or 3 s after stop_fd turns readable. */
int sink_connect(struct sink *k, int stop_fd);
void sink_close(struct sink *k);

/* Creates the table and its (ms, seq) index if missing. */
int sink_prepare(struct sink *k);
/* Writes rows[0..n) in one transaction, committed when this returns 0;
 * *inserted: the rows that were not in the table already. */
int sink_insert(struct sink *k, const struct ledger_row *rows, size_t n, long long *inserted);
/* present[i] = whether ids[i] is in the table. */
int sink_present(struct sink *k, const struct stream_id *ids, size_t n, bool *present);
/* Rows whose id is before `before` (rows an earlier export may have
 * written before the group was made anew). */
int sink_count_before(struct sink *k, struct stream_id before, long long *count);

#endif
