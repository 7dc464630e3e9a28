/* Tenants' orders through a changing cluster, and their books (see
 * cluster_load.h). */
#include "cluster_load.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h" /* xmalloc and friends */
#include "harness.h"

#define RETRY_PAUSE_MS 10 /* before the same request again */
#define NEXT_PAUSE_MS 3   /* before a client's next order */
#define ANSWER_TIMEOUT_MS 10000
#define CLIENTS_MAX 32

void cld_init(struct cld_load *l, const char *prefix, const int *ports, int n_ports)
{
    memset(l, 0, sizeof *l);
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
    for (int i = 0; i < n_ports && i < 4; i++)
        l->ports[l->n_ports++] = ports[i];
    l->cap = 1024;
    l->orders = xcalloc((size_t)l->cap, sizeof *l->orders);
}

void cld_add_tenant(struct cld_load *l, const char *name, const char *token, int clients)
{
    struct cld_tenant *t = &l->tenant[l->n_tenants++];
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->token, sizeof t->token, "%s", token);
    t->clients = clients;
}

void cld_free(struct cld_load *l)
{
    free(l->orders);
    l->orders = NULL;
}

int cld_connect(const struct cld_load *l, int t, int port)
{
    int fd = client_connect(port);
    cJSON *r = client_callf(fd, "{\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
                            l->tenant[t].token);
    if (resp_error_code(r) != 0)
        fail_msg("auth as tenant %s refused (code %d)", l->tenant[t].name, resp_error_code(r));
    cJSON_Delete(r);
    return fd;
}

void cld_stock(const struct cld_load *l)
{
    for (int t = 0; t < l->n_tenants; t++) {
        int fd = cld_connect(l, t, l->ports[0]);
        for (int s = 0; s < CLD_SKUS; s++) {
            char sku[16];
            snprintf(sku, sizeof sku, "S%d", s);
            client_stock_set(fd, sku, CLD_LOCATION, CLD_ON_HAND);
        }
        close(fd);
    }
}

/* --- the run ---------------------------------------------------------------- */

struct client {
    int fd, tenant;
    int order; /* in flight or to retry; -1: none */
    bool busy;
    long long sent_at, next_at;
};

static enum cld_kind kind_of(int n)
{
    static const enum cld_kind pattern[] = {CLD_COMMIT, CLD_RELEASE, CLD_EXPIRE,
                                            CLD_KEEP,   CLD_COMMIT,  CLD_EXPIRE};
    return pattern[n % (int)(sizeof pattern / sizeof pattern[0])];
}

static int new_order(struct cld_load *l, int tenant)
{
    if (l->n_orders == l->cap) {
        l->orders = xrealloc(l->orders, (size_t)l->cap * 2 * sizeof *l->orders);
        l->cap *= 2;
    }
    int n = l->n_orders++;
    l->orders[n] = (struct cld_order){.tenant = tenant,
                                      .sku = n % CLD_SKUS,
                                      .kind = kind_of(n / CLD_SKUS),
                                      .at = harness_now_ms()};
    return n;
}

static int format_reserve(const struct cld_load *l, int n, char *buf, size_t size)
{
    const struct cld_order *o = &l->orders[n];
    return snprintf(buf, size,
                    "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s-%d\","
                    "\"items\":[{\"sku\":\"S%d\",\"quantity\":1}],\"locations\":[\"" CLD_LOCATION
                    "\"],\"ttl_ms\":%d}}\n",
                    n, l->prefix, n, o->sku, o->kind == CLD_EXPIRE ? CLD_EXPIRE_TTL_MS : 3600000);
}

static void send_next(struct cld_load *l, struct client *c)
{
    const struct cld_order *o = &l->orders[c->order];
    char req[400];
    int len;
    if (o->stage == 0)
        len = format_reserve(l, c->order, req, sizeof req);
    else
        len = snprintf(req, sizeof req,
                       "{\"id\":%d,\"method\":\"%s\",\"params\":{\"reservation_id\":\"%s\"}}\n",
                       c->order, o->kind == CLD_COMMIT ? "commit" : "release", o->id);
    c->busy = true;
    c->sent_at = harness_now_ms();
    client_send(c->fd, req, (size_t)len);
}

