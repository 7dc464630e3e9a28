/* The export loop (see exporter.h for its shape and its guarantee). */
#include "exporter.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ledger.h"
#include "log.h"
#include "sink.h"
#include "source.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define CLAIM_COUNT 1000

/* How one side of the export is doing, for logging once per change. */
enum link_state {
    LINK_NEW,     /* never worked yet */
    LINK_OK,      /* worked last time */
    LINK_FAILING, /* failed since it last worked (said once) */
};

struct link {
    const char *name;
    enum link_state state;
    unsigned long failures; /* attempts failed since it last worked */
};

/* What stopped a step: which side to drop and count. */
enum fault { FAULT_NONE, FAULT_REDIS, FAULT_POSTGRESQL, FAULT_GROUP };

struct exporter {
    const struct export_config *cfg; /* borrowed */
    struct export_stats *stats;      /* borrowed */
    const atomic_bool *stopping;     /* borrowed */
    int stop_fd;
    struct source src;
    struct sink sink;
    struct batch batch;
    bool *present; /* owned scratch for sink_present */
    size_t present_cap;
    struct link redis, pg;
    bool group_ready;
    bool recovered; /* own pending entries re-read since the last fault */
    bool uncountable_said;
    long long backoff_ms;
    unsigned seed;
    struct log_repeat malformed;
};

static bool stop_asked(const struct exporter *e)
{
    return atomic_load(e->stopping);
}

/* --- reporting ------------------------------------------------------------- */

#define STATS(e, stmt)                                                                             \
    do {                                                                                           \
        pthread_mutex_lock(&(e)->stats->lock);                                                     \
        struct export_counters *c_ = &(e)->stats->c;                                               \
        stmt;                                                                                      \
        pthread_mutex_unlock(&(e)->stats->lock);                                                   \
    } while (0)

static void link_failed(struct exporter *e, struct link *l, enum export_error_kind kind,
                        const char *why)
{
    STATS(e, c_->errors[kind]++);
    l->failures++;
    if (l->state == LINK_FAILING)
        return;
    l->state = LINK_FAILING;
    log_warn("%s: %s; retrying with backoff (%d ms to %d s), said again once it works", l->name,
             why, BACKOFF_FIRST_MS, BACKOFF_MAX_MS / 1000);
}

static void link_worked(struct link *l)
{
    if (l->state == LINK_FAILING)
        log_info("%s: working again after %lu failed attempt%s", l->name, l->failures,
                 l->failures == 1 ? "" : "s");
    l->state = LINK_OK;
    l->failures = 0;
}

static void gap_counted(struct exporter *e, long long missing)
{
    STATS(e, (c_->gaps++, c_->gap_entries += (uint64_t)missing));
}

/* Trimmed past the group's last delivered id (ledger_gap_find). */
static void report_gap_trimmed(struct exporter *e, const struct ledger_gap *g,
                               const struct stream_info *s)
{
    char after[STREAM_ID_MAX], before[STREAM_ID_MAX];
    stream_id_format(g->after, after);
    if (g->before_known)
        log_error("ledger gap: %lld entries of %s were trimmed before they were exported; the "
                  "missing ids are after %s and before %s (exclusive bounds: trimming keeps no "
                  "record of the exact first and last missing ids)",
                  g->missing, e->src.key, after, stream_id_format(g->before, before));
    else
        log_error("ledger gap: %lld entries of %s were trimmed before they were exported; the "
                  "missing ids are after %s and at most %s, the last id the stream generated "
                  "(exclusive lower bound: trimming keeps no record of the exact ids)",
                  g->missing, e->src.key, after, stream_id_format(s->last_generated, before));
    gap_counted(e, g->missing);
}

