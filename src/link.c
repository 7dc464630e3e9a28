/* The link to Redis (see link.h). A round finds its target (the URL's
 * host, or with Sentinel the master the sentinels name: ASK), resolves it,
 * and tries each address in three phases: CONNECT (hiredis connects),
 * HANDSHAKE (our commands, sent with hiredis callbacks of their own), then
 * UP. Any failure, or the round's timer, moves on to the next address.
 *
 * With Sentinel, a failover announced while the link is up drops it and
 * starts a round at once on the announced address; one announced during
 * a round ends that round's stale attempts; one announced during the
 * backoff ends the backoff. The handshake's ROLE must say master. */
#include "link.h"

#include <stdlib.h>
#include <string.h>

#include "closer.h"
#include "log.h"
#include "replies.h"
#include "scripts.h"
#include "sentinel.h"
#include "uvredis.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 5000

enum phase { PHASE_IDLE, PHASE_ASK, PHASE_RESOLVE, PHASE_CONNECT, PHASE_HANDSHAKE, PHASE_UP };

struct link {
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *metrics;
    struct link_events ev;
    void *data;
    const char *name; /* for the log */
    enum link_state state;
    enum phase phase;
    redisAsyncContext *ac; /* owned by hiredis once connecting; NULL when none */
    uv_getaddrinfo_t gai;
    bool gai_active;
    struct addrinfo *addrs; /* owned: this round's addresses */
    struct addrinfo *next;  /* the next of them to try */
    char where[128];        /* the address being tried, for the log */
    char target_host[256];  /* this round's host and port: the URL's, or the master's */
    int target_port;
    struct sentinel *sentinel; /* owned; NULL unless the URL is redis+sentinel:// */
    char told_host[256];       /* a failover's new master, announced; used by the next round */
    int told_port;             /* 0: nothing announced */
    char last_master[128];     /* where the link was last up, to count master changes */
    uv_timer_t timer;          /* the backoff, or an address's connect + handshake deadline */
    unsigned attempts;         /* failed rounds in a row */
    int handshake_pending;
    bool handshake_failed;
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_connect;   /* cannot resolve, cannot connect */
    struct log_repeat log_handshake; /* AUTH or SCRIPT LOAD refused */
    struct log_repeat log_drop;      /* a connection dropped */
    struct replies *replies;         /* owned: the reply objects of every connection */
};

static void begin_round(struct link *l);
static void try_next(struct link *l);

/* The process's "is Redis up" gauge. A Cluster's node links leave it (and
 * redis_master) to the cluster, which speaks for all its masters. */
static void set_up(struct link *l, bool up)
{
    if (!l->cfg->redis.cluster_node)
        l->metrics->redis_up = up;
}

static bool sentinel_mode(const struct link *l)
{
    return l->sentinel != NULL;
}

static void free_addrs(struct link *l)
{
    if (l->addrs != NULL)
        uv_freeaddrinfo(l->addrs);
    l->addrs = l->next = NULL;
}

static void on_backoff(uv_timer_t *t)
{
    begin_round(t->data);
}

static void on_move_on(uv_timer_t *t)
{
    try_next(t->data);
}

/* Moves on to the next address from a fresh stack: never inside a hiredis
 * callback, whose context is freed after it returns. */
static void move_on(struct link *l)
{
    uv_timer_start(&l->timer, on_move_on, 0, 0);
}

/* Every address of the round failed: Redis is known to be down until the
 * backoff ends. */
static void round_failed(struct link *l)
{
    free_addrs(l);
    l->phase = PHASE_IDLE;
    l->state = LINK_DOWN;
    set_up(l, false);
    unsigned shift = l->attempts < 10 ? l->attempts : 10;
    uint64_t delay = (uint64_t)BACKOFF_MIN_MS << shift;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    /* Jitter, so that many replicas do not reconnect in lockstep. */
    delay = delay / 2 + (uint64_t)rand() % (delay / 2 + 1);
    l->attempts++;
    uv_timer_start(&l->timer, on_backoff, delay, 0);
    l->ev.failed(l->data);
}