static void take_answer(struct cld_load *l, struct client *c, const char *line)
{
    cJSON *r = cJSON_Parse(line);
    if (r == NULL)
        fail_msg("answer is not JSON: %s", line);
    if (json_int(r, "id") != c->order)
        fail_msg("answer for order %lld, expected %d: %s", json_int(r, "id"), c->order, line);
    struct cld_order *o = &l->orders[c->order];
    struct cld_tenant *t = &l->tenant[o->tenant];
    long long now = harness_now_ms();
    c->busy = false;
    int code = resp_error_code(r);
    if (code == 2001 || code == 2002 || code == 2003) {
        t->unavailable += code == 2001;
        t->timeouts += code == 2002;
        t->overloaded += code == 2003;
        t->last_error_at = now;
        c->next_at = now + RETRY_PAUSE_MS; /* the same request again */
        cJSON_Delete(r);
        return;
    }
    if (code != 0)
        fail_msg("tenant %s, order %s-%d (stage %d): unexpected answer %s", t->name, l->prefix,
                 c->order, o->stage, line);
    t->results++;
    const cJSON *res = resp_result(r);
    const char *id = json_str(res, "reservation_id");
    const char *status = json_str(res, "status");
    if (o->stage == 0) {
        /* A replay after a 2002 may find the hold expired already. */
        if (strcmp(status, "held") != 0 &&
            !(o->kind == CLD_EXPIRE && strcmp(status, "expired") == 0))
            fail_msg("order %s-%d reserved with status %s: %s", l->prefix, c->order, status, line);
        if (id[0] == '\0')
            fail_msg("a reserve result without a reservation_id: %s", line);
        snprintf(o->id, sizeof o->id, "%s", id);
        o->stage = o->kind == CLD_COMMIT || o->kind == CLD_RELEASE ? 1 : 2;
    } else {
        const char *want = o->kind == CLD_COMMIT ? "committed" : "released";
        if (strcmp(status, want) != 0 || strcmp(id, o->id) != 0)
            fail_msg("order %s-%d: %s answered %s", l->prefix, c->order, want, line);
        o->stage = 2;
    }
    if (o->stage == 2) {
        l->done++;
        c->order = -1;
        c->next_at = now + NEXT_PAUSE_MS;
    } else {
        c->next_at = now;
    }
    cJSON_Delete(r);
}

void cld_run(struct cld_load *l, bool (*tick)(struct cld_load *l, void *data), void *data,
             int timeout_ms)
{
    struct client cs[CLIENTS_MAX];
    struct pollfd pfd[CLIENTS_MAX];
    int n = 0;
    for (int t = 0; t < l->n_tenants; t++)
        for (int k = 0; k < l->tenant[t].clients && n < CLIENTS_MAX; k++, n++) {
            cs[n] = (struct client){
                .fd = cld_connect(l, t, l->ports[n % l->n_ports]), .tenant = t, .order = -1};
            pfd[n] = (struct pollfd){.fd = cs[n].fd, .events = POLLIN};
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
        for (int i = 0; i < n; i++) {
            struct client *c = &cs[i];
            if (c->busy) {
                pending = true;
                continue;
            }
            if (c->order < 0 && sending)
                c->order = new_order(l, c->tenant);
            if (c->order >= 0) {
                pending = true;
                if (now >= c->next_at)
                    send_next(l, c);
            }
        }
        if (!pending && !sending)
            break;
        if (now - start > timeout_ms)
            fail_msg("the load did not settle in %d ms (%d orders, %d done)", timeout_ms,
                     l->n_orders, l->done);
        if (poll(pfd, (nfds_t)n, 2) > 0)
            for (int i = 0; i < n; i++) {
                if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char *line = client_readline(cs[i].fd, ANSWER_TIMEOUT_MS);
                if (line == NULL)
                    fail_msg("stockd closed a load connection");
                take_answer(l, &cs[i], line);
                free(line);
            }
        now = harness_now_ms();
        for (int i = 0; i < n; i++)
            if (cs[i].busy && now - cs[i].sent_at > ANSWER_TIMEOUT_MS)
                fail_msg("order %s-%d: no answer in %d ms", l->prefix, cs[i].order,
                         ANSWER_TIMEOUT_MS);
    }
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
}

/* --- the books ---------------------------------------------------------------- */

/* What the orders of tenant t make of sku s: units committed, held. */
static void expected(const struct cld_load *l, int t, int s, long long *committed, long long *held)
{
    *committed = *held = 0;
    for (int n = 0; n < l->n_orders; n++) {
        const struct cld_order *o = &l->orders[n];
        if (o->tenant != t || o->sku != s)
            continue;
        *committed += o->kind == CLD_COMMIT;
        *held += o->kind == CLD_KEEP;
    }
}

/* Waits until every sku of tenant t on fd shows the expected counts (the
 * sweeper gives the expired orders' units back); fails after wait_ms. */
static void wait_counts(const struct cld_load *l, int t, int fd, int wait_ms)
{
    long long deadline = harness_now_ms() + wait_ms;
    for (int s = 0; s < CLD_SKUS; s++) {
        char sku[16];
        snprintf(sku, sizeof sku, "S%d", s);
        long long committed, held;
        expected(l, t, s, &committed, &held);
        for (;;) {
            struct row r = stock_row(fd, sku, CLD_LOCATION);
            if (r.on_hand == CLD_ON_HAND - committed && r.reserved == held)
                break;
            if (harness_now_ms() > deadline)
                fail_msg("tenant %s, sku %s: on_hand %lld reserved %lld, the orders make %lld "
                         "and %lld",
                         l->tenant[t].name, sku, r.on_hand, r.reserved, CLD_ON_HAND - committed,
                         held);
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL); /* a probe's pause: the sweeper's progress is read */
        }
    }
}

