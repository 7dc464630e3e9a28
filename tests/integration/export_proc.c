/* The export tests' side of stockd-export (see export_proc.h). */
#include "export_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 30000
#define MAX_PROCS 64
#define PAGE 10000

/* Copies, not pointers: a failed test leaves the stack its export_proc
 * lived on. */
static struct export_proc running[MAX_PROCS];
static int n_started;

static void pace(void)
{
    poll(NULL, 0, 10); /* a probe's pace, never a wait for an event */
}

static void forget(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (running[i].pid == pid)
            running[i].pid = 0;
}

void export_start(struct export_proc *p, const struct export_pg *pg, const char *table,
                  const char *const *args)
{
    memset(p, 0, sizeof *p);
    snprintf(p->log_path, sizeof p->log_path, "%.400s/export-%d.log", H.dir, n_started++);
    char redis[64];
    snprintf(redis, sizeof redis, "redis://127.0.0.1:%d/0", H.redis_port);
    const char *argv[48] = {STOCKD_EXPORT_BIN, "--redis", redis,    "--pg",       pg->conninfo,
                            "--table",         table,     "--http", "127.0.0.1:0"};
    int n = 9;
    for (int i = 0; args && args[i] && n < 46; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = harness_spawn((char *const *)argv, p->log_path);
    p->pid = pid;
    for (int i = 0; i < MAX_PROCS; i++)
        if (running[i].pid == 0) {
            running[i] = *p;
            break;
        }
    long long deadline = harness_now_ms() + START_TIMEOUT_MS;
    while (p->http_port == 0) {
        char *line = export_log_line(p, "metrics on http://127.0.0.1:");
        if (line) {
            p->http_port = atoi(strstr(line, "127.0.0.1:") + strlen("127.0.0.1:"));
            free(line);
            break;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            forget(pid);
            p->pid = 0;
            fail_msg("stockd-export exited (status 0x%x) before serving HTTP; see %s", st,
                     p->log_path);
        }
        if (harness_now_ms() > deadline)
            fail_msg("stockd-export did not serve HTTP in %d ms; see %s", START_TIMEOUT_MS,
                     p->log_path);
        pace();
    }
}

int export_stop(struct export_proc *p)
{
    int st = 0;
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    long long deadline = harness_now_ms() + STOP_TIMEOUT_MS;
    while (waitpid(p->pid, &st, WNOHANG) == 0) {
        if (harness_now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            break;
        }
        pace();
    }
    forget(p->pid);
    p->pid = 0;
    return st;
}

void export_kill(struct export_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    forget(p->pid);
    p->pid = 0;
}

void export_kill_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (running[i].pid > 0) {
            /* Still running: the test stopped half way. Show why. */
            struct export_proc p = running[i];
            char cmd[1400];
            snprintf(cmd, sizeof cmd, "echo '---- end of %s ----' >&2; tail -n 15 '%s' >&2",
                     p.log_path, p.log_path);
            if (system(cmd) != 0)
                fprintf(stderr, "(no log at %s)\n", p.log_path);
            export_kill(&p);
        }
}

double export_metric(const struct export_proc *p, const char *series)
{
    char *body = NULL;
    if (harness_http_get(p->http_port, "/metrics", &body) != 200)
        fail_msg("GET /metrics of stockd-export failed (see %s)", p->log_path);
    double v = metric_value(body, series);
    free(body);
    return v;
}

char *export_log_line(const struct export_proc *p, const char *needle)
{
    FILE *f = fopen(p->log_path, "r");
    char line[4096];
    char *found = NULL;
    while (f && !found && fgets(line, sizeof line, f))
        if (strstr(line, needle))
            found = strdup(line);
    if (f)
        fclose(f);
    return found;
}

