/* The Redis side of the export (see source.h). Replies are read
 * distrustfully: a field of the wrong type is an error, never a crash. */
#include "source.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "buf.h"
#include "keys.h"

#define CONNECT_TIMEOUT_MS 2000
/* Beyond the longest blocking read: a silent Redis is a failed one. */
#define REPLY_MARGIN_MS 5000

/* --- batches ----------------------------------------------------------- */

void batch_init(struct batch *b)
{
    memset(b, 0, sizeof *b);
}

void batch_reset(struct batch *b)
{
    if (b->reply)
        freeReplyObject(b->reply);
    b->reply = NULL;
    b->n_rows = 0;
    b->n_lost = 0;
    b->first = b->last = (struct stream_id){0, 0};
}

void batch_free(struct batch *b)
{
    batch_reset(b);
    free(b->rows);
    free(b->lost);
    free(b->pairs);
    memset(b, 0, sizeof *b);
}

size_t batch_size(const struct batch *b)
{
    return b->n_rows + b->n_lost;
}

static void batch_note_id(struct batch *b, struct stream_id id)
{
    if (batch_size(b) == 0 || stream_id_cmp(id, b->first) < 0)
        b->first = id;
    if (batch_size(b) == 0 || stream_id_cmp(id, b->last) > 0)
        b->last = id;
}

static void batch_add_lost(struct batch *b, struct stream_id id)
{
    batch_note_id(b, id);
    b->lost = xgrow(b->lost, &b->lost_cap, b->n_lost + 1, sizeof *b->lost);
    b->lost[b->n_lost++] = id;
}

/* --- reading replies ---------------------------------------------------- */

static struct str str_of(const redisReply *r)
{
    return (struct str){r->str, r->len};
}

static bool is_string(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static bool id_of(const redisReply *r, struct stream_id *id)
{
    return is_string(r) && stream_id_parse(r->str, r->len, id);
}

/* The value of name in a flat [name, value, ...] array; NULL if absent. */
static const redisReply *map_get(const redisReply *r, const char *name)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (is_string(r->element[i]) && r->element[i]->len == n &&
            memcmp(r->element[i]->str, name, n) == 0)
            return r->element[i + 1];
    return NULL;
}

static int fail(struct source *s, const char *fmt, const char *detail)
{
    snprintf(s->err, sizeof s->err, fmt, detail);
    return SOURCE_ERR;
}

/* A Redis error reply: the stream or the group is gone (NOGROUP, "no such
 * key"), or anything else. */
static int reply_error(struct source *s, const redisReply *r, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s: %.*s", what, (int)(r->len > 200 ? 200 : r->len), r->str);
    if (strncmp(r->str, "NOGROUP", 7) == 0 || strstr(r->str, "no such key") != NULL)
        return SOURCE_NOGROUP;
    return SOURCE_ERR;
}

/* Reads one entry ([id, [field, value, ...]] or [id, nil]) into b. */
static int read_entry(struct source *s, const redisReply *e, struct batch *b)
{
    struct stream_id id;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !id_of(e->element[0], &id))
        return fail(s, "%s", "an entry that is not [id, fields]");
    const redisReply *f = e->element[1];
    if (f->type == REDIS_REPLY_NIL) {
        batch_add_lost(b, id);
        return SOURCE_OK;
    }
    if (f->type != REDIS_REPLY_ARRAY)
        return fail(s, "%s", "an entry whose fields are not an array");
    b->pairs = xgrow(b->pairs, &b->pairs_cap, f->elements + 1, sizeof *b->pairs);
    for (size_t i = 0; i < f->elements; i++) {
        if (!is_string(f->element[i]))
            return fail(s, "%s", "an entry field that is not a string");
        b->pairs[i] = str_of(f->element[i]);
    }
    b->rows = xgrow(b->rows, &b->rows_cap, b->n_rows + 1, sizeof *b->rows);
    if (!ledger_row_read(&b->rows[b->n_rows], str_of(e->element[0]), b->pairs, f->elements))
        return fail(s, "%s", "an entry id that is not a stream id");
    batch_note_id(b, id);
    b->n_rows++;
    return SOURCE_OK;
}