static const char *status_of(enum cld_kind k)
{
    static const char *const names[] = {"committed", "released", "expired", "held"};
    return names[k];
}

/* Every order's reservation through the API: its status, then a replay of
 * its reserve (same reservation, replayed, nothing changed). Pipelined. */
static void check_orders_api(const struct cld_load *l, int t, int fd)
{
    int n = 0;
    for (int k = 0; k < l->n_orders; k++)
        n += l->orders[k].tenant == t;
    if (n == 0)
        return;
    size_t cap = (size_t)n * 600 + 1, len = 0;
    char *req = xmalloc(cap);
    for (int k = 0; k < l->n_orders; k++) {
        if (l->orders[k].tenant != t)
            continue;
        len += (size_t)snprintf(req + len, cap - len,
                                "{\"id\":%d,\"method\":\"reservation.get\",\"params\":{"
                                "\"reservation_id\":\"%s\"}}\n",
                                k, l->orders[k].id);
        len += (size_t)format_reserve(l, k, req + len, cap - len);
    }
    char **lines = client_exchange(fd, req, len, 2 * n, 60000);
    int at = 0;
    for (int k = 0; k < l->n_orders; k++) {
        const struct cld_order *o = &l->orders[k];
        if (o->tenant != t)
            continue;
        for (int half = 0; half < 2; half++) {
            const char *line = lines[at++];
            cJSON *r = cJSON_Parse(line);
            const cJSON *res = resp_result(r);
            const cJSON *replayed = cJSON_GetObjectItemCaseSensitive(res, "replayed");
            if (res == NULL || strcmp(json_str(res, "reservation_id"), o->id) != 0 ||
                strcmp(json_str(res, "status"), status_of(o->kind)) != 0 ||
                (half == 1 && !cJSON_IsTrue(replayed)))
                fail_msg("tenant %s, order %s-%d (acknowledged as %s, should be %s): %s %s",
                         l->tenant[t].name, l->prefix, k, o->id, status_of(o->kind),
                         half ? "replay" : "reservation.get", line);
            cJSON_Delete(r);
        }
    }
    client_free_lines(lines, 2 * n);
    free(req);
}

/* The same in Redis: each order bound to its reservation, and one member
 * per kept order in the holds indexes (none of another order). */
static void check_orders_redis(const struct cld_load *l, int t, struct cluster *c)
{
    const char *tn = l->tenant[t].name;
    for (int k = 0; k < l->n_orders; k++) {
        const struct cld_order *o = &l->orders[k];
        if (o->tenant != t)
            continue;
        char key[160];
        snprintf(key, sizeof key, "{%s}:order:%s-%d", tn, l->prefix, k);
        redisReply *r = cl_key_cmd(c, key, "GET %s", key);
        if (r == NULL || r->type != REDIS_REPLY_STRING || strcmp(r->str, o->id) != 0)
            fail_msg("%s names %s, the order was acknowledged as %s", key,
                     r && r->type == REDIS_REPLY_STRING ? r->str : "nothing", o->id);
        freeReplyObject(r);
    }
    for (int s = 0; s < CLD_SKUS; s++) {
        char key[160];
        snprintf(key, sizeof key, "{%s}:holds:S%d", tn, s);
        redisReply *z = cl_key_cmd(c, key, "ZRANGE %s 0 -1", key);
        if (z == NULL || z->type != REDIS_REPLY_ARRAY)
            fail_msg("ZRANGE %s failed", key);
        long long committed, held;
        expected(l, t, s, &committed, &held);
        if ((long long)z->elements != held)
            fail_msg("%s has %zu holds, the orders keep %lld", key, z->elements, held);
        for (size_t i = 0; i < z->elements; i++) {
            /* A member is <id>:<i>:<location>:<quantity>: a kept order's. */
            size_t idlen = strcspn(z->element[i]->str, ":");
            bool known = false;
            for (int k = 0; k < l->n_orders && !known; k++)
                known = l->orders[k].tenant == t && l->orders[k].kind == CLD_KEEP &&
                        strlen(l->orders[k].id) == idlen &&
                        strncmp(l->orders[k].id, z->element[i]->str, idlen) == 0;
            if (!known)
                fail_msg("%s holds %s, of no kept order", key, z->element[i]->str);
        }
        freeReplyObject(z);
    }
}

static void audit_ok(int fd, const char *tenant)
{
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "ok"))) {
        char *text = cJSON_PrintUnformatted(r);
        fail_msg("stock.audit of tenant %s: %s", tenant, text);
    }
    cJSON_Delete(r);
}

void cld_check_books(const struct cld_load *l, struct cluster *c, int port, int wait_ms)
{
    for (int t = 0; t < l->n_tenants; t++) {
        int fd = cld_connect(l, t, port);
        wait_counts(l, t, fd, wait_ms);
        check_orders_api(l, t, fd);
        wait_counts(l, t, fd, 0); /* the replays changed nothing */
        check_orders_redis(l, t, c);
        audit_ok(fd, l->tenant[t].name);
        close(fd);
    }
}