static void report_malformed(struct exporter *e, const struct ledger_row *row)
{
    static const struct {
        unsigned bit;
        const char *what;
    } problems[] = {
        {ROW_MISSING_FIELD, "a field is missing"},
        {ROW_BAD_QUANTITY, "quantity is not a whole number in bigint's range"},
        {ROW_BAD_TEXT, "a value is not UTF-8 text"},
        {ROW_UNKNOWN_FIELD, "a field the ledger does not have (ignored)"},
        {ROW_DUPLICATE_FIELD, "a field given twice (the first kept)"},
        {ROW_BIG_ID, "its id is beyond bigint (ms and seq clamped)"},
    };
    char what[256] = "";
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++)
        if (row->problems & problems[i].bit) {
            size_t n = strlen(what);
            snprintf(what + n, sizeof what - n, "%s%s", n ? "; " : "", problems[i].what);
        }
    STATS(e, c_->errors[EXPORT_ERR_MALFORMED]++);
    log_repeat(&e->malformed, LOG_WARN,
               "ledger entry %s of %s: %s; written with NULL where a value was unusable",
               row->id_text, e->src.key, what);
}

/* The lag gauges from a snapshot taken before a read: `oldest` is the
 * oldest entry not yet in the table (0-0: none); missing, entries Redis
 * still counts that a gap took away. */
static void note_lag(struct exporter *e, const struct source_snapshot *snap,
                     struct stream_id oldest, bool countable, long long missing)
{
    long long entries = snap->group.lag - missing + snap->group.pending;
    long long ms = oldest.ms != 0 || oldest.seq != 0 ? snap->now_ms - (long long)oldest.ms : 0;
    STATS(e, (c_->lag_entries_known = countable, c_->lag_entries = entries, c_->lag_ms_known = true,
              c_->lag_ms = ms > 0 ? ms : 0));
    if (!countable && !e->uncountable_said) {
        log_warn("%s: Redis cannot count the entries the group %s has not read (entries were "
                 "deleted one by one, or Redis is older than 7.0): gaps cannot be detected and "
                 "stockd_export_lag_entries is NaN until it can",
                 e->src.key, e->cfg->group);
        e->uncountable_said = true;
    } else if (countable) {
        e->uncountable_said = false;
    }
}

/* --- steps ------------------------------------------------------------------- */

/* Entries delivered without their body (trimmed while pending): those not
 * in the table are a gap whose ids are known exactly. */
static enum fault check_lost(struct exporter *e, const struct batch *b)
{
    if (b->n_lost == 0)
        return FAULT_NONE;
    e->present = xgrow(e->present, &e->present_cap, b->n_lost, sizeof *e->present);
    if (sink_present(&e->sink, b->lost, b->n_lost, e->present) != 0)
        return FAULT_POSTGRESQL;
    long long missing = 0;
    struct stream_id first = {0, 0}, last = {0, 0};
    for (size_t i = 0; i < b->n_lost; i++) {
        if (e->present[i])
            continue;
        if (missing == 0 || stream_id_cmp(b->lost[i], first) < 0)
            first = b->lost[i];
        if (missing == 0 || stream_id_cmp(b->lost[i], last) > 0)
            last = b->lost[i];
        missing++;
    }
    if (missing > 0) {
        char a[STREAM_ID_MAX], z[STREAM_ID_MAX];
        log_error("ledger gap: %lld entries of %s were trimmed while pending (read, not yet in "
                  "the table): first %s, last %s (exact ids)",
                  missing, e->src.key, stream_id_format(first, a), stream_id_format(last, z));
        gap_counted(e, missing);
    }
    return FAULT_NONE;
}

/* Insert (committed), then acknowledge: the only order that loses nothing. */
static enum fault write_batch(struct exporter *e, struct batch *b)
{
    long long inserted = 0;
    if (b->n_rows > 0 && sink_insert(&e->sink, b->rows, b->n_rows, &inserted) != 0)
        return FAULT_POSTGRESQL;
    enum fault f = check_lost(e, b);
    if (f != FAULT_NONE)
        return f;
    int rc = source_ack(&e->src, b);
    if (rc != SOURCE_OK)
        return rc == SOURCE_NOGROUP ? FAULT_GROUP : FAULT_REDIS;
    for (size_t i = 0; i < b->n_rows; i++)
        if (b->rows[i].problems)
            report_malformed(e, &b->rows[i]);
    uint64_t last_ms = b->last.ms;
    STATS(e,
          (c_->rows += (uint64_t)inserted,
           c_->rows_duplicate += (uint64_t)((long long)b->n_rows - inserted), c_->batches++,
           c_->last_exported_ms = last_ms > c_->last_exported_ms ? last_ms : c_->last_exported_ms));
    return FAULT_NONE;
}