/* --- the handshake ------------------------------------------------------ */

static void handshake_step(struct link *l, bool ok)
{
    if (!ok)
        l->handshake_failed = true;
    assert(l->handshake_pending > 0);
    if (--l->handshake_pending > 0 || l->phase != PHASE_HANDSHAKE)
        return;
    if (l->handshake_failed) {
        link_drop(l, "the handshake failed");
        return;
    }
    uv_timer_stop(&l->timer);
    free_addrs(l);
    l->phase = PHASE_UP;
    l->state = LINK_UP;
    l->attempts = 0;
    set_up(l, true);
    l->metrics->redis_connects++;
    if (!l->cfg->redis.cluster_node)
        snprintf(l->metrics->redis_master, sizeof l->metrics->redis_master, "%s", l->where);
    if (sentinel_mode(l)) {
        if (l->last_master[0] != '\0' && strcmp(l->last_master, l->where) != 0) {
            l->metrics->redis_failovers++;
            log_warn("%s: the master of '%s' moved from %s to %s", l->name,
                     l->cfg->redis.master_name, l->last_master, l->where);
        }
        snprintf(l->last_master, sizeof l->last_master, "%s", l->where);
        log_info("%s: connected to %s, the master of '%s' (named by sentinel %s), %d scripts "
                 "loaded",
                 l->name, l->where, l->cfg->redis.master_name, sentinel_where(l->sentinel),
                 SCRIPT_COUNT);
    } else {
        log_info("%s: connected to %s, %d scripts loaded", l->name, l->where, SCRIPT_COUNT);
    }
    l->ev.up(l->data, l->ac);
}

/* A reply to a handshake command; NULL when the connection went first (the
 * disconnect callback then moves on). */
static bool reply_ok(const redisReply *r)
{
    return r != NULL && r->type != REDIS_REPLY_ERROR;
}

static void on_auth(redisAsyncContext *ac, void *reply, void *data)
{
    struct link *l = data;
    const redisReply *r = reply;
    (void)ac;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        log_repeat(&l->log_handshake, LOG_ERROR, "%s: AUTH failed at %s: %s", l->name, l->where,
                   r->str);
    handshake_step(l, reply_ok(r));
}

static void on_select(redisAsyncContext *ac, void *reply, void *data)
{
    struct link *l = data;
    const redisReply *r = reply;
    (void)ac;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        log_error("%s: SELECT %d failed: %s", l->name, l->cfg->redis.db, r->str);
    handshake_step(l, reply_ok(r));
}

static void on_policy(redisAsyncContext *ac, void *reply, void *data)
{
    struct link *l = data;
    const redisReply *r = reply;
    (void)ac;
    if (reply_ok(r) && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        if (strcmp(r->element[1]->str, "noeviction") != 0)
            log_warn("%s: maxmemory-policy is '%s', not 'noeviction': Redis may evict stock "
                     "keys under memory pressure, which creates or destroys units. Set "
                     "maxmemory-policy noeviction.",
                     l->name, r->element[1]->str);
    } else if (r != NULL) {
        log_warn("%s: could not read maxmemory-policy (CONFIG GET refused); make sure it is "
                 "noeviction",
                 l->name);
    }
    /* Not fatal: the warning is the point. */
    handshake_step(l, r != NULL);
}

/* ROLE, with Sentinel: the node the sentinels named must be the master
 * still (a failover may have demoted it since they answered). */
static void on_role(redisAsyncContext *ac, void *reply, void *data)
{
    struct link *l = data;
    const redisReply *r = reply;
    (void)ac;
    bool master = reply_ok(r) && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(r->element[0]->str, "master") == 0;
    if (r != NULL && !master)
        log_repeat(&l->log_handshake, LOG_WARN,
                   "%s: %s is not the master of '%s' (ROLE: %s): asking the sentinels again",
                   l->name, l->where, l->cfg->redis.master_name,
                   r->type == REDIS_REPLY_ERROR ? r->str
                   : r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                           r->element[0]->type == REDIS_REPLY_STRING
                       ? r->element[0]->str
                       : "unexpected reply");
    handshake_step(l, master);
}

