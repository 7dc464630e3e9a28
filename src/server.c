/* The JSON-RPC listener and client connections (see server.h).
 *
 * A connection's requests form a queue in arrival order:
 *
 *   head (oldest) -> ... -> tail (newest)
 *
 * A request joins at the tail when its line is read and is marked done when
 * its response is ready, in any order (validation errors at once, Redis
 * calls later). Only the done prefix at the head is moved to the output
 * buffer, so responses leave in request order. One write is in flight at a
 * time; responses finished meanwhile gather in `out` and go in the next one.
 *
 * Flushing is deferred: a finished request only marks its connection dirty,
 * and the flusher flushes every dirty connection once per loop iteration,
 * from a uv_check handle (after I/O callbacks) and a uv_prepare handle
 * (before the loop blocks, for answers made by timers and write callbacks).
 * All the answers that one Redis read or one client read produced leave in
 * one write per connection.
 *
 * Effects follow request order too. Most methods are one script call, and
 * Redis runs one connection's calls in order. A method that needs two calls
 * (commit, release: a read to learn its keys, then the write) is a barrier:
 * nothing after it on the same connection is framed until it is done, so a
 * later request can never take effect before it.
 *
 * Limits: beyond --max-pipeline requests in flight on a connection (or
 * --max-inflight in the process) the service answers 2003 at once. Beyond
 * twice that many queued answers, or --max-output-bytes of unwritten
 * output (a client that sends but does not read), the connection is not
 * read from until it drains.
 *
 * Timeouts: one timer checks every connection a few times per timeout. A
 * connection with nothing in flight and no complete line for
 * --idle-timeout-ms is closed, and so is one whose started line is not
 * finished within --line-timeout-ms (a slowloris client), after an error
 * line that says so.
 *
 * Closing: conn_close is the one, idempotent, close path. A connection that
 * reached EOF, sent an oversized line, or is asked to drain stops reading and
 * closes once every queued request is answered and written. Requests still
 * waiting for Redis when the socket goes are orphaned (owner = NULL) and
 * freed when they finish. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "framer.h"
#include "log.h"

#define READ_BUF_SIZE 65536

struct conn {
    uv_tcp_t tcp; /* first: the handle's memory is the connection's */
    struct server *srv;
    struct conn *prev, *next; /* in srv->conns */
    struct framer framer;
    struct request *head, *tail;
    unsigned queued;
    struct buf out;     /* owned: finished responses not yet being written */
    struct buf writing; /* owned: the bytes of the write in flight */
    uv_write_t wreq;
    bool write_active;
    bool reading;
    bool draining; /* stop reading; close when all is answered and written */
    bool backlog;  /* framer.tail may hold whole lines, read while framing waited */
    struct request *barrier; /* a two-call request that later lines wait for */
    bool spent;    /* an oversized line: nothing after it is framed */
    bool closing;
    bool dirty;              /* in srv->dirty, waiting for the flusher */
    struct conn *next_dirty; /* in srv->dirty */
    struct session session;
    uint64_t last_line_at;  /* uv_now() of the last complete line, or accept */
    uint64_t partial_since; /* uv_now() when the unfinished line began; 0: none */
};

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    struct service *svc;
    struct metrics *metrics;
    uv_tcp_t listener;
    int port;
    struct conn *conns;
    unsigned long n_conns;    /* accepted and not yet closing: the cap */
    unsigned long open_conns; /* handles not yet closed: the shutdown */
    char read_buf[READ_BUF_SIZE]; /* shared: libuv reads one socket at a time */
    bool read_buf_busy;
    uv_check_t flusher;  /* flushes srv->dirty after I/O callbacks */
    uv_prepare_t preflusher; /* and before the loop blocks */
    struct conn *dirty;  /* connections with answers to move and write */
    uv_timer_t reaper;       /* idle and partial-line timeouts */
    uv_timer_t stop_timer;   /* the drain's deadline */
    unsigned max_queued;     /* answers queued on one connection before it is not read */
    bool stopping;
    bool listener_closed;
    void (*on_stopped)(void *);
    void *on_stopped_data;
};