static enum fault source_fault(int rc)
{
    return rc == SOURCE_NOGROUP ? FAULT_GROUP : rc == SOURCE_OK ? FAULT_NONE : FAULT_REDIS;
}

/* The group: created at 0 when missing (the stream trimmed before it
 * existed is said), and every pending entry of the group made this
 * consumer's, so that it is written before anything new. */
static enum fault ensure_group(struct exporter *e)
{
    bool created;
    int rc = source_create_group(&e->src, &created);
    if (rc != SOURCE_OK)
        return source_fault(rc);
    if (created) {
        log_info("created the consumer group %s on %s at id 0: the whole retained ledger is "
                 "exported",
                 e->cfg->group, e->src.key);
        struct source_snapshot snap;
        struct stream_id oldest;
        rc = source_snapshot(&e->src, &snap, &oldest);
        if (rc != SOURCE_OK)
            return source_fault(rc);
        long long trimmed = snap.stream.entries_added - snap.stream.length;
        if (trimmed > 0) {
            /* An earlier group may have written some of them already. */
            struct stream_id before = snap.stream.has_first
                                          ? snap.stream.first
                                          : (struct stream_id){snap.stream.last_generated.ms,
                                                               snap.stream.last_generated.seq + 1};
            long long have = 0;
            if (sink_count_before(&e->sink, before, &have) != 0)
                return FAULT_POSTGRESQL;
            if (trimmed > have) {
                char b[STREAM_ID_MAX];
                log_error("ledger gap: %lld entries of %s were trimmed before the export group "
                          "existed, and %lld rows before them are in the table: the missing "
                          "ids are before %s (the exact first and last missing ids are not "
                          "known)",
                          trimmed - have, e->src.key, have, stream_id_format(before, b));
                gap_counted(e, trimmed - have);
            }
        }
    }
    struct stream_id cursor = {0, 0};
    batch_reset(&e->batch);
    do {
        rc = source_claim(&e->src, &cursor, CLAIM_COUNT, &e->batch);
        if (rc != SOURCE_OK)
            return source_fault(rc);
    } while (cursor.ms != 0 || cursor.seq != 0);
    enum fault f = check_lost(e, &e->batch);
    batch_reset(&e->batch);
    if (f != FAULT_NONE)
        return f;
    e->group_ready = true;
    STATS(e, c_->group_ready = true);
    return FAULT_NONE;
}

/* This consumer's pending entries (read before a crash, a stop or an
 * error, and maybe written already), page by page. */
static enum fault recover(struct exporter *e)
{
    struct stream_id cursor = {0, 0};
    long long n = 0;
    while (!stop_asked(e)) {
        int rc = source_read_pending(&e->src, cursor, e->cfg->batch, &e->batch);
        if (rc != SOURCE_OK)
            return source_fault(rc);
        if (batch_size(&e->batch) == 0)
            break;
        enum fault f = write_batch(e, &e->batch);
        if (f != FAULT_NONE)
            return f;
        n += (long long)batch_size(&e->batch);
        cursor = e->batch.last;
    }
    batch_reset(&e->batch);
    if (stop_asked(e))
        return FAULT_NONE; /* not recovered: the next start does it */
    if (n > 0)
        log_info("wrote %lld pending entries of %s again (read before a stop or an error; "
                 "those already in the table were skipped)",
                 n, e->src.key);
    e->recovered = true;
    return FAULT_NONE;
}

static void pause_for(struct exporter *e, long long ms);