/* CLIENT SETNAME: stockd's connections are named in CLIENT LIST. An ACL
 * may refuse it; that is not worth failing over. */
static void on_setname(redisAsyncContext *ac, void *reply, void *data)
{
    (void)ac;
    handshake_step(data, reply != NULL);
}

static void on_load(redisAsyncContext *ac, void *reply, void *data)
{
    struct link *l = data;
    const redisReply *r = reply;
    (void)ac;
    bool ok = reply_ok(r) && r->type == REDIS_REPLY_STRING;
    if (r != NULL && !ok)
        log_repeat(&l->log_handshake, LOG_ERROR, "%s: SCRIPT LOAD failed at %s: %s", l->name,
                   l->where, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    handshake_step(l, ok);
}

static void handshake_send(struct link *l, redisCallbackFn *fn, int argc, const char **argv,
                           const size_t *lens)
{
    if (redisAsyncCommandArgv(l->ac, fn, l, argc, argv, lens) == REDIS_OK)
        l->handshake_pending++;
    else
        l->handshake_failed = true;
}

static void handshake(struct link *l)
{
    const struct redis_url *u = &l->cfg->redis;
    l->phase = PHASE_HANDSHAKE;
    l->handshake_pending = 1; /* held until every command is queued */
    l->handshake_failed = false;
    if (u->password[0] != '\0') {
        const char *argv[] = {"AUTH", u->user, u->password};
        if (u->user[0] != '\0')
            handshake_send(l, on_auth, 3, argv, NULL);
        else
            handshake_send(l, on_auth, 2, (const char *[]){"AUTH", u->password}, NULL);
    }
    if (u->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", u->db);
        handshake_send(l, on_select, 2, (const char *[]){"SELECT", db}, NULL);
    }
    if (sentinel_mode(l))
        handshake_send(l, on_role, 1, (const char *[]){"ROLE"}, NULL);
    handshake_send(l, on_setname, 3, (const char *[]){"CLIENT", "SETNAME", "stockd"}, NULL);
    handshake_send(l, on_policy, 3, (const char *[]){"CONFIG", "GET", "maxmemory-policy"}, NULL);
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", scripts[i].body};
        const size_t lens[] = {6, 4, scripts[i].len};
        handshake_send(l, on_load, 3, argv, lens);
    }
    handshake_step(l, true);
}

/* --- connecting --------------------------------------------------------- */

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;
    if (l->ac != ac)
        return;
    if (status != REDIS_OK) {
        log_repeat(&l->log_connect, LOG_WARN, "%s: cannot connect to %s: %s", l->name, l->where,
                   ac->errstr[0] ? ac->errstr : "unknown error");
        l->ac = NULL; /* hiredis frees it after this callback */
        move_on(l);
        return;
    }
    handshake(l);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;
    (void)status;
    if (l->ac != ac)
        return;
    l->ac = NULL;
    if (l->state == LINK_CLOSING)
        return;
    bool why = ac->errstr[0] != '\0';
    if (l->phase == PHASE_UP) {
        l->metrics->redis_disconnects++;
        set_up(l, false);
        log_warn("%s: disconnected from %s%s%s", l->name, l->where, why ? ": " : "",
                 why ? ac->errstr : "");
        l->phase = PHASE_IDLE;
        l->state = LINK_CONNECTING;
        l->ev.lost(l->data);
        uv_timer_start(&l->timer, on_backoff, 0, 0); /* at once: it was up a moment ago */
        return;
    }
    move_on(l); /* the handshake failed or timed out */
}

static void on_deadline(uv_timer_t *t)
{
    struct link *l = t->data;
    link_drop(l, l->phase == PHASE_CONNECT ? "connect timed out" : "handshake timed out");
}