static void conn_close(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_update_reading(struct conn *c);
static void server_check_stopped(struct server *srv);

/* --- requests ---------------------------------------------------------- */

static void flush_dirty(struct server *srv)
{
    while (srv->dirty != NULL) {
        struct conn *c = srv->dirty;
        srv->dirty = c->next_dirty;
        c->dirty = false;
        conn_flush(c);
    }
    uv_check_stop(&srv->flusher);
    uv_prepare_stop(&srv->preflusher);
}

static void on_flush(uv_check_t *check)
{
    flush_dirty(check->data);
}

static void on_preflush(uv_prepare_t *prepare)
{
    flush_dirty(prepare->data);
}

static void mark_dirty(struct conn *c)
{
    if (c->dirty || c->closing)
        return;
    c->dirty = true;
    c->next_dirty = c->srv->dirty;
    if (c->srv->dirty == NULL) {
        uv_check_start(&c->srv->flusher, on_flush);
        uv_prepare_start(&c->srv->preflusher, on_preflush);
    }
    c->srv->dirty = c;
}

static void on_request_done(struct request *req)
{
    struct conn *c = req->owner;
    if (c == NULL) {
        /* The connection went away while Redis was working on it. */
        service_request_free(req->svc, req);
        return;
    }
    if (c->barrier == req)
        c->barrier = NULL; /* the flush frames what waited behind it */
    if (c->head == req || c->barrier == NULL)
        mark_dirty(c);
}

static void enqueue(struct conn *c, struct request *req)
{
    if (c->tail)
        c->tail->next = req;
    else
        c->head = req;
    c->tail = req;
    c->queued++;
}

static int on_line(void *ctx, const char *line, size_t len)
{
    struct conn *c = ctx;
    struct server *srv = c->srv;
    struct request *req = service_request_new(srv->svc, c, on_request_done);
    enqueue(c, req);
    c->last_line_at = uv_now(srv->loop);
    service_handle_line(srv->svc, req, &c->session, line, len, c->last_line_at);
    if (!req->done && service_request_is_barrier(req)) {
        c->barrier = req;
        return 1;
    }
    /* Stop framing when the client has too much outstanding; the rest of the
     * bytes wait in the framer's tail until answers drain. */
    return c->queued >= srv->max_queued ? 1 : 0;
}

static void fail_line(struct conn *c, enum error_id e, const char *message)
{
    struct rpc_error err;
    rpc_error_set(&err, e);
    err.message = message;
    struct request *req = service_request_new(c->srv->svc, c, on_request_done);
    enqueue(c, req);
    service_fail(req, &err);
}

/* --- reading ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;
    (void)suggested;
    if (c->srv->read_buf_busy) {
        b->base = NULL;
        b->len = 0;
        return;
    }
    c->srv->read_buf_busy = true;
    b->base = c->srv->read_buf;
    b->len = sizeof c->srv->read_buf;
}

static void feed(struct conn *c, const char *data, size_t len)
{
    if (c->spent)
        return;
    if (c->backlog || c->barrier != NULL) {
        /* Lines wait in the tail already, or must wait: keep the bytes. */
        buf_append(&c->framer.tail, data, len);
        c->backlog = true;
        return;
    }
    size_t used = 0;
    enum framer_status st = framer_feed(&c->framer, data, len, on_line, c, &used);
    if (st == FRAMER_STOPPED && used < len) {
        /* Too many requests outstanding, or a barrier: what was read but not
         * framed waits in the tail (after the last delivered line, so it
         * starts a line) and is framed again later. */
        buf_append(&c->framer.tail, data + used, len - used);
        c->backlog = true;
    } else if (st == FRAMER_TOO_LARGE) {
        fail_line(c, E_TOO_LARGE, NULL);
        c->spent = true;
        c->draining = true;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;
    struct server *srv = c->srv;
    if (b->base == srv->read_buf)
        srv->read_buf_busy = false;
    if (nread > 0 && !c->draining) {
        uint64_t last_line = c->last_line_at;
        feed(c, b->base, (size_t)nread);
        /* The clock of an unfinished line starts with its first byte. */
        if (framer_pending(&c->framer) == 0 || c->backlog)
            c->partial_since = 0;
        else if (c->partial_since == 0 || c->last_line_at != last_line)
            c->partial_since = uv_now(srv->loop);
    } else if (nread < 0) {
        if (nread != UV_EOF)
            log_debug("client read error: %s", uv_strerror((int)nread));
        /* EOF: the client may have half-closed after its last request
         * (printf ... | nc), so answer what was read, then close. A last
         * line without its newline is taken as complete. */
        if (nread == UV_EOF && framer_pending(&c->framer) > 0)
            feed(c, "\n", 1);
        c->draining = true;
    }
    /* Stop at once when the queue filled: libuv would read again before
     * the flusher runs. */
    conn_update_reading(c);
    mark_dirty(c);
}

