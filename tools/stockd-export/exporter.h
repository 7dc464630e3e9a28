/* The export loop, run on its own thread: Redis ledger -> PostgreSQL table,
 * each entry exactly once.
 *
 *   start, or after any error:
 *     connect Redis, connect PostgreSQL (create the table), the group
 *     (created at 0 if missing; pending entries of other consumers claimed)
 *     re-read this consumer's pending entries (XREADGROUP ... 0): insert,
 *     COMMIT, XACK, page by page
 *   then, batch after batch:
 *     MULTI [TIME, XINFO STREAM, XINFO GROUPS, XPENDING, XREADGROUP >] EXEC
 *       -> a gap? log it, count it, correct the group's read counter
 *     INSERT ... ON CONFLICT (stream_id) DO NOTHING (committed) -> XACK
 *     nothing new: XREAD BLOCK until something is (or --block-ms passes)
 *
 * An entry is acknowledged only after the transaction holding it has
 * committed, so a crash anywhere leaves it pending (written again on the
 * next start, and skipped by ON CONFLICT) or done; never lost, never twice.
 * A failure drops the connection that failed and waits (capped, jittered
 * backoff), logging once per change of state, not per attempt. */
#ifndef STOCKD_EXPORT_EXPORTER_H
#define STOCKD_EXPORT_EXPORTER_H

#include <stdatomic.h>

#include "options.h"
#include "stats.h"

struct exporter;

/* cfg, stats and stopping are borrowed and must outlive it. stop_fd turns
 * readable (and stopping true) when the process should stop: waits end at
 * once, a batch in hand is finished first. pg_password may be NULL. */
struct exporter *exporter_new(const struct export_config *cfg, struct export_stats *stats,
                              const atomic_bool *stopping, int stop_fd, const char *pg_password);
/* Runs until a stop is asked; closes its connections before returning. */
void exporter_run(struct exporter *e);
void exporter_free(struct exporter *e);

#endif
