/* The PostgreSQL side of the export (see sink.h). */
#include "sink.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stats.h" /* export_mono_ms */

#define CONNECT_TIMEOUT_MS 10000
/* Beyond the 60 s statement_timeout set at connect: a server that stopped
 * answering altogether (its kernel still acknowledging keepalives). */
#define QUERY_TIMEOUT_MS 90000
/* How long a statement in flight may still take once a stop is asked. */
#define STOP_GRACE_MS 3000
#define COLUMNS 10
#define STATEMENT "stockd_export_batch"
#define TEMP_TABLE "stockd_export_batch"

/* The table's columns, in the order rows are written. */
static const char columns[] =
    "stream_id, ms, seq, moved_at, type, sku, location, quantity, reservation, reason";

static int fail(struct sink *k, const char *what, const char *detail)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s", detail ? detail : "");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    for (size_t i = 0; i < n; i++) /* one log line */
        if (msg[i] == '\n')
            msg[i] = ' ';
    snprintf(k->err, sizeof k->err, "%s: %s", what, msg);
    return -1;
}

static int fail_conn(struct sink *k, const char *what)
{
    return fail(k, what, PQerrorMessage(k->conn));
}

/* Waits for the results of the command just sent and returns the last one
 * (PQclear it), or the COPY_IN result that asks for data; NULL when the
 * connection failed, the server did not answer in QUERY_TIMEOUT_MS, or a
 * stop was asked and STOP_GRACE_MS passed (k->err says which; the caller
 * closes the connection, and what was not acknowledged in Redis is written
 * again later). Unlike PQexec, never waits for ever. */
static PGresult *wait_result(struct sink *k, const char *what, bool sent)
{
    if (!sent) {
        fail_conn(k, what);
        return NULL;
    }
    PGresult *last = NULL;
    uint64_t deadline = export_mono_ms() + QUERY_TIMEOUT_MS;
    bool stopping = false;
    for (;;) {
        while (!PQisBusy(k->conn)) {
            PGresult *r = PQgetResult(k->conn);
            if (r == NULL)
                return last;
            ExecStatusType st = PQresultStatus(r);
            PQclear(last);
            last = r;
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
                return last;
        }
        uint64_t now = export_mono_ms();
        if (now >= deadline) {
            PQclear(last);
            fail(k, what, stopping ? "given up: stopping" : "no answer in 90 s");
            return NULL;
        }
        struct pollfd p[2] = {{.fd = PQsocket(k->conn), .events = POLLIN},
                              {.fd = k->stop_fd, .events = POLLIN}};
        /* Once the stop is seen, only the socket: the eventfd stays readable. */
        int got = poll(p, stopping ? 1 : 2, (int)(deadline - now));
        if (got < 0 && errno != EINTR) {
            PQclear(last);
            fail(k, what, strerror(errno));
            return NULL;
        }
        if (!stopping && (p[1].revents & POLLIN)) {
            stopping = true;
            uint64_t seen = export_mono_ms();
            if (deadline > seen + STOP_GRACE_MS)
                deadline = seen + STOP_GRACE_MS;
        }
        if ((p[0].revents & (POLLIN | POLLERR | POLLHUP)) && PQconsumeInput(k->conn) == 0) {
            PQclear(last);
            fail_conn(k, what);
            return NULL;
        }
    }
}

/* Runs a command that returns nothing the caller needs; COMMAND_OK or
 * TUPLES_OK, else fail. */
static int run(struct sink *k, const char *what, const char *sql)
{
    PGresult *r = wait_result(k, what, PQsendQuery(k->conn, sql) == 1);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = fail(k, what, r ? PQresultErrorMessage(r) : PQerrorMessage(k->conn));
    PQclear(r);
    return rc;
}

int sink_check_conninfo(const struct export_config *cfg, char *err, size_t errlen)
{
    if (cfg->pg[0] == '\0')
        return 0;
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(cfg->pg, &msg);
    if (opts == NULL) {
        /* libpq's message may quote the string, password and all. */
        PQfreemem(msg);
        snprintf(err, errlen, "stockd-export: --pg is not a libpq connection string or URI");
        return -1;
    }
    bool has_password = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
            has_password = true;
    PQconninfoFree(opts);
    if (has_password && cfg->pg_from_argv) {
        snprintf(err, errlen,
                 "stockd-export: --pg must not hold a password (every user sees the command "
                 "line): use STOCKD_EXPORT_PG, --pg-password-file, PGPASSWORD or PGPASSFILE");
        return -1;
    }
    return 0;
}