static void conn_update_reading(struct conn *c)
{
    if (c->closing)
        return;
    bool want = !c->draining && !c->backlog && c->queued < c->srv->max_queued &&
                c->out.len + c->writing.len < (size_t)c->srv->cfg->max_output_bytes;
    if (want && !c->reading) {
        c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Lines kept while the queue was full or a barrier was up are framed again
 * once they may be, also while draining: they were read, so they are
 * answered. */
static void refeed_backlog(struct conn *c)
{
    if (!c->backlog || c->barrier != NULL || c->queued >= c->srv->max_queued)
        return;
    struct buf pending = c->framer.tail;
    buf_init(&c->framer.tail);
    c->backlog = false;
    feed(c, pending.data, pending.len);
    buf_free(&pending);
}

/* --- writing ----------------------------------------------------------- */

static void start_write(struct conn *c);

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    c->write_active = false;
    buf_reset(&c->writing);
    if (c->writing.cap > (size_t)c->srv->cfg->max_output_bytes)
        buf_free(&c->writing);
    if (status < 0) {
        if (status != UV_ECANCELED)
            log_debug("client write error: %s", uv_strerror(status));
        conn_close(c);
        return;
    }
    mark_dirty(c);
}

static void start_write(struct conn *c)
{
    if (c->write_active || c->out.len == 0 || c->closing)
        return;
    struct buf tmp = c->writing;
    c->writing = c->out;
    c->out = tmp;
    uv_buf_t b = uv_buf_init(c->writing.data, (unsigned)c->writing.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        conn_close(c);
        return;
    }
    c->write_active = true;
}

/* Moves the finished prefix of the queue to the output, writes, and decides
 * whether to read on or to close. */
static void conn_flush(struct conn *c)
{
    if (c->closing)
        return;
    struct request *req;
    while ((req = c->head) != NULL && req->done) {
        c->head = req->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->queued--;
        buf_append(&c->out, req->out.data, req->out.len);
        service_request_free(c->srv->svc, req);
    }
    refeed_backlog(c);
    start_write(c);
    if (c->draining && c->head == NULL && !c->backlog && !c->write_active && c->out.len == 0) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
}

/* --- lifecycle --------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct server *srv = c->srv;
    framer_free(&c->framer);
    buf_free(&c->out);
    buf_free(&c->writing);
    free(c);
    srv->open_conns--;
    server_check_stopped(srv);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->barrier = NULL;
    struct server *srv = c->srv;
    /* Requests still at Redis finish later, without a connection. */
    struct request *req = c->head;
    while (req != NULL) {
        struct request *next = req->next;
        if (req->done) {
            service_request_free(srv->svc, req);
        } else {
            req->owner = NULL;
            req->session = NULL;
            req->next = NULL;
        }
        req = next;
    }
    c->head = c->tail = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    srv->metrics->connections--;
    /* A dirty connection stays in srv->dirty until the flusher pops it;
     * that happens before close callbacks run in this loop iteration. */
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void refuse(struct server *srv)
{
    /* Over the connection cap: accept, say why, close. */
    uv_tcp_t *t = xmalloc(sizeof *t);
    uv_tcp_init(srv->loop, t);
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0) {
        static const char line[] =
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":2003,\"message\":\"Too many "
            "connections.\",\"data\":{\"reason\":\"overloaded\"}}}\n";
        uv_buf_t b = uv_buf_init((char *)line, sizeof line - 1);
        uv_try_write((uv_stream_t *)t, &b, 1);
    }
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct server *srv = l->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    if (srv->n_conns >= (unsigned long)srv->cfg->max_connections) {
        log_warn("connection refused: max_connections (%lld) reached", srv->cfg->max_connections);
        srv->metrics->connections_refused++;
        refuse(srv);
        return;
    }
    struct conn *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    framer_init(&c->framer, (size_t)srv->cfg->max_request_bytes);
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        framer_free(&c->framer);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_line_at = uv_now(srv->loop);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    srv->open_conns++;
    srv->metrics->connections++;
    conn_update_reading(c);
}

