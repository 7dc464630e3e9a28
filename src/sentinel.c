/* The sentinels (see sentinel.h): asking for the master on the thread pool,
 * and the +switch-master watch on the loop.
 *
 *   ask:   work thread: for each sentinel, the last one that answered first:
 *            connect (timeout), AUTH, SENTINEL get-master-addr-by-name
 *          loop: remember who answered, tell the owner (or, for the watch's
 *            own ask, only reconnect the watch)
 *   watch: connect to the sentinel that answered last -> AUTH -> SUBSCRIBE
 *            +switch-master -> a message for our master: tell the owner
 *          broke, or not subscribed in time: ask again after WATCH_RETRY_MS */
#include "sentinel.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "buf.h"
#include "closer.h"
#include "log.h"
#include "uvredis.h"

/* A sentinel answers from memory: longer than this is a sentinel to skip. */
#define ASK_TIMEOUT_MAX_MS 1000
#define WATCH_RETRY_MS 1000

struct ask {
    uv_work_t work;
    struct sentinel *s;
    bool for_owner; /* the owner's ask (it hears the answer), or the watch's */
    const struct config *cfg;
    int first;            /* the sentinel asked first */
    long long timeout_ms; /* per sentinel */
    /* Filled by the work thread: */
    int answered;   /* the index of the sentinel that answered; -1: none */
    char host[256]; /* the master */
    int port;
    char peer_ip[64]; /* the answering sentinel's address as connected */
    char why[REDIS_SENTINELS_MAX][320];
};

struct sentinel {
    uv_loop_t *loop;
    const struct config *cfg;
    struct sentinel_events ev;
    void *data;
    const char *name; /* for the log */
    int preferred;    /* the sentinel that answered last */
    char where[300];  /* its host:port, for the log */
    char peer_ip[64]; /* and its IP, for the watch (no DNS on the loop) */
    int peer_port;
    struct ask *owner_ask;    /* the owner's ask in progress, or NULL */
    struct ask *watch_ask;    /* the watch's own ask in progress, or NULL */
    redisAsyncContext *watch; /* owned by hiredis; NULL when none */
    bool watching;            /* subscribed */
    uv_timer_t timer;         /* the watch's subscribe deadline, or its retry */
    bool closing;
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_ask;   /* no sentinel named the master */
    struct log_repeat log_watch; /* the watch broke or could not be made */
};

/* The sentinels' credentials: their own when given, else the master's. */
static void credentials(const struct redis_url *u, const char **user, const char **pass)
{
    if (u->sentinel_password[0] != '\0') {
        *user = u->sentinel_user;
        *pass = u->sentinel_password;
    } else {
        *user = u->sentinel_user[0] != '\0' ? u->sentinel_user : u->user;
        *pass = u->password;
    }
}

/* --- asking (the work thread) ---------------------------------------------- */

