/* Reserves through a failover and the books they leave (see
 * failover_load.h). */
#include "failover_load.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h" /* xmalloc and friends */
#include "harness.h"

#define RETRY_PAUSE_MS 10 /* before a retry of an order whose outcome is unknown */
#define NEXT_PAUSE_MS 2   /* before a new order */
#define ANSWER_TIMEOUT_MS 10000

struct fl_client {
    int fd;
    int order;         /* the order in flight or to retry; -1: none */
    bool busy;         /* a request is out */
    long long sent_at; /* of the request out */
    long long next_at; /* the next request goes no earlier */
};

void fl_init(struct fl_load *l, int port, const char *prefix)
{
    memset(l, 0, sizeof *l);
    l->port = port;
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
    l->cap = 4096;
    l->ids = xcalloc((size_t)l->cap, sizeof *l->ids);
    l->first_ack_ms = -1;
}

void fl_free(struct fl_load *l)
{
    free(l->ids);
    l->ids = NULL;
}

void fl_mark_fault(struct fl_load *l)
{
    l->fault_at = harness_now_ms();
    l->first_ack_ms = -1;
    l->acked_after_fault = 0;
}

static int new_order(struct fl_load *l)
{
    if (l->n_orders == l->cap) {
        l->ids = xrealloc(l->ids, (size_t)l->cap * 2 * sizeof *l->ids);
        memset(l->ids + l->cap, 0, (size_t)l->cap * sizeof *l->ids);
        l->cap *= 2;
    }
    return l->n_orders++;
}

static void send_reserve(struct fl_load *l, struct fl_client *c)
{
    char req[320];
    int n =
        snprintf(req, sizeof req,
                 "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s-%d\","
                 "\"items\":[{\"sku\":\"" FL_SKU "\",\"quantity\":1}],\"locations\":[\"" FL_LOCATION
                 "\"],\"ttl_ms\":3600000}}\n",
                 c->order, l->prefix, c->order);
    c->busy = true;
    c->sent_at = harness_now_ms();
    client_send(c->fd, req, (size_t)n);
}

/* One answer: the order is done (a result) or stays with the client for
 * a retry. */
static void take_answer(struct fl_load *l, struct fl_client *c, const char *line)
{
    cJSON *r = cJSON_Parse(line);
    if (r == NULL)
        fail_msg("answer is not JSON: %s", line);
    if (json_int(r, "id") != c->order)
        fail_msg("answer for order %d, expected %d: %s", (int)json_int(r, "id"), c->order, line);
    long long now = harness_now_ms();
    c->busy = false;
    int code = resp_error_code(r);
    const char *reason = resp_error_reason(r);
    switch (code) {
    case 0:
        snprintf(l->ids[c->order], sizeof l->ids[0], "%s",
                 json_str(resp_result(r), "reservation_id"));
        if (l->ids[c->order][0] == '\0')
            fail_msg("a result without a reservation_id: %s", line);
        l->acked++;
        if (l->fault_at > 0 && c->sent_at > l->fault_at) {
            if (l->acked_after_fault++ == 0) {
                l->first_ack_ms = now - l->fault_at;
                l->orders_at_first_ack = l->n_orders;
            }
        }
        c->order = -1;
        c->next_at = now + NEXT_PAUSE_MS;
        break;
    case 2001:
    case 2002:
    case 2003:
        if (code == 2001)
            l->unavailable++;
        else if (code == 2003)
            l->overloaded++;
        else if (strcmp(reason, "replication") == 0)
            l->replication++;
        else
            l->timeouts++;
        c->next_at = now + RETRY_PAUSE_MS; /* the same order again */
        break;
    default:
        fail_msg("order %s-%d: unexpected answer %s", l->prefix, c->order, line);
    }
    cJSON_Delete(r);
}