/* Closes connections past the idle or the partial-line timeout. */
static void on_reap(uv_timer_t *t)
{
    struct server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    const struct config *cfg = srv->cfg;
    struct conn *c = srv->conns;
    while (c != NULL) {
        struct conn *next = c->next;
        if (c->partial_since != 0 && !c->draining &&
            now - c->partial_since > (uint64_t)cfg->line_timeout_ms) {
            log_debug("closing a connection: line not finished in time");
            framer_free(&c->framer);
            c->spent = true;
            c->draining = true;
            c->partial_since = 0;
            fail_line(c, E_INVALID_REQUEST, "The request line was not finished in time.");
            mark_dirty(c);
        } else if (c->head == NULL && !c->write_active && c->out.len == 0 && !c->backlog &&
                   now - c->last_line_at > (uint64_t)cfg->idle_timeout_ms) {
            log_debug("closing an idle connection");
            conn_close(c);
        }
        c = next;
    }
}

struct server *server_start(uv_loop_t *loop, const struct config *cfg, struct service *svc,
                            struct metrics *m)
{
    struct server *srv = xcalloc(1, sizeof *srv);
    srv->metrics = m;
    srv->loop = loop;
    srv->cfg = cfg;
    srv->svc = svc;

    struct sockaddr_storage addr;
    if (uv_ip4_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in6 *)&addr) != 0) {
        log_error("--listen: '%s' is not an IP address", cfg->listen_host);
        free(srv);
        return NULL;
    }
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    uv_check_init(loop, &srv->flusher);
    uv_prepare_init(loop, &srv->preflusher);
    srv->flusher.data = srv->preflusher.data = srv;
    srv->max_queued = (unsigned)(2 * cfg->max_pipeline + 64);
    int rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 1024, on_connection);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
                  uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, NULL);
        uv_close((uv_handle_t *)&srv->flusher, NULL);
        uv_close((uv_handle_t *)&srv->preflusher, NULL);
        uv_run(loop, UV_RUN_NOWAIT); /* let the closes finish before freeing */
        free(srv);
        return NULL;
    }
    /* A few checks per timeout, at most one every 10 ms, at least every s. */
    uint64_t shortest = (uint64_t)(cfg->idle_timeout_ms < cfg->line_timeout_ms
                                       ? cfg->idle_timeout_ms
                                       : cfg->line_timeout_ms);
    uint64_t every = shortest / 4 < 10 ? 10 : shortest / 4 > 1000 ? 1000 : shortest / 4;
    uv_timer_init(loop, &srv->reaper);
    uv_timer_init(loop, &srv->stop_timer);
    srv->reaper.data = srv->stop_timer.data = srv;
    uv_timer_start(&srv->reaper, on_reap, every, every);

    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    return srv;
}

int server_port(const struct server *srv)
{
    return srv->port;
}

static void on_flusher_closed(uv_handle_t *h)
{
    struct server *srv = h->data;
    /* The server's own handles close one after the other. */
    uv_handle_t *rest[] = {(uv_handle_t *)&srv->preflusher, (uv_handle_t *)&srv->reaper,
                           (uv_handle_t *)&srv->stop_timer};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        if (!uv_is_closing(rest[i])) {
            uv_close(rest[i], on_flusher_closed);
            return;
        }
    void (*done)(void *) = srv->on_stopped;
    void *data = srv->on_stopped_data;
    free(srv);
    if (done)
        done(data);
}

static void server_check_stopped(struct server *srv)
{
    if (!srv->stopping || !srv->listener_closed || srv->open_conns != 0 ||
        uv_is_closing((uv_handle_t *)&srv->flusher))
        return;
    uv_close((uv_handle_t *)&srv->flusher, on_flusher_closed);
}

static void on_listener_closed(uv_handle_t *h)
{
    struct server *srv = h->data;
    srv->listener_closed = true;
    server_check_stopped(srv);
}

/* The drain's deadline: every call to Redis has had its request timeout by
 * now; what is left is a client that does not read its answers. */
static void on_stop_deadline(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (srv->conns != NULL)
        log_warn("shutdown: closing connections that did not take their answers in time");
    while (srv->conns != NULL)
        conn_close(srv->conns);
}

void server_stop(struct server *srv, void (*done)(void *), void *data)
{
    srv->stopping = true;
    srv->on_stopped = done;
    srv->on_stopped_data = data;
    uv_timer_start(&srv->stop_timer, on_stop_deadline,
                   2 * (uint64_t)srv->cfg->request_timeout_ms + 1000, 0);
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    struct conn *c = srv->conns;
    while (c != NULL) {
        struct conn *next = c->next;
        c->draining = true;
        conn_flush(c);
        c = next;
    }
}
