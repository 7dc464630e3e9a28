/* Health, readiness and metrics over HTTP (see http.h). A request is read
 * whole (up to REQUEST_MAX bytes, within REQUEST_TIMEOUT_MS), answered once,
 * and the connection is closed after the answer is written. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 5000
#define MAX_HTTP_CONNS 128

struct hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    struct http_server *srv;
    struct hconn *prev, *next;
    char in[REQUEST_MAX];
    size_t len;
    struct buf out; /* owned: the response */
    bool answered;
    bool closing;
    int open_handles;
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
    bool listener_closed;
    struct hconn *conns;
    int n_conns;     /* in conns: accepted and not closing */
    int alive_conns; /* not yet freed */
    void (*on_stopped)(void *);
    void *on_stopped_data;
};

static void maybe_stopped(struct http_server *h);

static void on_handle_closed(uv_handle_t *handle)
{
    struct hconn *c = handle->data;
    if (--c->open_handles > 0)
        return;
    struct http_server *h = c->srv;
    buf_free(&c->out);
    free(c);
    h->alive_conns--;
    maybe_stopped(h);
}

static void hconn_close(struct hconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct http_server *h = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
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
        if (h->draining)
            respond_text(c, 503, "Service Unavailable", "draining\n");
        else if (!store_is_up(h->store))
            respond_text(c, 503, "Service Unavailable", "redis down\n");
        else
            respond_text(c, 200, "OK", "ready\n");
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
    c->open_handles = 2;
    h->alive_conns++;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
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
    struct sockaddr_storage addr;
    if (uv_ip4_addr(cfg->http_host, cfg->http_port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(cfg->http_host, cfg->http_port, (struct sockaddr_in6 *)&addr) != 0) {
        log_error("--http: '%s' is not an IP address", cfg->http_host);
        free(h);
        return NULL;
    }
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    int rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    if (rc != 0) {
        log_error("cannot serve HTTP on %s:%d: %s", cfg->http_host, cfg->http_port,
                  uv_strerror(rc));
        uv_close((uv_handle_t *)&h->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        free(h);
        return NULL;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &len);
    h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
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

/* The server goes when the listener and every connection have closed
 * (libuv runs close callbacks in no order this code may rely on). */
static void maybe_stopped(struct http_server *h)
{
    if (!h->stopping || !h->listener_closed || h->alive_conns > 0)
        return;
    void (*done)(void *) = h->on_stopped;
    void *data = h->on_stopped_data;
    free(h);
    if (done)
        done(data);
}

static void on_listener_closed(uv_handle_t *handle)
{
    struct http_server *h = handle->data;
    h->listener_closed = true;
    maybe_stopped(h);
}

void http_stop(struct http_server *h, void (*done)(void *), void *data)
{
    h->stopping = true;
    h->on_stopped = done;
    h->on_stopped_data = data;
    while (h->conns != NULL)
        hconn_close(h->conns);
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