/* Reads an XREADGROUP reply (nil, or [[key, [entry, ...]]]) into b. */
static int read_entries(struct source *s, const redisReply *r, struct batch *b)
{
    if (r->type == REDIS_REPLY_NIL)
        return SOURCE_OK;
    if (r->type == REDIS_REPLY_ERROR)
        return reply_error(s, r, "XREADGROUP");
    if (r->type != REDIS_REPLY_ARRAY)
        return fail(s, "%s", "XREADGROUP: not an array");
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *pair = r->element[k];
        if (pair->type != REDIS_REPLY_ARRAY || pair->elements != 2 ||
            pair->element[1]->type != REDIS_REPLY_ARRAY)
            return fail(s, "%s", "XREADGROUP: not [key, entries]");
        const redisReply *entries = pair->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            int rc = read_entry(s, entries->element[i], b);
            if (rc != SOURCE_OK)
                return rc;
        }
    }
    return SOURCE_OK;
}

static bool int_of(const redisReply *r, long long *v)
{
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return false;
    *v = r->integer;
    return true;
}

static int read_stream_info(struct source *s, const redisReply *r, struct stream_info *info)
{
    if (r->type == REDIS_REPLY_ERROR)
        return reply_error(s, r, "XINFO STREAM");
    memset(info, 0, sizeof *info);
    const redisReply *first = map_get(r, "first-entry");
    if (!int_of(map_get(r, "length"), &info->length) ||
        !int_of(map_get(r, "entries-added"), &info->entries_added) ||
        !id_of(map_get(r, "last-generated-id"), &info->last_generated) || first == NULL)
        return fail(s, "%s",
                    "XINFO STREAM: length, entries-added, last-generated-id or "
                    "first-entry missing (Redis 7.0 or later is needed)");
    if (first->type == REDIS_REPLY_ARRAY && first->elements >= 1) {
        if (!id_of(first->element[0], &info->first))
            return fail(s, "%s", "XINFO STREAM: first-entry has no id");
        info->has_first = true;
    }
    return SOURCE_OK;
}

static int read_group_info(struct source *s, const redisReply *r, bool *found, struct group_info *g)
{
    if (r->type == REDIS_REPLY_ERROR)
        return reply_error(s, r, "XINFO GROUPS");
    if (r->type != REDIS_REPLY_ARRAY)
        return fail(s, "%s", "XINFO GROUPS: not an array");
    *found = false;
    memset(g, 0, sizeof *g);
    size_t glen = strlen(s->cfg->group);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *name = map_get(r->element[i], "name");
        if (!is_string(name) || name->len != glen || memcmp(name->str, s->cfg->group, glen) != 0)
            continue;
        if (!id_of(map_get(r->element[i], "last-delivered-id"), &g->last_delivered) ||
            !int_of(map_get(r->element[i], "pending"), &g->pending))
            return fail(s, "%s", "XINFO GROUPS: last-delivered-id or pending missing");
        /* nil (or absent before Redis 7.0) when Redis cannot count it. */
        g->lag_known = int_of(map_get(r->element[i], "lag"), &g->lag);
        *found = true;
    }
    return SOURCE_OK;
}

static int read_time(struct source *s, const redisReply *r, long long *ms)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !is_string(r->element[0]) ||
        !is_string(r->element[1]))
        return fail(s, "%s", "TIME: not [seconds, microseconds]");
    *ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
    return SOURCE_OK;
}

/* XPENDING's summary: [count, min id, max id, consumers]. */
static int read_pending_summary(struct source *s, const redisReply *r, struct source_snapshot *snap)
{
    if (r->type == REDIS_REPLY_ERROR)
        return reply_error(s, r, "XPENDING");
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
        return fail(s, "%s", "XPENDING: not a summary");
    snap->has_pending_min = id_of(r->element[1], &snap->pending_min);
    return SOURCE_OK;
}

/* --- commands ------------------------------------------------------------ */

static int check_connection(struct source *s, const char *what)
{
    if (s->c->err != 0)
        snprintf(s->err, sizeof s->err, "%s: %s", what, s->c->errstr);
    else
        snprintf(s->err, sizeof s->err, "%s: no reply", what);
    return SOURCE_ERR;
}

/* Runs one command; the reply (never NULL on SOURCE_OK, possibly an error
 * reply) is the caller's to free. */