/* Starts a connection to one address; false when it fails at once. */
static bool connect_to(struct link *l, const char *ip, int port, const char *unix_path)
{
    redisAsyncContext *ac =
        unix_path ? redisAsyncConnectUnix(unix_path) : redisAsyncConnect(ip, port);
    if (ac == NULL || ac->err) {
        log_repeat(&l->log_connect, LOG_WARN, "%s: cannot connect to %s: %s", l->name, l->where,
                   ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return false;
    }
    if (uvredis_attach(ac, l->loop) != 0) {
        redisAsyncFree(ac);
        return false;
    }
    replies_attach(l->replies, &ac->c);
    ac->data = l;
    l->ac = ac;
    l->phase = PHASE_CONNECT;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    uv_timer_start(&l->timer, on_deadline, (uint64_t)l->cfg->request_timeout_ms, 0);
    return true;
}

/* Tries the round's next address, or fails the round when none is left. */
static void try_next(struct link *l)
{
    uv_timer_stop(&l->timer);
    while (l->next != NULL) {
        struct addrinfo *a = l->next;
        l->next = a->ai_next;
        char ip[64] = "";
        if (a->ai_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, ip, sizeof ip);
        else if (a->ai_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)a->ai_addr, ip, sizeof ip);
        else
            continue;
        snprintf(l->where, sizeof l->where, a->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
                 l->target_port);
        if (connect_to(l, ip, l->target_port, NULL))
            return;
    }
    free_addrs(l);
    if (l->told_port != 0) {
        begin_round(l); /* a failover was announced meanwhile: straight to the new master */
        return;
    }
    round_failed(l);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct link *l = req->data;
    l->gai_active = false;
    if (l->state == LINK_CLOSING) {
        uv_freeaddrinfo(res);
        closer_release(&l->closer);
        return;
    }
    if (l->told_port != 0) {
        uv_freeaddrinfo(res); /* a failover was announced meanwhile */
        begin_round(l);
        return;
    }
    if (status != 0 || res == NULL) {
        log_repeat(&l->log_connect, LOG_WARN, "%s: cannot resolve %s: %s", l->name, l->target_host,
                   uv_strerror(status));
        uv_freeaddrinfo(res);
        round_failed(l);
        return;
    }
    l->addrs = l->next = res;
    try_next(l);
}

/* Resolves this round's target: every address the name resolves to
 * (getaddrinfo's order), since a name may resolve to ::1 first on a host
 * whose Redis listens on 127.0.0.1. */
static void resolve(struct link *l)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char port[8];
    snprintf(port, sizeof port, "%d", l->target_port);
    l->phase = PHASE_RESOLVE;
    l->gai.data = l;
    if (uv_getaddrinfo(l->loop, &l->gai, on_resolved, l->target_host, port, &hints) != 0)
        round_failed(l);
    else
        l->gai_active = true;
}

static void begin_round(struct link *l)
{
    const struct redis_url *u = &l->cfg->redis;
    assert(l->ac == NULL && l->addrs == NULL);
    l->state = LINK_CONNECTING;
    if (u->unix_path[0] != '\0') {
        snprintf(l->where, sizeof l->where, "unix:%s", u->unix_path);
        if (!connect_to(l, NULL, 0, u->unix_path))
            round_failed(l);
        return;
    }
    if (!sentinel_mode(l)) {
        snprintf(l->target_host, sizeof l->target_host, "%s", u->host);
        l->target_port = u->port;
    } else if (l->told_port != 0) {
        snprintf(l->target_host, sizeof l->target_host, "%s", l->told_host);
        l->target_port = l->told_port;
        l->told_port = 0;
    } else {
        l->phase = PHASE_ASK;
        sentinel_ask(l->sentinel);
        return;
    }
    resolve(l);
}

/* --- the sentinels' events -------------------------------------------------- */

static void on_master(void *data, const char *host, int port)
{
    struct link *l = data;
    assert(l->phase == PHASE_ASK);
    if (l->told_port != 0) {
        begin_round(l); /* announced while asking: newer than the answer */
        return;
    }
    if (host == NULL) {
        round_failed(l);
        return;
    }
    snprintf(l->target_host, sizeof l->target_host, "%s", host);
    l->target_port = port;
    resolve(l);
}