/* Asks sentinel i; 0 with the master in a, or -1 with the reason. */
static int ask_one(struct ask *a, int i)
{
    const struct redis_url *u = &a->cfg->redis;
    const struct redis_hostport *sp = &u->sentinels[i];
    char *why = a->why[i];
    size_t whylen = sizeof a->why[i];
    struct timeval tv = {(time_t)(a->timeout_ms / 1000),
                         (suseconds_t)(a->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(sp->host, sp->port, tv);
    if (c == NULL || c->err) {
        snprintf(why, whylen, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    int rc = -1;
    redisReply *r = NULL;
    const char *user, *pass;
    credentials(u, &user, &pass);
    if (pass[0] != '\0') {
        const char *argv[] = {"AUTH", user, pass};
        r = user[0] != '\0' ? redisCommandArgv(c, 3, argv, NULL)
                            : redisCommandArgv(c, 2, (const char *[]){"AUTH", pass}, NULL);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(why, whylen, "AUTH: %s", r ? r->str : c->errstr);
            goto done;
        }
        freeReplyObject(r);
    }
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name", u->master_name};
    r = redisCommandArgv(c, 3, argv, NULL);
    if (r == NULL) {
        snprintf(why, whylen, "%s", c->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "%s", r->str);
    } else if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, whylen, "it does not monitor a master named '%s'", u->master_name);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_STRING ||
               r->element[1]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof a->host ||
               atoi(r->element[1]->str) <= 0 || atoi(r->element[1]->str) > 65535) {
        snprintf(why, whylen, "an answer that is not [host, port]");
    } else {
        memcpy(a->host, r->element[0]->str, r->element[0]->len + 1);
        a->port = atoi(r->element[1]->str);
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        a->peer_ip[0] = '\0';
        if (getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0) {
            if (peer.ss_family == AF_INET)
                uv_ip4_name((struct sockaddr_in *)&peer, a->peer_ip, sizeof a->peer_ip);
            else if (peer.ss_family == AF_INET6)
                uv_ip6_name((struct sockaddr_in6 *)&peer, a->peer_ip, sizeof a->peer_ip);
        }
        rc = 0;
    }
done:
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}

static void ask_work(uv_work_t *w)
{
    struct ask *a = w->data;
    int n = a->cfg->redis.n_sentinels;
    a->answered = -1;
    for (int k = 0; k < n; k++) {
        int i = (a->first + k) % n;
        a->why[i][0] = '\0';
        if (ask_one(a, i) == 0) {
            a->answered = i;
            return;
        }
    }
}

/* --- the watch (the loop) --------------------------------------------------- */

static void start_ask(struct sentinel *s, bool for_owner);

static void on_retry(uv_timer_t *t)
{
    struct sentinel *s = t->data;
    if (s->watch_ask == NULL && s->watch == NULL)
        start_ask(s, false);
}

/* Gives up the watch connection (if any) and tries again later. */
static void watch_drop(struct sentinel *s, const char *why)
{
    redisAsyncContext *ac = s->watch;
    s->watch = NULL;
    s->watching = false;
    if (ac != NULL)
        redisAsyncFree(ac); /* inside one of its callbacks: freed after it returns */
    if (s->closing)
        return;
    log_repeat(&s->log_watch, LOG_WARN, "%s: no failover watch on sentinel %s: %s", s->name,
               s->where, why);
    uv_timer_start(&s->timer, on_retry, WATCH_RETRY_MS, 0);
}

static void on_subscribe_deadline(uv_timer_t *t)
{
    watch_drop(t->data, "it did not confirm the subscription in time");
}

static void on_watch_auth(redisAsyncContext *ac, void *reply, void *data)
{
    struct sentinel *s = data;
    const redisReply *r = reply;
    if (ac != s->watch || r == NULL || r->type != REDIS_REPLY_ERROR)
        return;
    char why[200];
    snprintf(why, sizeof why, "AUTH: %s", r->str);
    watch_drop(s, why);
}

/* "<master> <old ip> <old port> <new ip> <new port>" */
static void on_switch_master(struct sentinel *s, const char *msg)
{
    char name[256], old_ip[64], new_ip[64];
    int old_port, new_port;
    if (sscanf(msg, "%255s %63s %d %63s %d", name, old_ip, &old_port, new_ip, &new_port) != 5 ||
        strcmp(name, s->cfg->redis.master_name) != 0)
        return;
    log_info("%s: sentinel %s announces a failover of '%s': %s:%d -> %s:%d", s->name, s->where,
             name, old_ip, old_port, new_ip, new_port);
    s->ev.switched(s->data, new_ip, new_port);
}

static void on_message(redisAsyncContext *ac, void *reply, void *data)
{
    struct sentinel *s = data;
    const redisReply *r = reply;
    if (ac != s->watch || r == NULL)
        return; /* the connection went: watch_drop or on_watch_disconnect saw to it */
    if (r->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "SUBSCRIBE: %s", r->str);
        watch_drop(s, why);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(r->element[0]->str, "subscribe") == 0) {
        uv_timer_stop(&s->timer);
        s->watching = true;
        log_info("%s: watching sentinel %s for failovers of '%s'", s->name, s->where,
                 s->cfg->redis.master_name);
    } else if (strcmp(r->element[0]->str, "message") == 0 &&
               r->element[2]->type == REDIS_REPLY_STRING) {
        on_switch_master(s, r->element[2]->str);
    }
}