static int command(struct source *s, int argc, const char **argv, redisReply **out)
{
    assert(s->c != NULL);
    *out = redisCommandArgv(s->c, argc, argv, NULL);
    if (*out == NULL)
        return check_connection(s, argv[0]);
    return SOURCE_OK;
}

/* Queues argv for a pipeline. */
static void append(struct source *s, int argc, const char **argv)
{
    redisAppendCommandArgv(s->c, argc, argv, NULL);
}

/* Sends "MULTI", the n_cmds queued in between by the caller, and "EXEC"
 * (already appended), and returns EXEC's reply (an array of n_cmds). */
static int exec_multi(struct source *s, size_t n_cmds, redisReply **out)
{
    *out = NULL;
    for (size_t i = 0; i < n_cmds + 1; i++) { /* +OK, then +QUEUED each */
        redisReply *r = NULL;
        if (redisGetReply(s->c, (void **)&r) != REDIS_OK || r == NULL)
            return check_connection(s, "MULTI");
        bool ok = r->type == REDIS_REPLY_STATUS;
        int rc = ok                             ? SOURCE_OK
                 : r->type == REDIS_REPLY_ERROR ? reply_error(s, r, "MULTI")
                                                : fail(s, "%s", "MULTI: odd reply");
        freeReplyObject(r);
        if (!ok) {
            /* Read the rest (EXEC answers EXECABORT) to keep the connection in step. */
            for (size_t k = i + 1; k < n_cmds + 2; k++)
                if (redisGetReply(s->c, (void **)&r) == REDIS_OK && r != NULL)
                    freeReplyObject(r);
            return rc == SOURCE_NOGROUP ? SOURCE_NOGROUP : SOURCE_ERR;
        }
    }
    redisReply *r = NULL;
    if (redisGetReply(s->c, (void **)&r) != REDIS_OK || r == NULL)
        return check_connection(s, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n_cmds) {
        int rc = r->type == REDIS_REPLY_ERROR ? reply_error(s, r, "EXEC")
                                              : fail(s, "%s", "EXEC: not the replies");
        freeReplyObject(r);
        return rc;
    }
    *out = r;
    return SOURCE_OK;
}

void source_init(struct source *s, const struct export_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    struct buf key;
    buf_init(&key);
    keys_build(&key, &cfg->ns, KEY_EVENTS, NULL);
    snprintf(s->key, sizeof s->key, "%s", buf_cstr(&key));
    buf_free(&key);
}

void source_close(struct source *s)
{
    if (s->c)
        redisFree(s->c);
    s->c = NULL;
}

/* One command during the handshake that must answer +OK (or anything but
 * an error, for CLIENT SETNAME on a proxy that lacks it: ignored). */
