/* Health, readiness and metrics over HTTP (see http.h). A request is read
 * whole (up to REQUEST_MAX bytes, within REQUEST_TIMEOUT_MS), answered once,
 * and the connection is closed after the answer is written. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "closer.h"
#include "listener.h"
#include "log.h"

#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 5000
#define MAX_HTTP_CONNS 128

struct hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    struct http_server *srv;
    struct queue node; /* in srv->conns until it starts closing */
    char in[REQUEST_MAX];
    size_t len;
    struct buf out; /* owned: the response */
    bool answered;
    bool closing;
    struct closer closer;
};

struct http_server {
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *metrics;
    const struct store *store;
    uv_tcp_t listener;
    int port;
    bool draining;
    bool stopping;
    struct queue conns; /* accepted and not closing */
    int n_conns;
    int alive;          /* accepted and not yet freed */
    struct closer closer; /* while stopping: the listener and every connection */
    void (*on_stopped)(void *);
    void *on_stopped_data;
};

static void hconn_free(void *data)
{
    struct hconn *c = data;
    struct http_server *h = c->srv;
    buf_free(&c->out);
    free(c);
    h->alive--;
    if (h->stopping)
        closer_release(&h->closer); /* held in http_stop */
}

static void hconn_close(struct hconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    queue_remove(&c->node);
    c->srv->n_conns--;
    closer_begin(&c->closer, hconn_free, c);
    closer_close(&c->closer, (uv_handle_t *)&c->tcp);
    closer_close(&c->closer, (uv_handle_t *)&c->timer);
    closer_end(&c->closer);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    hconn_close(w->data);
}

static void respond(struct hconn *c, int status, const char *reason, const char *type,
                    const char *body, size_t body_len, const char *extra_header)
{
    if (c->answered)
        return;
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len, extra_header ? extra_header : "");
    buf_append(&c->out, head, (size_t)n);
    buf_append(&c->out, body, body_len);
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        hconn_close(c);
}

static void respond_text(struct hconn *c, int status, const char *reason, const char *text)
{
    respond(c, status, reason, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages = -1, resident = -1;
    if (f != NULL) {
        if (fscanf(f, "%lld %lld", &pages, &resident) != 2)
            resident = -1;
        fclose(f);
    }
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* 200 ready, with a warning line for each thing an operator should know
 * that taking this replica out of the Service would not mend: Redis full
 * (every replica shares it, and reads still work), webhook delivery
 * failing or lagging (the receiver's trouble, not the reservations'). */
static void respond_ready(struct hconn *c)
{
    struct http_server *h = c->srv;
    struct buf body;
    buf_init(&body);
    buf_appends(&body, "ready\n");
    if (metrics_redis_full(h->metrics))
        buf_appends(&body, "warning: redis is out of memory (maxmemory reached): writes are "
                           "refused with 2004 storage_full\n");
    metrics_webhook_warnings(h->metrics, h->cfg->webhook_lag_warn_s, &body);
    respond(c, 200, "OK", "text/plain; charset=utf-8", body.data, body.len, NULL);
    buf_free(&body);
}

/* Answers a complete request head: "METHOD SP PATH SP HTTP/1.x". */
static void handle(struct hconn *c)
{
    struct http_server *h = c->srv;
    char method[16], path[256], version[16];
    char *eol = memchr(c->in, '\n', c->len);
    *eol = '\0';
    if (sscanf(c->in, "%15s %255s %15s", method, path, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0 || path[0] != '/') {
        respond_text(c, 400, "Bad Request", "Malformed request.\n");
        return;
    }
    char *query = strchr(path, '?');
    if (query)
        *query = '\0';
    if (strcmp(method, "GET") != 0) {
        respond(c, 405, "Method Not Allowed", "text/plain; charset=utf-8", "GET only.\n", 10,
                "Allow: GET\r\n");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        respond_text(c, 200, "OK", "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        enum store_health health = store_health(h->store);
        if (h->draining)
            respond_text(c, 503, "Service Unavailable", "draining\n");
        else if (health == STORE_CONNECTING)
            respond_text(c, 503, "Service Unavailable", "redis connecting\n");
        else if (health == STORE_DOWN)
            respond_text(c, 503, "Service Unavailable", "redis down\n");
        else
            respond_ready(c);
    } else if (strcmp(path, "/metrics") == 0) {
        struct buf body;
        buf_init(&body);
        metrics_render(h->metrics, &body, STOCKD_VERSION, rss_bytes());
        respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body.data, body.len,
                NULL);
        buf_free(&body);
    } else {
        respond_text(c, 404, "Not Found", "Not found. Try /healthz, /readyz or /metrics.\n");
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
    struct hconn *c = handle->data;
    (void)suggested;
    *b = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct hconn *c = s->data;
    (void)b;
    if (n < 0) {
        hconn_close(c);
        return;
    }
    c->len += (size_t)n;
    /* The head ends with an empty line; a request body is never needed. */
    bool complete = false;
    for (size_t i = 0; i + 1 < c->len && !complete; i++)
        complete = c->in[i] == '\n' && (c->in[i + 1] == '\n' ||
                                        (c->in[i + 1] == '\r' && i + 2 < c->len &&
                                         c->in[i + 2] == '\n'));
    if (complete)
        handle(c);
    else if (c->len == sizeof c->in)
        respond_text(c, 400, "Bad Request", "Request too large.\n");
}

static void on_timeout(uv_timer_t *t)
{
    hconn_close(t->data);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct http_server *h = l->data;
    if (status < 0)
        return;
    struct hconn *c = xcalloc(1, sizeof *c);
    c->srv = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    queue_insert_tail(&h->conns, &c->node);
    h->n_conns++;
    h->alive++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || h->n_conns > MAX_HTTP_CONNS) {
        hconn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, REQUEST_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

struct http_server *http_start(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                               const struct store *store)
{
    struct http_server *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->cfg = cfg;
    h->metrics = m;
    h->store = store;
    queue_init(&h->conns);
    h->port = listener_open(loop, &h->listener, "--http", cfg->http_host, cfg->http_port, 128,
                            on_connection, h);
    if (h->port < 0) {
        uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before freeing */
        free(h);
        return NULL;
    }
    return h;
}

int http_port(const struct http_server *h)
{
    return h->port;
}

void http_set_draining(struct http_server *h)
{
    h->draining = true;
}

static void http_free(void *data)
{
    struct http_server *h = data;
    void (*done)(void *) = h->on_stopped;
    void *done_data = h->on_stopped_data;
    free(h);
    if (done)
        done(done_data);
}

void http_stop(struct http_server *h, void (*done)(void *), void *data)
{
    h->stopping = true;
    h->on_stopped = done;
    h->on_stopped_data = data;
    closer_begin(&h->closer, http_free, h);
    for (int i = 0; i < h->alive; i++)
        closer_hold(&h->closer); /* released as each connection is freed */
    struct queue *q;
    while ((q = queue_first(&h->conns)) != NULL)
        hconn_close(queue_data(q, struct hconn, node));
    closer_close(&h->closer, (uv_handle_t *)&h->listener);
    closer_end(&h->closer);
}