/* One batch of new entries, or one wait for them. */
static enum fault export_new(struct exporter *e)
{
    struct source_snapshot snap;
    struct batch *b = &e->batch;
    int rc = source_read_new(&e->src, e->cfg->batch, &snap, b);
    if (rc != SOURCE_OK)
        return source_fault(rc);
    struct ledger_gap gap;
    bool countable;
    bool found = ledger_gap_find(&snap.stream, &snap.group, &gap, &countable);
    struct stream_id oldest = {0, 0};
    if (snap.group.pending > 0 && snap.has_pending_min)
        oldest = snap.pending_min;
    else if (batch_size(b) > 0)
        oldest = b->first;
    note_lag(e, &snap, oldest, countable, found ? gap.missing : 0);
    if (found) {
        report_gap_trimmed(e, &gap, &snap.stream);
        /* Redis counted the missing entries as still to read: say they
         * are gone, so that the lag and the next check count only what
         * is there. */
        struct stream_id id;
        long long entries_read;
        ledger_gap_repair(&snap.stream, b->last, (long long)batch_size(b), &id, &entries_read);
        rc = source_setid(&e->src, id, entries_read);
        if (rc != SOURCE_OK)
            return source_fault(rc);
    }
    if (batch_size(b) == 0) {
        batch_reset(b);
        return source_fault(source_wait(&e->src, snap.group.last_delivered, e->cfg->block_ms));
    }
    bool full = (long long)batch_size(b) >= e->cfg->batch;
    enum fault f = write_batch(e, b);
    batch_reset(b);
    /* Caught up: let entries gather rather than pay a transaction (a
     * commit, a round of Redis calls) for every few. */
    if (f == FAULT_NONE && !full && e->cfg->linger_ms > 0)
        pause_for(e, e->cfg->linger_ms);
    return f;
}

/* While PostgreSQL is away the lag still grows: read it from Redis. */
static void refresh_lag(struct exporter *e)
{
    if (e->src.c == NULL || !e->group_ready)
        return;
    struct source_snapshot snap;
    struct stream_id oldest;
    int rc = source_snapshot(&e->src, &snap, &oldest);
    if (rc == SOURCE_OK) {
        struct ledger_gap gap;
        bool countable;
        bool found = ledger_gap_find(&snap.stream, &snap.group, &gap, &countable);
        if (snap.group.pending > 0 && snap.has_pending_min)
            oldest = snap.pending_min;
        note_lag(e, &snap, oldest, countable, found ? gap.missing : 0);
    } else if (rc == SOURCE_ERR) {
        link_failed(e, &e->redis, EXPORT_ERR_REDIS, e->src.err);
        source_close(&e->src);
        STATS(e, c_->redis_up = false);
    }
}

/* --- the loop ----------------------------------------------------------------- */

static void drop(struct exporter *e, enum fault f)
{
    e->recovered = false;
    switch (f) {
    case FAULT_NONE:
        break;
    case FAULT_REDIS:
        link_failed(e, &e->redis, EXPORT_ERR_REDIS, e->src.err);
        source_close(&e->src);
        STATS(e, c_->redis_up = false);
        break;
    case FAULT_POSTGRESQL:
        link_failed(e, &e->pg, EXPORT_ERR_POSTGRESQL, e->sink.err);
        sink_close(&e->sink);
        STATS(e, c_->postgresql_up = false);
        break;
    case FAULT_GROUP:
        STATS(e, (c_->errors[EXPORT_ERR_REDIS]++, c_->group_ready = false));
        log_error("%s: %s: the stream was deleted or the group %s destroyed; making the group "
                  "again",
                  e->src.key, e->src.err, e->cfg->group);
        e->group_ready = false;
        break;
    }
}

/* One turn: connect what is not connected, then one step. Returns true
 * when it worked, false when the loop should back off. */