void fl_run(struct fl_load *l, bool (*tick)(struct fl_load *l, void *data), void *data,
            int timeout_ms)
{
    struct fl_client cs[FL_CLIENTS];
    struct pollfd pfd[FL_CLIENTS];
    for (int i = 0; i < FL_CLIENTS; i++) {
        cs[i] = (struct fl_client){.fd = client_connect(l->port), .order = -1};
        pfd[i] = (struct pollfd){.fd = cs[i].fd, .events = POLLIN};
    }
    long long start = harness_now_ms(), next_tick = start;
    bool sending = true;
    for (;;) {
        long long now = harness_now_ms();
        if (sending && now >= next_tick) {
            sending = tick(l, data);
            next_tick = now + 20;
        }
        bool pending = false;
        for (int i = 0; i < FL_CLIENTS; i++) {
            struct fl_client *c = &cs[i];
            if (c->busy) {
                pending = true;
                if (now - c->sent_at > ANSWER_TIMEOUT_MS)
                    fail_msg("order %s-%d: no answer in %d ms", l->prefix, c->order,
                             ANSWER_TIMEOUT_MS);
                continue;
            }
            if (c->order < 0 && sending)
                c->order = new_order(l);
            if (c->order >= 0) {
                pending = true;
                if (now >= c->next_at)
                    send_reserve(l, c);
            }
        }
        if (!pending && !sending)
            break;
        if (now - start > timeout_ms)
            fail_msg("the load did not settle in %d ms (%d orders, %d acknowledged after the "
                     "fault)",
                     timeout_ms, l->n_orders, l->acked_after_fault);
        if (poll(pfd, FL_CLIENTS, 2) < 0)
            continue;
        for (int i = 0; i < FL_CLIENTS; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            /* Every answer already read: one readline may buffer several. */
            char *line = client_readline(cs[i].fd, ANSWER_TIMEOUT_MS);
            if (line == NULL)
                fail_msg("stockd closed a load connection");
            take_answer(l, &cs[i], line);
            free(line);
        }
    }
    for (int i = 0; i < FL_CLIENTS; i++)
        close(cs[i].fd);
}

/* A command of up to three words for a pipeline, each malloc'd. */
struct cmd {
    char *argv[3];
    int argc;
};

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static void cmd_set(struct cmd *c, const char *verb, const char *key, const char *field)
{
    c->argc = 0;
    c->argv[c->argc++] = copy_str(verb);
    c->argv[c->argc++] = copy_str(key);
    if (field)
        c->argv[c->argc++] = copy_str(field);
}

/* Sends every command of cmds[0..n) on c, then reads every reply; frees
 * the commands. */
static redisReply **pipeline(redisContext *c, struct cmd *cmds, int n)
{
    redisReply **out = xcalloc((size_t)n + 1, sizeof *out);
    for (int i = 0; i < n; i++)
        if (redisAppendCommandArgv(c, cmds[i].argc, (const char **)cmds[i].argv, NULL) != REDIS_OK)
            fail_msg("pipeline: %s", c->errstr);
    for (int i = 0; i < n; i++)
        if (redisGetReply(c, (void **)&out[i]) != REDIS_OK || out[i] == NULL)
            fail_msg("pipeline reply: %s", c->errstr);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < cmds[i].argc; k++)
            free(cmds[i].argv[k]);
    return out;
}