void sink_init(struct sink *k, const struct export_config *cfg, const char *password)
{
    memset(k, 0, sizeof *k);
    k->cfg = cfg;
    k->stop_fd = -1;
    k->password = password && password[0] ? password : NULL;
    if (cfg->table_schema[0])
        snprintf(k->table, sizeof k->table, "\"%s\".\"%s\"", cfg->table_schema, cfg->table);
    else
        snprintf(k->table, sizeof k->table, "\"%s\"", cfg->table);
    snprintf(k->index, sizeof k->index, "\"%s_ms_seq\"", cfg->table);
    buf_init(&k->sql);
    buf_init(&k->vals);
}

void sink_free(struct sink *k)
{
    sink_close(k);
    buf_free(&k->sql);
    buf_free(&k->vals);
    free(k->params);
    k->params = NULL;
}

void sink_close(struct sink *k)
{
    if (k->conn)
        PQfinish(k->conn);
    k->conn = NULL;
    k->prepared = false;
    k->temp_table = false;
}

/* libpq writes server notices ("relation already exists, skipping") to
 * stderr by default: keep them out of the log unless asked. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    log_debug("postgresql: %.*s", (int)n, message);
}

int sink_connect(struct sink *k, int stop_fd)
{
    sink_close(k);
    k->stop_fd = stop_fd;
    /* Defaults first: the connection string, then the password file, win. */
    const char *keys[16], *vals[16];
    int n = 0;
    keys[n] = "application_name", vals[n++] = "stockd-export";
    keys[n] = "keepalives", vals[n++] = "1";
    keys[n] = "keepalives_idle", vals[n++] = "10";
    keys[n] = "keepalives_interval", vals[n++] = "5";
    keys[n] = "keepalives_count", vals[n++] = "3";
    /* A statement on a connection whose peer vanished fails within 30 s. */
    keys[n] = "tcp_user_timeout", vals[n++] = "30000";
    if (k->cfg->pg[0])
        keys[n] = "dbname", vals[n++] = k->cfg->pg;
    if (k->password)
        keys[n] = "password", vals[n++] = k->password;
    keys[n] = NULL, vals[n] = NULL;

    k->conn = PQconnectStartParams(keys, vals, 1);
    if (k->conn == NULL)
        return fail(k, "connect", "out of memory");
    if (PQstatus(k->conn) == CONNECTION_BAD)
        return fail_conn(k, "connect");
    PQsetNoticeProcessor(k->conn, on_notice, NULL);
    uint64_t deadline = export_mono_ms() + CONNECT_TIMEOUT_MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK)
            break;
        if (st == PGRES_POLLING_FAILED)
            return fail_conn(k, "connect");
        uint64_t now = export_mono_ms();
        if (now >= deadline)
            return fail(k, "connect", "no answer within 10 s");
        struct pollfd p[2] = {
            {.fd = PQsocket(k->conn), .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT},
            {.fd = stop_fd, .events = POLLIN},
        };
        int got = poll(p, 2, (int)(deadline - now));
        if (got < 0 && errno != EINTR)
            return fail(k, "connect", strerror(errno));
        if (p[1].revents & POLLIN) {
            sink_close(k);
            return 1;
        }
        if (got > 0)
            st = PQconnectPoll(k->conn);
    }
    /* A statement that waits on a lock for ever would stall the export:
     * bound it, unless the connection string chose a bound already. */
    return run(k, "statement_timeout",
               "SELECT set_config('statement_timeout', '60s', false) "
               "WHERE current_setting('statement_timeout') IN ('0', '0ms')");
}

int sink_prepare(struct sink *k)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS %s ("
             "stream_id text PRIMARY KEY, "
             "ms bigint NOT NULL, "
             "seq bigint NOT NULL, "
             "moved_at timestamptz NOT NULL, "
             "type text, sku text, location text, quantity bigint, reservation text, "
             "reason text)",
             k->table);
    if (run(k, "create table", sql) != 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE INDEX IF NOT EXISTS %s ON %s (ms, seq)", k->index, k->table);
    return run(k, "create index", sql);
}

/* --- one row as text ------------------------------------------------------ */

/* Text of an id part as bigint (an id written by hand past bigint's range
 * is kept whole in stream_id and clamped here). */
static void append_id_part(struct buf *b, uint64_t v)
{
    buf_append_int(b, v > INT64_MAX ? INT64_MAX : (long long)v);
}

/* The row's 10 column values, each followed by a NUL, into b; NULL values
 * are marked in null[]. */