static void on_watch_connect(const redisAsyncContext *ac, int status)
{
    struct sentinel *s = ac->data;
    if (ac != s->watch || status == REDIS_OK)
        return;
    s->watch = NULL; /* hiredis frees it after this callback */
    watch_drop(s, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_watch_disconnect(const redisAsyncContext *ac, int status)
{
    struct sentinel *s = ac->data;
    (void)status;
    if (ac != s->watch)
        return;
    s->watch = NULL;
    watch_drop(s, ac->errstr[0] ? ac->errstr : "the sentinel closed the connection");
}

static void watch_connect(struct sentinel *s)
{
    redisAsyncContext *ac = redisAsyncConnect(s->peer_ip, s->peer_port);
    if (ac == NULL || ac->err || uvredis_attach(ac, s->loop) != 0) {
        if (ac)
            redisAsyncFree(ac);
        watch_drop(s, "cannot connect");
        return;
    }
    ac->data = s;
    s->watch = ac;
    redisAsyncSetConnectCallback(ac, on_watch_connect);
    redisAsyncSetDisconnectCallback(ac, on_watch_disconnect);
    redisEnableKeepAlive(&ac->c); /* a sentinel gone without a word is noticed */
    const char *user, *pass;
    credentials(&s->cfg->redis, &user, &pass);
    if (pass[0] != '\0') {
        if (user[0] != '\0')
            redisAsyncCommandArgv(ac, on_watch_auth, s, 3, (const char *[]){"AUTH", user, pass},
                                  NULL);
        else
            redisAsyncCommandArgv(ac, on_watch_auth, s, 2, (const char *[]){"AUTH", pass}, NULL);
    }
    redisAsyncCommandArgv(ac, on_message, s, 2, (const char *[]){"SUBSCRIBE", "+switch-master"},
                          NULL);
    uv_timer_start(&s->timer, on_subscribe_deadline, (uint64_t)s->cfg->request_timeout_ms, 0);
}

/* --- asking (the loop) ------------------------------------------------------ */

/* Logs why no sentinel named the master. */
static void log_unanswered(struct sentinel *s, const struct ask *a)
{
    const struct redis_url *u = &s->cfg->redis;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < u->n_sentinels; i++) {
        char one[512];
        int n = snprintf(one, sizeof one, "%s%s:%d: %s", i ? "; " : "", u->sentinels[i].host,
                         u->sentinels[i].port, a->why[i]);
        buf_append(&b, one, n > 0 && (size_t)n < sizeof one ? (size_t)n : strlen(one));
    }
    log_repeat(&s->log_ask, LOG_WARN, "%s: no sentinel named the master '%s' (%s)", s->name,
               u->master_name, buf_cstr(&b));
    buf_free(&b);
}

static void ask_done(uv_work_t *w, int status)
{
    struct ask *a = w->data;
    struct sentinel *s = a->s;
    if (a->for_owner)
        s->owner_ask = NULL;
    else
        s->watch_ask = NULL;
    if (s->closing || status != 0) {
        free(a);
        closer_release(&s->closer);
        return;
    }
    if (a->answered >= 0) {
        const struct redis_hostport *sp = &s->cfg->redis.sentinels[a->answered];
        s->preferred = a->answered;
        snprintf(s->where, sizeof s->where, "%s:%d", sp->host, sp->port);
        snprintf(s->peer_ip, sizeof s->peer_ip, "%s", a->peer_ip[0] ? a->peer_ip : sp->host);
        s->peer_port = sp->port;
        if (s->watch == NULL && !uv_is_active((uv_handle_t *)&s->timer))
            watch_connect(s);
    } else {
        log_unanswered(s, a);
        if (!a->for_owner && s->watch == NULL)
            uv_timer_start(&s->timer, on_retry, WATCH_RETRY_MS, 0);
    }
    if (a->for_owner)
        s->ev.master(s->data, a->answered >= 0 ? a->host : NULL, a->port);
    free(a);
    closer_release(&s->closer); /* never the last: the begin's count stays until close */
}

static void start_ask(struct sentinel *s, bool for_owner)
{
    struct ask *a = xcalloc(1, sizeof *a);
    a->s = s;
    a->for_owner = for_owner;
    a->cfg = s->cfg;
    a->first = s->preferred;
    a->timeout_ms = s->cfg->request_timeout_ms < ASK_TIMEOUT_MAX_MS ? s->cfg->request_timeout_ms
                                                                    : ASK_TIMEOUT_MAX_MS;
    a->work.data = a;
    /* uv_queue_work fails only for a NULL work function. */
    if (uv_queue_work(s->loop, &a->work, ask_work, ask_done) != 0)
        abort();
    if (for_owner)
        s->owner_ask = a;
    else
        s->watch_ask = a;
    closer_hold(&s->closer); /* released by ask_done */
}

/* --- the owner's calls -------------------------------------------------------- */

static void sentinel_free(void *data)
{
    struct sentinel *s = data;
    void (*done)(void *) = s->on_closed;
    void *done_data = s->on_closed_data;
    log_repeat_done(&s->log_ask);
    log_repeat_done(&s->log_watch);
    free(s);
    done(done_data);
}

struct sentinel *sentinel_new(uv_loop_t *loop, const struct config *cfg, const char *name,
                              const struct sentinel_events *ev, void *data)
{
    assert(cfg->redis.mode == REDIS_SENTINEL && cfg->redis.n_sentinels > 0);
    struct sentinel *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->cfg = cfg;
    s->ev = *ev;
    s->data = data;
    s->name = name;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    /* The closer counts the asks in flight from the start: begun here,
     * ended by sentinel_close. */
    closer_begin(&s->closer, sentinel_free, s);
    return s;
}

void sentinel_ask(struct sentinel *s)
{
    assert(s->owner_ask == NULL && !s->closing);
    start_ask(s, true);
}

const char *sentinel_where(const struct sentinel *s)
{
    return s->where;
}

void sentinel_close(struct sentinel *s, void (*done)(void *), void *data)
{
    s->on_closed = done;
    s->on_closed_data = data;
    s->closing = true;
    if (s->watch != NULL) {
        redisAsyncContext *ac = s->watch;
        s->watch = NULL;
        redisAsyncFree(ac);
    }
    /* An ask not yet started is cancelled; one that runs ends within its
     * timeouts. Either way ask_done releases the closer. */
    if (s->owner_ask != NULL)
        uv_cancel((uv_req_t *)&s->owner_ask->work);
    if (s->watch_ask != NULL)
        uv_cancel((uv_req_t *)&s->watch_ask->work);
    closer_close(&s->closer, (uv_handle_t *)&s->timer);
    closer_end(&s->closer);
}