static void free_replies(redisReply **r, int n)
{
    for (int i = 0; i < n; i++)
        freeReplyObject(r[i]);
    free(r);
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct fl_books fl_check(const struct fl_load *l, redisContext *c)
{
    struct fl_books b = {0};
    int n = l->n_orders;
    /* The binding and the record of every acknowledged order. */
    struct cmd *cmds = xcalloc((size_t)n * 2 + 1, sizeof *cmds);
    int k = 0;
    for (int o = 0; o < n; o++) {
        if (l->ids[o][0] == '\0')
            continue;
        char key[96];
        snprintf(key, sizeof key, "{inv}:order:%s-%d", l->prefix, o);
        cmd_set(&cmds[k++], "GET", key, NULL);
        snprintf(key, sizeof key, "{inv}:res:%s", l->ids[o]);
        cmd_set(&cmds[k++], "HGET", key, "status");
        b.acked++;
    }
    redisReply **r = pipeline(c, cmds, k);
    int at = 0;
    for (int o = 0; o < n; o++) {
        if (l->ids[o][0] == '\0')
            continue;
        const redisReply *bound = r[at++], *status = r[at++];
        bool kept = bound->type == REDIS_REPLY_STRING && strcmp(bound->str, l->ids[o]) == 0 &&
                    status->type == REDIS_REPLY_STRING && strcmp(status->str, "held") == 0;
        if (!kept && b.lost++ == 0)
            snprintf(b.first_lost, sizeof b.first_lost,
                     "order %s-%d, acknowledged as %s: bound to %s, status %s", l->prefix, o,
                     l->ids[o], bound->type == REDIS_REPLY_STRING ? bound->str : "nothing",
                     status->type == REDIS_REPLY_STRING ? status->str : "none");
    }
    free_replies(r, k);
    free(cmds);

    /* Every live hold of the sku: one per order, each acknowledged. */
    redisReply *z = redisCommand(c, "ZRANGE {inv}:holds:" FL_SKU " 0 -1");
    if (z == NULL || z->type != REDIS_REPLY_ARRAY)
        fail_msg("ZRANGE of the holds failed");
    b.holds = (int)z->elements;
    struct cmd *hq = xcalloc(z->elements + 1, sizeof *hq);
    for (size_t i = 0; i < z->elements; i++) {
        /* A member is <id>:<i>:<location>:<quantity>. */
        char key[96];
        snprintf(key, sizeof key, "{inv}:res:%.*s", (int)strcspn(z->element[i]->str, ":"),
                 z->element[i]->str);
        cmd_set(&hq[i], "HGET", key, "order_id");
    }
    r = pipeline(c, hq, (int)z->elements);
    char **orders = xcalloc(z->elements + 1, sizeof *orders);
    for (size_t i = 0; i < z->elements; i++) {
        orders[i] = r[i]->type == REDIS_REPLY_STRING ? r[i]->str : "";
        const char *dash = strrchr(orders[i], '-');
        int o = dash ? atoi(dash + 1) : -1;
        char id[64];
        snprintf(id, sizeof id, "%.*s", (int)strcspn(z->element[i]->str, ":"), z->element[i]->str);
        if (strncmp(orders[i], l->prefix, strlen(l->prefix)) != 0 || o < 0 || o >= n ||
            strcmp(l->ids[o], id) != 0)
            b.unacked++;
    }
    qsort(orders, z->elements, sizeof *orders, compare_str);
    for (size_t i = 1; i < z->elements; i++)
        b.doubled += orders[i][0] != '\0' && strcmp(orders[i], orders[i - 1]) == 0;
    free(orders);
    free_replies(r, (int)z->elements);
    free(hq);
    freeReplyObject(z);
    return b;
}

int fl_count_bound(const struct fl_load *l, redisContext *c, int from)
{
    int n = l->n_orders - from;
    if (n <= 0)
        return 0;
    struct cmd *cmds = xcalloc((size_t)n, sizeof *cmds);
    for (int k = 0; k < n; k++) {
        char key[96];
        snprintf(key, sizeof key, "{inv}:order:%s-%d", l->prefix, from + k);
        cmd_set(&cmds[k], "GET", key, NULL);
    }
    redisReply **r = pipeline(c, cmds, n);
    int bound = 0;
    for (int k = 0; k < n; k++)
        bound += r[k]->type == REDIS_REPLY_STRING;
    free_replies(r, n);
    free(cmds);
    return bound;
}

void fl_audit_ok(int port)
{
    int fd = client_connect(port);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    const cJSON *res = resp_result(r);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(res, "ok");
    if (!cJSON_IsTrue(ok)) {
        char *text = cJSON_PrintUnformatted(r);
        fail_msg("stock.audit: %s", text);
    }
    cJSON_Delete(r);
    close(fd);
}