static void row_values(const struct ledger_row *row, struct buf *b, size_t *offsets, bool *null)
{
    char when[48];
    int c = 0;
    offsets[c] = b->len, null[c++] = false;
    buf_appends(b, row->id_text), buf_appendc(b, '\0');
    offsets[c] = b->len, null[c++] = false;
    append_id_part(b, row->id.ms), buf_appendc(b, '\0');
    offsets[c] = b->len, null[c++] = false;
    append_id_part(b, row->id.seq), buf_appendc(b, '\0');
    ledger_time_text(row->id.ms, when, sizeof when);
    offsets[c] = b->len, null[c++] = false;
    buf_appends(b, when), buf_appendc(b, '\0');
    for (int f = 0; f < LF_COUNT; f++, c++) {
        offsets[c] = b->len;
        null[c] = row->value[f].p == NULL;
        if (null[c])
            continue;
        if (f == LF_QUANTITY)
            buf_append_int(b, row->quantity);
        else
            buf_append(b, row->value[f].p, row->value[f].n);
        buf_appendc(b, '\0');
    }
}

/* One value in COPY's text format: \N for NULL, and the four bytes that
 * would end a value or a row escaped. */
static void copy_value(struct buf *b, const char *v, bool null)
{
    if (null) {
        buf_appends(b, "\\N");
        return;
    }
    for (; *v; v++) {
        switch (*v) {
        case '\\':
            buf_appends(b, "\\\\");
            break;
        case '\t':
            buf_appends(b, "\\t");
            break;
        case '\n':
            buf_appends(b, "\\n");
            break;
        case '\r':
            buf_appends(b, "\\r");
            break;
        default:
            buf_appendc(b, *v);
        }
    }
}

static int inserted_count(struct sink *k, PGresult *r, long long *inserted)
{
    const char *n = PQcmdTuples(r);
    char *end;
    *inserted = strtoll(n, &end, 10);
    if (n[0] == '\0' || *end != '\0')
        return fail(k, "insert", "no row count");
    return 0;
}

/* --- INSERT ... VALUES ------------------------------------------------------ */

static void values_statement(struct sink *k, size_t n)
{
    buf_reset(&k->sql);
    buf_appends(&k->sql, "INSERT INTO ");
    buf_appends(&k->sql, k->table);
    buf_appends(&k->sql, " (");
    buf_appends(&k->sql, columns);
    buf_appends(&k->sql, ") VALUES ");
    for (size_t i = 0; i < n; i++) {
        buf_appends(&k->sql, i ? ",(" : "(");
        for (int c = 0; c < COLUMNS; c++) {
            buf_appends(&k->sql, c ? ",$" : "$");
            buf_append_int(&k->sql, (long long)(i * COLUMNS + (size_t)c + 1));
        }
        buf_appendc(&k->sql, ')');
    }
    buf_appends(&k->sql, " ON CONFLICT (stream_id) DO NOTHING");
}