static int handshake(struct source *s, int argc, const char **argv, const char *what,
                     bool must_succeed)
{
    redisReply *r;
    if (command(s, argc, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    bool bad = r->type == REDIS_REPLY_ERROR;
    if (bad && must_succeed) /* never the password: only the command's name */
        snprintf(s->err, sizeof s->err, "%s refused: %.*s", what,
                 (int)(r->len > 160 ? 160 : r->len), r->str);
    freeReplyObject(r);
    return bad && must_succeed ? SOURCE_ERR : SOURCE_OK;
}

int source_connect(struct source *s)
{
    const struct redis_url *u = &s->cfg->redis;
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
    source_close(s);
    s->c = u->unix_path[0] ? redisConnectUnixWithTimeout(u->unix_path, tv)
                           : redisConnectWithTimeout(u->host, u->port, tv);
    if (s->c == NULL || s->c->err) {
        snprintf(s->err, sizeof s->err, "connect: %s", s->c ? s->c->errstr : "out of memory");
        source_close(s);
        return SOURCE_ERR;
    }
    long long wait_ms = s->cfg->block_ms + REPLY_MARGIN_MS;
    struct timeval rt = {wait_ms / 1000, (wait_ms % 1000) * 1000};
    redisSetTimeout(s->c, rt);
    int rc = SOURCE_OK;
    if (u->password[0] != '\0') {
        const char *argv[] = {"AUTH", u->user, u->password};
        rc = u->user[0] ? handshake(s, 3, argv, "AUTH", true)
                        : handshake(s, 2, (const char *[]){"AUTH", u->password}, "AUTH", true);
    }
    char db[16];
    snprintf(db, sizeof db, "%d", u->db);
    if (rc == SOURCE_OK && u->db != 0)
        rc = handshake(s, 2, (const char *[]){"SELECT", db}, "SELECT", true);
    if (rc == SOURCE_OK)
        rc = handshake(s, 3, (const char *[]){"CLIENT", "SETNAME", "stockd-export"}, "CLIENT",
                       false);
    if (rc != SOURCE_OK)
        source_close(s);
    return rc;
}

int source_create_group(struct source *s, bool *created)
{
    const char *argv[] = {"XGROUP", "CREATE", s->key, s->cfg->group, "0", "MKSTREAM"};
    redisReply *r;
    *created = false;
    if (command(s, 6, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    int rc = SOURCE_OK;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = reply_error(s, r, "XGROUP CREATE");
    else
        *created = r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    return rc == SOURCE_NOGROUP ? SOURCE_ERR : rc;
}

/* Queues TIME, XINFO STREAM, XINFO GROUPS and XPENDING (4 commands). */
static void append_snapshot(struct source *s)
{
    append(s, 1, (const char *[]){"TIME"});
    append(s, 3, (const char *[]){"XINFO", "STREAM", s->key});
    append(s, 3, (const char *[]){"XINFO", "GROUPS", s->key});
    append(s, 3, (const char *[]){"XPENDING", s->key, s->cfg->group});
}

static int read_snapshot(struct source *s, redisReply *const *r, struct source_snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    int rc = read_time(s, r[0], &snap->now_ms);
    if (rc == SOURCE_OK)
        rc = read_stream_info(s, r[1], &snap->stream);
    if (rc == SOURCE_OK)
        rc = read_group_info(s, r[2], &snap->group_found, &snap->group);
    if (rc == SOURCE_OK && !snap->group_found) {
        snprintf(s->err, sizeof s->err, "no group %s on %s", s->cfg->group, s->key);
        rc = SOURCE_NOGROUP;
    }
    if (rc == SOURCE_OK)
        rc = read_pending_summary(s, r[3], snap);
    return rc;
}

int source_read_new(struct source *s, long long count, struct source_snapshot *snap,
                    struct batch *b)
{
    batch_reset(b);
    char n[24];
    snprintf(n, sizeof n, "%lld", count);
    append(s, 1, (const char *[]){"MULTI"});
    append_snapshot(s);
    append(s, 9,
           (const char *[]){"XREADGROUP", "GROUP", s->cfg->group, s->cfg->consumer, "COUNT", n,
                            "STREAMS", s->key, ">"});
    append(s, 1, (const char *[]){"EXEC"});
    redisReply *r;
    int rc = exec_multi(s, 5, &r);
    if (rc != SOURCE_OK)
        return rc;
    b->reply = r; /* the rows borrow from it */
    rc = read_snapshot(s, r->element, snap);
    if (rc == SOURCE_OK)
        rc = read_entries(s, r->element[4], b);
    if (rc != SOURCE_OK)
        batch_reset(b);
    return rc;
}

int source_snapshot(struct source *s, struct source_snapshot *snap, struct stream_id *oldest)
{
    append(s, 1, (const char *[]){"MULTI"});
    append_snapshot(s);
    append(s, 1, (const char *[]){"EXEC"});
    redisReply *r;
    int rc = exec_multi(s, 4, &r);
    if (rc != SOURCE_OK)
        return rc;
    rc = read_snapshot(s, r->element, snap);
    freeReplyObject(r);
    *oldest = (struct stream_id){0, 0};
    if (rc != SOURCE_OK || snap->group.pending > 0 || !snap->stream.has_first)
        return rc;
    /* Nothing pending: the oldest unexported entry is the first after the
     * group's last delivered id, if any. */
    char after[STREAM_ID_MAX + 1] = "(";
    stream_id_format(snap->group.last_delivered, after + 1);
    const char *argv[] = {"XRANGE", s->key, after, "+", "COUNT", "1"};
    if (command(s, 6, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    if (r->type == REDIS_REPLY_ERROR)
        rc = reply_error(s, r, "XRANGE");
    else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
             r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
             !id_of(r->element[0]->element[0], oldest))
        rc = fail(s, "%s", "XRANGE: an entry without an id");
    freeReplyObject(r);
    return rc;
}

int source_read_pending(struct source *s, struct stream_id after, long long count, struct batch *b)
{
    batch_reset(b);
    char n[24], from[STREAM_ID_MAX];
    snprintf(n, sizeof n, "%lld", count);
    stream_id_format(after, from);
    const char *argv[] = {"XREADGROUP", "GROUP", s->cfg->group, s->cfg->consumer, "COUNT", n,
                          "STREAMS",    s->key,  from};
    redisReply *r;
    if (command(s, 9, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    b->reply = r;
    int rc = read_entries(s, r, b);
    if (rc != SOURCE_OK)
        batch_reset(b);
    return rc;
}

int source_claim(struct source *s, struct stream_id *cursor, long long count, struct batch *b)
{
    char n[24], from[STREAM_ID_MAX];
    snprintf(n, sizeof n, "%lld", count);
    stream_id_format(*cursor, from);
    const char *argv[] = {"XAUTOCLAIM", s->key, s->cfg->group, s->cfg->consumer, "0", from,
                          "COUNT",      n,      "JUSTID"};
    redisReply *r;
    if (command(s, 9, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    int rc = SOURCE_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_error(s, r, "XAUTOCLAIM");
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || !id_of(r->element[0], cursor)) {
        rc = fail(s, "%s", "XAUTOCLAIM: not [cursor, ids, ...]");
    } else if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY) {
        /* Redis 7.0: the ids it dropped because their entries are gone. */
        for (size_t i = 0; i < r->element[2]->elements && rc == SOURCE_OK; i++) {
            struct stream_id id;
            if (id_of(r->element[2]->element[i], &id))
                batch_add_lost(b, id);
            else
                rc = fail(s, "%s", "XAUTOCLAIM: a deleted id that is not an id");
        }
    }
    freeReplyObject(r);
    return rc;
}

int source_ack(struct source *s, const struct batch *b)
{
    size_t n = batch_size(b);
    if (n == 0)
        return SOURCE_OK;
    const char **argv = xmalloc((n + 3) * sizeof *argv);
    char(*ids)[STREAM_ID_MAX] = xmalloc(b->n_lost * STREAM_ID_MAX + 1);
    argv[0] = "XACK";
    argv[1] = s->key;
    argv[2] = s->cfg->group;
    for (size_t i = 0; i < b->n_rows; i++)
        argv[3 + i] = b->rows[i].id_text;
    for (size_t i = 0; i < b->n_lost; i++)
        argv[3 + b->n_rows + i] = stream_id_format(b->lost[i], ids[i]);
    redisReply *r;
    int rc = command(s, (int)(n + 3), argv, &r);
    if (rc == SOURCE_OK) {
        if (r->type == REDIS_REPLY_ERROR)
            rc = reply_error(s, r, "XACK");
        else if (r->type != REDIS_REPLY_INTEGER)
            rc = fail(s, "%s", "XACK: not a count");
        freeReplyObject(r);
    }
    free(ids);
    free(argv);
    return rc;
}

int source_setid(struct source *s, struct stream_id id, long long entries_read)
{
    char to[STREAM_ID_MAX], n[24];
    stream_id_format(id, to);
    snprintf(n, sizeof n, "%lld", entries_read);
    const char *argv[] = {"XGROUP", "SETID", s->key, s->cfg->group, to, "ENTRIESREAD", n};
    redisReply *r;
    if (command(s, 7, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    int rc = r->type == REDIS_REPLY_ERROR ? reply_error(s, r, "XGROUP SETID") : SOURCE_OK;
    freeReplyObject(r);
    return rc;
}

int source_wait(struct source *s, struct stream_id after, long long block_ms)
{
    char from[STREAM_ID_MAX], ms[24];
    stream_id_format(after, from);
    snprintf(ms, sizeof ms, "%lld", block_ms);
    const char *argv[] = {"XREAD", "COUNT", "1", "BLOCK", ms, "STREAMS", s->key, from};
    redisReply *r;
    if (command(s, 8, argv, &r) != SOURCE_OK)
        return SOURCE_ERR;
    int rc = r->type == REDIS_REPLY_ERROR ? reply_error(s, r, "XREAD") : SOURCE_OK;
    freeReplyObject(r);
    return rc;
}