static void on_switched(void *data, const char *host, int port)
{
    struct link *l = data;
    char announced[128];
    snprintf(announced, sizeof announced, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (l->phase == PHASE_UP && strcmp(announced, l->where) == 0)
        return; /* already there */
    snprintf(l->told_host, sizeof l->told_host, "%s", host);
    l->told_port = port;
    l->attempts = 0;
    switch (l->phase) {
    case PHASE_UP:
        /* The store's calls end by the v1 rule as hiredis ends them; the
         * disconnect begins a round at once, on the announced address. */
        link_drop(l, "a sentinel announced a failover");
        break;
    case PHASE_IDLE:
        uv_timer_stop(&l->timer); /* the backoff */
        begin_round(l);
        break;
    case PHASE_CONNECT:
    case PHASE_HANDSHAKE:
        free_addrs(l); /* the stale master's other addresses too */
        link_drop(l, "a sentinel announced a failover");
        break;
    case PHASE_ASK:
    case PHASE_RESOLVE:
        break; /* on_master or on_resolved sees told_port */
    }
}

static const struct sentinel_events sentinel_events = {on_master, on_switched};

/* --- the owner's calls --------------------------------------------------- */

struct link *link_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                      const char *name, const struct link_events *ev, void *data)
{
    struct link *l = xcalloc(1, sizeof *l);
    l->name = name;
    l->loop = loop;
    l->cfg = cfg;
    l->metrics = m;
    l->ev = *ev;
    l->data = data;
    l->state = LINK_DOWN;
    l->replies = replies_new();
    if (cfg->redis.mode == REDIS_SENTINEL && cfg->redis.unix_path[0] == '\0') {
        l->sentinel = sentinel_new(loop, cfg, name, &sentinel_events, l);
        m->redis_sentinel = true;
    }
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    return l;
}

void link_start(struct link *l)
{
    begin_round(l);
}

enum link_state link_state(const struct link *l)
{
    return l->state;
}

void link_drop(struct link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;
    if (ac == NULL)
        return;
    bool connected = (ac->c.flags & REDIS_CONNECTED) != 0;
    log_repeat(&l->log_drop, LOG_WARN, "%s: dropping the connection to %s: %s", l->name, l->where,
               why);
    /* hiredis ends every pending callback with NULL; a context that had
     * connected then calls on_disconnect, which moves on. Inside a hiredis
     * callback the free waits until that callback returns. */
    redisAsyncFree(ac);
    if (!connected && l->ac == ac) {
        l->ac = NULL;
        if (l->state != LINK_CLOSING)
            move_on(l);
    }
}

static void link_free(void *data)
{
    struct link *l = data;
    void (*done)(void *) = l->on_closed;
    void *done_data = l->on_closed_data;
    free_addrs(l);
    log_repeat_done(&l->log_connect);
    log_repeat_done(&l->log_handshake);
    log_repeat_done(&l->log_drop);
    replies_free(l->replies); /* the connections, and their replies, are gone */
    free(l);
    done(done_data);
}

static void on_sentinel_closed(void *data)
{
    struct link *l = data;
    l->sentinel = NULL;
    closer_release(&l->closer);
}

void link_close(struct link *l, void (*done)(void *), void *data)
{
    l->on_closed = done;
    l->on_closed_data = data;
    l->state = LINK_CLOSING;
    set_up(l, false);
    closer_begin(&l->closer, link_free, l);
    if (l->ac != NULL) {
        redisAsyncContext *ac = l->ac;
        l->ac = NULL;
        redisAsyncFree(ac);
    }
    if (l->sentinel != NULL) {
        closer_hold(&l->closer);
        sentinel_close(l->sentinel, on_sentinel_closed, l);
    }
    if (l->gai_active) {
        /* A name lookup cannot be closed, only cancelled and waited for. */
        closer_hold(&l->closer);
        uv_cancel((uv_req_t *)&l->gai);
    }
    closer_close(&l->closer, (uv_handle_t *)&l->timer);
    closer_end(&l->closer);
}