int export_log_count(const struct export_proc *p, const char *needle)
{
    FILE *f = fopen(p->log_path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

void export_wait_log(const struct export_proc *p, const char *needle, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    while (export_log_count(p, needle) == 0) {
        if (harness_now_ms() > deadline)
            fail_msg("stockd-export never logged '%s' (see %s)", needle, p->log_path);
        pace();
    }
}

void export_wait_metric(const struct export_proc *p, const char *series, double min, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    double v;
    while ((v = export_metric(p, series)) < min) {
        if (harness_now_ms() > deadline)
            fail_msg("%s stayed at %g, below %g, for %d ms (see %s)", series, v, min, timeout_ms,
                     p->log_path);
        pace();
    }
}

void export_add_entries(long long n, unsigned seed)
{
    static const char *const types[] = {"reserve", "release", "commit", "expire",
                                        "adjust",  "set",     "restock"};
    redisContext *c = H.redis;
    long long sent = 0;
    while (sent < n) {
        long long chunk = n - sent < PAGE ? n - sent : PAGE;
        for (long long i = 0; i < chunk; i++) {
            unsigned k = seed * 2654435761u + (unsigned)(sent + i) * 40503u;
            char sku[32], loc[32], qty[32], res[32], reason[96];
            snprintf(sku, sizeof sku, "SKU-%u", k % 500);
            snprintf(loc, sizeof loc, "wh-%u", (k >> 8) % 7);
            snprintf(qty, sizeof qty, "%d", (int)(k % 2001) - 1000);
            if (k % 3 == 0)
                res[0] = '\0';
            else
                snprintf(res, sizeof res, "r%u-%lld", seed, sent + i);
            switch ((k >> 4) % 5) {
            case 0:
                snprintf(reason, sizeof reason, "PO-%u r\xc3\xa9\x63\x65ption \xe2\x84\x96%u",
                         k % 97, k % 13);
                break;
            case 1:
                snprintf(reason, sizeof reason, "back\\slash \"quoted\"\ttab");
                break;
            default:
                reason[0] = '\0';
            }
            const char *argv[] = {
                "XADD", EXPORT_LEDGER_KEY, "*",   "type",     types[k % 7], "sku",
                sku,    "location",        loc,   "quantity", qty,          "reservation",
                res,    "reason",          reason};
            redisAppendCommandArgv(c, 15, argv, NULL);
        }
        for (long long i = 0; i < chunk; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL ||
                r->type != REDIS_REPLY_STRING)
                fail_msg("XADD failed: %s", r && r->str ? r->str : c->errstr);
            freeReplyObject(r);
        }
        sent += chunk;
    }
}

/* A field of a flat [name, value, ...] reply; NULL when absent. */
static const redisReply *field(const redisReply *r, const char *name)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

void export_wait_caught_up(int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        redisReply *s = harness_redis(&H, "XINFO STREAM %s", EXPORT_LEDGER_KEY);
        redisReply *g = harness_redis(&H, "XINFO GROUPS %s", EXPORT_LEDGER_KEY);
        const redisReply *last = field(s, "last-generated-id");
        bool done = false;
        char state[256] = "no group";
        for (size_t i = 0; g->type == REDIS_REPLY_ARRAY && i < g->elements; i++) {
            const redisReply *name = field(g->element[i], "name");
            if (name == NULL || strcmp(name->str, EXPORT_GROUP) != 0)
                continue;
            const redisReply *delivered = field(g->element[i], "last-delivered-id");
            const redisReply *pending = field(g->element[i], "pending");
            done = last && delivered && pending && pending->integer == 0 &&
                   strcmp(last->str, delivered->str) == 0;
            snprintf(state, sizeof state, "delivered %s of %s, %lld pending",
                     delivered ? delivered->str : "?", last ? last->str : "?",
                     pending ? pending->integer : -1);
        }
        freeReplyObject(s);
        freeReplyObject(g);
        if (done)
            return;
        if (harness_now_ms() > deadline)
            fail_msg("the export did not catch up in %d ms: %s", timeout_ms, state);
        pace();
    }
}

/* The value of a ledger field in an entry, '' when absent. */
static const char *entry_field(const redisReply *fields, const char *name)
{
    const redisReply *v = field(fields, name);
    return v ? v->str : "";
}

/* Table text for a nullable column: NULL is the ledger's ''. */
static const char *cell(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

long long export_compare(PGconn *c, const char *table, bool whole)
{
    char first[64] = "";
    redisReply *head = harness_redis(&H, "XRANGE %s - + COUNT 1", EXPORT_LEDGER_KEY);
    if (head->elements == 1)
        snprintf(first, sizeof first, "%s", head->element[0]->element[0]->str);
    freeReplyObject(head);
    char where[160] = "";
    if (!whole && first[0]) {
        unsigned long long ms, seq;
        sscanf(first, "%llu-%llu", &ms, &seq);
        snprintf(where, sizeof where, "WHERE (ms, seq) >= (%llu, %llu)", ms, seq);
    }
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT stream_id, type, sku, location, quantity, reservation, reason, ms, seq, "
             "(extract(epoch FROM moved_at) * 1000)::bigint FROM %s %s ORDER BY ms, seq",
             table, where);
    PGresult *rows = export_pg_query(c, sql);
    int n_rows = PQntuples(rows);
    long long compared = 0;
    char from[80] = "-";
    for (;;) {
        redisReply *page =
            harness_redis(&H, "XRANGE %s %s + COUNT %d", EXPORT_LEDGER_KEY, from, PAGE);
        for (size_t i = 0; i < page->elements; i++, compared++) {
            const redisReply *e = page->element[i];
            const char *id = e->element[0]->str;
            if (compared >= n_rows)
                fail_msg("%s: the stream's entry %s (number %lld) is not in the table", table, id,
                         compared + 1);
            int row = (int)compared;
            if (strcmp(PQgetvalue(rows, row, 0), id) != 0)
                fail_msg("%s: row %lld is %s, the stream's entry is %s (a gap or an extra row)",
                         table, compared + 1, PQgetvalue(rows, row, 0), id);
            static const char *const names[] = {"type",     "sku",         "location",
                                                "quantity", "reservation", "reason"};
            for (int f = 0; f < 6; f++)
                if (strcmp(cell(rows, row, f + 1), entry_field(e->element[1], names[f])) != 0)
                    fail_msg("%s: entry %s: %s is '%s' in the table, '%s' in the stream", table, id,
                             names[f], cell(rows, row, f + 1),
                             entry_field(e->element[1], names[f]));
            unsigned long long ms, seq;
            sscanf(id, "%llu-%llu", &ms, &seq);
            if (strtoull(PQgetvalue(rows, row, 7), NULL, 10) != ms ||
                strtoull(PQgetvalue(rows, row, 8), NULL, 10) != seq ||
                strtoull(PQgetvalue(rows, row, 9), NULL, 10) != ms)
                fail_msg("%s: entry %s: ms %s, seq %s, moved_at %s ms", table, id,
                         PQgetvalue(rows, row, 7), PQgetvalue(rows, row, 8),
                         PQgetvalue(rows, row, 9));
        }
        bool more = page->elements == PAGE;
        if (more)
            snprintf(from, sizeof from, "(%s", page->element[page->elements - 1]->element[0]->str);
        freeReplyObject(page);
        if (!more)
            break;
    }
    if (n_rows != compared)
        fail_msg("%s: %d rows, the stream has %lld entries", table, n_rows, compared);
    PQclear(rows);
    return compared;
}
