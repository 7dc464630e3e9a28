/* The JSON-RPC listener (see server.h): it accepts connections up to
 * --max-connections and hands them to the connection set (conn.c), reaps
 * idle and slow ones on a timer, and runs the drain on shutdown:
 *
 *   server_stop: close the listener; drain the set (every connection
 *   answers what it read, flushes, closes); at the drain's deadline close
 *   whatever is left (a client that does not take its answers); then the
 *   timers and the set's own handles, then the server. */
#include "server.h"

#include <stdlib.h>

#include "closer.h"
#include "conn.h"
#include "listener.h"
#include "log.h"

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *metrics;
    uv_tcp_t listener;
    int port;
    struct conns *conns;
    uv_timer_t reaper;     /* idle, partial-line, auth and write timeouts */
    uv_timer_t stop_timer; /* the drain's deadline */
    struct closer closer;
    void (*on_stopped)(void *);
    void *on_stopped_data;
    struct log_repeat log_refused;
};

/* Over the connection cap: accept, say why, close. */
static void refuse(struct server *srv)
{
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
    if (srv->metrics->connections >= srv->cfg->max_connections) {
        log_repeat(&srv->log_refused, LOG_WARN, "connection refused: max_connections (%lld) reached",
                   srv->cfg->max_connections);
        srv->metrics->connections_refused++;
        refuse(srv);
        return;
    }
    conns_accept(srv->conns, l);
}

static void on_reap(uv_timer_t *t)
{
    struct server *srv = t->data;
    conns_reap(srv->conns, uv_now(srv->loop));
}

struct server *server_start(uv_loop_t *loop, const struct config *cfg, struct request_pool *pool,
                            struct metrics *m)
{
    struct server *srv = xcalloc(1, sizeof *srv);
    srv->metrics = m;
    srv->loop = loop;
    srv->cfg = cfg;
    srv->port = listener_open(loop, &srv->listener, "--listen", cfg->listen_host, cfg->listen_port,
                              1024, on_connection, srv);
    if (srv->port < 0) {
        uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before freeing */
        free(srv);
        return NULL;
    }
    srv->conns = conns_new(loop, cfg, pool, m);
    /* A few checks per timeout, at most one every 10 ms, at least every s. */
    long long timeouts[] = {cfg->idle_timeout_ms, cfg->line_timeout_ms, cfg->auth_timeout_ms,
                            cfg->write_timeout_ms};
    uint64_t shortest = UINT64_MAX;
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++)
        if ((uint64_t)timeouts[i] < shortest)
            shortest = (uint64_t)timeouts[i];
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
    log_repeat_done(&srv->log_refused);
    free(srv);
    done(done_data);
}

static void on_conns_freed(void *data)
{
    closer_release(&((struct server *)data)->closer);
}

/* The drain's deadline: every call to Redis has had its request timeout by
 * now; what is left is a client that does not read its answers. */
static void on_stop_deadline(uv_timer_t *t)
{
    struct server *srv = t->data;
    conns_close_all(srv->conns);
}

/* Every connection has closed: the timers and the set go, then the server
 * (the listener is closing already, under the same closer). */
static void on_drained(void *data)
{
    struct server *srv = data;
    closer_close(&srv->closer, (uv_handle_t *)&srv->reaper);
    closer_close(&srv->closer, (uv_handle_t *)&srv->stop_timer);
    closer_hold(&srv->closer);
    conns_free(srv->conns, on_conns_freed, srv);
    closer_end(&srv->closer);
}

void server_stop(struct server *srv, void (*done)(void *), void *data)
{
    srv->on_stopped = done;
    srv->on_stopped_data = data;
    closer_begin(&srv->closer, server_free, srv);
    closer_close(&srv->closer, (uv_handle_t *)&srv->listener);
    uv_timer_start(&srv->stop_timer, on_stop_deadline,
                   2 * (uint64_t)srv->cfg->request_timeout_ms + 1000, 0);
    conns_drain(srv->conns, on_drained, srv);
}