static int insert_values(struct sink *k, const struct ledger_row *rows, size_t n,
                         long long *inserted)
{
    size_t total = n * COLUMNS;
    k->params = xgrow(k->params, &k->params_cap, total, sizeof *k->params);
    size_t *offsets = xmalloc(total * sizeof *offsets);
    bool *null = xmalloc(total * sizeof *null);
    buf_reset(&k->vals);
    for (size_t i = 0; i < n; i++)
        row_values(&rows[i], &k->vals, offsets + i * COLUMNS, null + i * COLUMNS);
    /* Only now: the buffer no longer moves. */
    for (size_t i = 0; i < total; i++)
        k->params[i] = null[i] ? NULL : k->vals.data + offsets[i];
    free(offsets);
    free(null);

    PGresult *r;
    bool full = (long long)n == k->cfg->batch;
    if (full && !k->prepared) {
        values_statement(k, n);
        r = wait_result(k, "prepare",
                        PQsendPrepare(k->conn, STATEMENT, buf_cstr(&k->sql), (int)total, NULL) ==
                            1);
        if (r == NULL)
            return -1;
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fail(k, "prepare", PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return -1;
        k->prepared = true;
    }
    if (full) {
        r = wait_result(
            k, "insert",
            PQsendQueryPrepared(k->conn, STATEMENT, (int)total, k->params, NULL, NULL, 0) == 1);
    } else {
        values_statement(k, n);
        r = wait_result(k, "insert",
                        PQsendQueryParams(k->conn, buf_cstr(&k->sql), (int)total, NULL, k->params,
                                          NULL, NULL, 0) == 1);
    }
    if (r == NULL)
        return -1;
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? inserted_count(k, r, inserted)
                                                   : fail(k, "insert", PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

/* --- COPY, then INSERT ... SELECT -------------------------------------------- */

static int insert_copy(struct sink *k, const struct ledger_row *rows, size_t n, long long *inserted)
{
    char sql[512];
    if (!k->temp_table) {
        snprintf(sql, sizeof sql,
                 "CREATE TEMP TABLE IF NOT EXISTS " TEMP_TABLE
                 " (LIKE %s INCLUDING DEFAULTS) ON COMMIT DELETE ROWS",
                 k->table);
        if (run(k, "create temp table", sql) != 0)
            return -1;
        k->temp_table = true;
    }
    buf_reset(&k->sql);
    size_t offsets[COLUMNS];
    bool null[COLUMNS];
    for (size_t i = 0; i < n; i++) {
        buf_reset(&k->vals);
        row_values(&rows[i], &k->vals, offsets, null);
        for (int c = 0; c < COLUMNS; c++) {
            if (c)
                buf_appendc(&k->sql, '\t');
            copy_value(&k->sql, k->vals.data + offsets[c], null[c]);
        }
        buf_appendc(&k->sql, '\n');
    }
    if (run(k, "begin", "BEGIN") != 0)
        return -1;
    PGresult *r = wait_result(k, "copy",
                              PQsendQuery(k->conn, "COPY " TEMP_TABLE
                                                   " (stream_id, ms, seq, moved_at, type, sku, "
                                                   "location, quantity, reservation, reason) "
                                                   "FROM STDIN") == 1);
    if (r == NULL)
        return -1;
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok)
        fail(k, "copy", PQresultErrorMessage(r));
    PQclear(r);
    if (!ok)
        return -1;
    if (PQputCopyData(k->conn, k->sql.data, (int)k->sql.len) != 1 ||
        PQputCopyEnd(k->conn, NULL) != 1)
        return fail_conn(k, "copy");
    r = wait_result(k, "copy", true);
    if (r == NULL)
        return -1;
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fail(k, "copy", PQresultErrorMessage(r));
    PQclear(r);
    if (!ok)
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO %s SELECT * FROM " TEMP_TABLE " ON CONFLICT (stream_id) DO NOTHING",
             k->table);
    r = wait_result(k, "insert", PQsendQuery(k->conn, sql) == 1);
    if (r == NULL)
        return -1;
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? inserted_count(k, r, inserted)
                                                   : fail(k, "insert", PQresultErrorMessage(r));
    PQclear(r);
    if (rc != 0)
        return -1;
    return run(k, "commit", "COMMIT");
}

int sink_insert(struct sink *k, const struct ledger_row *rows, size_t n, long long *inserted)
{
    *inserted = 0;
    if (n == 0)
        return 0;
    /* One statement outside BEGIN is its own transaction: committed when
     * it returns. */
    return k->cfg->insert == INSERT_COPY ? insert_copy(k, rows, n, inserted)
                                         : insert_values(k, rows, n, inserted);
}

/* --- reading back ------------------------------------------------------------ */

int sink_present(struct sink *k, const struct stream_id *ids, size_t n, bool *present)
{
    buf_reset(&k->vals);
    buf_appendc(&k->vals, '{');
    for (size_t i = 0; i < n; i++) {
        char id[STREAM_ID_MAX];
        if (i)
            buf_appendc(&k->vals, ',');
        buf_appends(&k->vals, stream_id_format(ids[i], id));
        present[i] = false;
    }
    buf_appendc(&k->vals, '}');
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT stream_id FROM %s WHERE stream_id = ANY($1::text[])",
             k->table);
    const char *param = buf_cstr(&k->vals);
    PGresult *r = wait_result(k, "select",
                              PQsendQueryParams(k->conn, sql, 1, NULL, &param, NULL, NULL, 0) == 1);
    if (r == NULL)
        return -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail(k, "select", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        struct stream_id id;
        const char *v = PQgetvalue(r, row, 0);
        if (!stream_id_parse(v, strlen(v), &id))
            continue;
        for (size_t i = 0; i < n; i++)
            if (stream_id_cmp(ids[i], id) == 0)
                present[i] = true;
    }
    PQclear(r);
    return 0;
}

int sink_count_before(struct sink *k, struct stream_id before, long long *count)
{
    char sql[256], ms[24], seq[24];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE (ms, seq) < ($1::bigint, $2::bigint)",
             k->table);
    snprintf(ms, sizeof ms, "%" PRIu64, before.ms > INT64_MAX ? (uint64_t)INT64_MAX : before.ms);
    snprintf(seq, sizeof seq, "%" PRIu64,
             before.seq > INT64_MAX ? (uint64_t)INT64_MAX : before.seq);
    const char *params[] = {ms, seq};
    PGresult *r = wait_result(k, "count",
                              PQsendQueryParams(k->conn, sql, 2, NULL, params, NULL, NULL, 0) == 1);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        rc = fail(k, "count", PQresultErrorMessage(r));
    else
        *count = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}
