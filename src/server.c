/* The JSON-RPC listener and its connections (see server.h).
 *
 * Flushing is deferred: an answered request only marks its connection
 * dirty, and the flusher flushes every dirty connection once per loop
 * iteration, from a uv_check handle (after I/O callbacks) and a uv_prepare
 * handle (before the loop blocks, for answers made by timers and write
 * callbacks).
 *
 * Shutdown: stop accepting, drain every connection (answer what was read,
 * flush, close); connections that do not take their answers in time are
 * closed at the drain's deadline. The server goes when the listener, its
 * timers and every connection have closed. */
#include "server.h"

#include <stdlib.h>

#include "closer.h"
#include "conn.h"
#include "listener.h"
#include "log.h"

#define READ_BUF_SIZE 65536

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    struct request_pool *pool;
    struct metrics *metrics;
    uv_tcp_t listener;
    int port;
    struct queue conns;       /* accepted and not closing: the cap counts them */
    unsigned long n_conns;
    unsigned long open_conns; /* handles not yet closed: the shutdown waits for them */
    char read_buf[READ_BUF_SIZE]; /* shared: libuv reads one socket at a time */
    bool read_buf_busy;
    uv_check_t flusher;       /* flushes srv->dirty after I/O callbacks */
    uv_prepare_t preflusher;  /* and before the loop blocks */
    struct queue dirty;       /* connections with answers to move and write */
    uv_timer_t reaper;        /* idle and partial-line timeouts */
    uv_timer_t stop_timer;    /* the drain's deadline */
    bool stopping;
    struct closer drain;  /* the listener and every connection */
    struct closer closer; /* then the server's own handles */
    void (*on_stopped)(void *);
    void *on_stopped_data;
};

/* --- for conn.c ---------------------------------------------------------- */

static void flush_dirty(struct server *srv)
{
    struct queue *q;
    while ((q = queue_first(&srv->dirty)) != NULL) {
        queue_remove(q);
        conn_flush(queue_data(q, struct conn, dirty_node));
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

void server_mark_dirty(struct server *srv, struct conn *c)
{
    if (queue_linked(&c->dirty_node) || c->closing)
        return;
    if (queue_empty(&srv->dirty)) {
        uv_check_start(&srv->flusher, on_flush);
        uv_prepare_start(&srv->preflusher, on_preflush);
    }
    queue_insert_tail(&srv->dirty, &c->dirty_node);
}

char *server_read_buf(struct server *srv, size_t *len)
{
    if (srv->read_buf_busy) {
        *len = 0;
        return NULL;
    }
    srv->read_buf_busy = true;
    *len = sizeof srv->read_buf;
    return srv->read_buf;
}

void server_read_buf_back(struct server *srv, const char *base)
{
    if (base == srv->read_buf)
        srv->read_buf_busy = false;
}

void server_conn_closing(struct server *srv, struct conn *c)
{
    queue_remove(&c->node);
    if (queue_linked(&c->dirty_node))
        queue_remove(&c->dirty_node);
    srv->n_conns--;
}

void server_conn_closed(struct server *srv)
{
    srv->open_conns--;
    if (srv->stopping)
        closer_release(&srv->drain);
}

/* --- accepting ------------------------------------------------------------ */

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
    struct conn *c = conn_accept(srv, l, srv->cfg, srv->pool, srv->metrics);
    if (c == NULL)
        return;
    queue_insert_tail(&srv->conns, &c->node);
    srv->n_conns++;
    srv->open_conns++;
}

/* Closes connections past the idle or the partial-line timeout. */
static void on_reap(uv_timer_t *t)
{
    struct server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    struct queue *q = srv->conns.next;
    while (q != &srv->conns) {
        struct conn *c = queue_data(q, struct conn, node);
        q = q->next; /* c may close and leave the set */
        conn_reap(c, now);
    }
}

struct server *server_start(uv_loop_t *loop, const struct config *cfg, struct request_pool *pool,
                            struct metrics *m)
{
    struct server *srv = xcalloc(1, sizeof *srv);
    srv->metrics = m;
    srv->loop = loop;
    srv->cfg = cfg;
    srv->pool = pool;
    queue_init(&srv->conns);
    queue_init(&srv->dirty);
    srv->port = listener_open(loop, &srv->listener, "--listen", cfg->listen_host, cfg->listen_port,
                              1024, on_connection, srv);
    if (srv->port < 0) {
        uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before freeing */
        free(srv);
        return NULL;
    }
    uv_check_init(loop, &srv->flusher);
    uv_prepare_init(loop, &srv->preflusher);
    srv->flusher.data = srv->preflusher.data = srv;
    /* A few checks per timeout, at most one every 10 ms, at least every s. */
    uint64_t shortest = (uint64_t)(cfg->idle_timeout_ms < cfg->line_timeout_ms
                                       ? cfg->idle_timeout_ms
                                       : cfg->line_timeout_ms);
    uint64_t every = shortest / 4 < 10 ? 10 : shortest / 4 > 1000 ? 1000 : shortest / 4;
    uv_timer_init(loop, &srv->reaper);
    uv_timer_init(loop, &srv->stop_timer);
    srv->reaper.data = srv->stop_timer.data = srv;
    uv_timer_start(&srv->reaper, on_reap, every, every);
    return srv;
}

int server_port(const struct server *srv)
{
    return srv->port;
}

/* --- stopping ------------------------------------------------------------ */

static void server_free(void *data)
{
    struct server *srv = data;
    void (*done)(void *) = srv->on_stopped;
    void *done_data = srv->on_stopped_data;
    free(srv);
    done(done_data);
}

/* The drain's deadline: every call to Redis has had its request timeout by
 * now; what is left is a client that does not read its answers. */
static void on_stop_deadline(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (!queue_empty(&srv->conns))
        log_warn("shutdown: closing connections that did not take their answers in time");
    struct queue *q;
    while ((q = queue_first(&srv->conns)) != NULL)
        conn_close(queue_data(q, struct conn, node));
}

/* Every connection and the listener have closed: the server's own handles
 * go, then the server. */
static void drained(void *data)
{
    struct server *srv = data;
    closer_begin(&srv->closer, server_free, srv);
    closer_close(&srv->closer, (uv_handle_t *)&srv->flusher);
    closer_close(&srv->closer, (uv_handle_t *)&srv->preflusher);
    closer_close(&srv->closer, (uv_handle_t *)&srv->reaper);
    closer_close(&srv->closer, (uv_handle_t *)&srv->stop_timer);
    closer_end(&srv->closer);
}

void server_stop(struct server *srv, void (*done)(void *), void *data)
{
    srv->stopping = true;
    srv->on_stopped = done;
    srv->on_stopped_data = data;
    closer_begin(&srv->drain, drained, srv);
    for (unsigned long i = 0; i < srv->open_conns; i++)
        closer_hold(&srv->drain); /* released as each connection's handle closes */
    closer_close(&srv->drain, (uv_handle_t *)&srv->listener);
    uv_timer_start(&srv->stop_timer, on_stop_deadline,
                   2 * (uint64_t)srv->cfg->request_timeout_ms + 1000, 0);
    struct queue *q = srv->conns.next;
    while (q != &srv->conns) {
        struct conn *c = queue_data(q, struct conn, node);
        q = q->next;
        conn_drain(c);
    }
    closer_end(&srv->drain);
}