static bool turn(struct exporter *e)
{
    if (e->src.c == NULL) {
        if (source_connect(&e->src) != SOURCE_OK) {
            drop(e, FAULT_REDIS);
            return false;
        }
        STATS(e, c_->redis_up = true);
        if (e->redis.state == LINK_NEW) {
            const struct redis_url *u = &e->cfg->redis;
            if (u->unix_path[0])
                log_info("redis: connected to %s", u->unix_path);
            else
                log_info("redis: connected to %s:%d", u->host, u->port);
        }
    }
    if (e->sink.conn == NULL) {
        int rc = sink_connect(&e->sink, e->stop_fd);
        if (rc > 0)
            return true; /* stopped while connecting */
        if (rc != 0 || sink_prepare(&e->sink) != 0) {
            drop(e, FAULT_POSTGRESQL);
            refresh_lag(e);
            return false;
        }
        STATS(e, c_->postgresql_up = true);
        if (e->pg.state == LINK_NEW)
            log_info("postgresql: connected to database %s on %s, table %s ready",
                     PQdb(e->sink.conn), PQhost(e->sink.conn), e->sink.table);
    }
    enum fault f = FAULT_NONE;
    if (!e->group_ready)
        f = ensure_group(e);
    if (f == FAULT_NONE && !e->recovered)
        f = recover(e);
    if (f == FAULT_NONE && e->recovered && !stop_asked(e))
        f = export_new(e);
    if (f != FAULT_NONE) {
        drop(e, f);
        return false;
    }
    link_worked(&e->redis);
    link_worked(&e->pg);
    return true;
}

/* Waits ms, or less when a stop is asked. */
static void pause_for(struct exporter *e, long long ms)
{
    struct pollfd p = {.fd = e->stop_fd, .events = POLLIN};
    uint64_t until = export_mono_ms() + (uint64_t)ms;
    for (;;) {
        uint64_t now = export_mono_ms();
        if (now >= until || stop_asked(e))
            return;
        if (poll(&p, 1, (int)(until - now)) > 0)
            return;
    }
}

static void backoff(struct exporter *e)
{
    e->backoff_ms = e->backoff_ms == 0 ? BACKOFF_FIRST_MS : e->backoff_ms * 2;
    if (e->backoff_ms > BACKOFF_MAX_MS)
        e->backoff_ms = BACKOFF_MAX_MS;
    /* +-20 %, so that many exporters do not retry in step. */
    long long ms = e->backoff_ms * (80 + rand_r(&e->seed) % 41) / 100;
    pause_for(e, ms);
}

struct exporter *exporter_new(const struct export_config *cfg, struct export_stats *stats,
                              const atomic_bool *stopping, int stop_fd, const char *pg_password)
{
    struct exporter *e = xcalloc(1, sizeof *e);
    e->cfg = cfg;
    e->stats = stats;
    e->stopping = stopping;
    e->stop_fd = stop_fd;
    e->redis.name = "redis";
    e->pg.name = "postgresql";
    e->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    source_init(&e->src, cfg);
    sink_init(&e->sink, cfg, pg_password);
    batch_init(&e->batch);
    return e;
}

void exporter_run(struct exporter *e)
{
    log_info("exporting %s (group %s, consumer %s) to the table %s: batches of %lld, %s",
             e->src.key, e->cfg->group, e->cfg->consumer, e->sink.table, e->cfg->batch,
             e->cfg->insert == INSERT_COPY ? "COPY" : "INSERT ... VALUES");
    while (!stop_asked(e)) {
        STATS(e, c_->heartbeat_ms = export_mono_ms());
        log_flush_repeats();
        if (turn(e))
            e->backoff_ms = 0;
        else
            backoff(e);
    }
    source_close(&e->src);
    sink_close(&e->sink);
    STATS(e, (c_->redis_up = false, c_->postgresql_up = false));
    log_repeat_done(&e->malformed);
}

void exporter_free(struct exporter *e)
{
    if (e == NULL)
        return;
    source_close(&e->src);
    sink_free(&e->sink);
    batch_free(&e->batch);
    free(e->present);
    free(e);
}
