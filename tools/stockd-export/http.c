/* stockd-export's HTTP responder (see http.h). The connection handling is
 * stockd's (src/http.c): a request is read whole (up to REQUEST_MAX bytes,
 * within REQUEST_TIMEOUT_MS), answered once, and closed after the answer
 * is written; only the routes differ. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "closer.h"
#include "listener.h"
#include "log.h"
#include "queue.h"

#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 5000
#define MAX_HTTP_CONNS 64

struct hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    struct export_http *srv;
    struct queue node; /* in srv->conns until it starts closing */
    char in[REQUEST_MAX];
    size_t len;
    struct buf out; /* owned: the response */
    bool answered;
    bool closing;
    struct closer closer;
};

struct export_http {
    uv_loop_t *loop;
    struct export_stats *stats; /* borrowed */
    uv_tcp_t listener;
    int port;
    bool stopping;
    struct queue conns; /* accepted and not closing */
    int n_conns;
    int alive;            /* accepted and not yet freed */
    struct closer closer; /* while stopping: the listener and every connection */
    void (*on_stopped)(void *);
    void *on_stopped_data;
};

static void hconn_free(void *data)
{
    struct hconn *c = data;
    struct export_http *h = c->srv;
    buf_free(&c->out);
    free(c);
    h->alive--;
    if (h->stopping)
        closer_release(&h->closer); /* held in export_http_stop */
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

static void answer_ready(struct hconn *c, const struct export_counters *s)
{
    char body[256] = "";
    if (!s->redis_up)
        strcat(body, "redis down\n");
    if (!s->postgresql_up)
        strcat(body, "postgresql down\n");
    if (s->redis_up && !s->group_ready)
        strcat(body, "consumer group not ready\n");
    if (body[0])
        respond_text(c, 503, "Service Unavailable", body);
    else
        respond_text(c, 200, "OK", "ready\n");
}

/* Answers a complete request head: "METHOD SP PATH SP HTTP/1.x". */
static void handle(struct hconn *c)
{
    struct export_http *h = c->srv;
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
    struct export_counters s = export_stats_read(h->stats);
    if (strcmp(path, "/healthz") == 0) {
        if (export_mono_ms() - s.heartbeat_ms > EXPORT_STALL_MS)
            respond_text(c, 503, "Service Unavailable", "export loop stalled\n");
        else
            respond_text(c, 200, "OK", "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        answer_ready(c, &s);
    } else if (strcmp(path, "/metrics") == 0) {
        struct buf body;
        buf_init(&body);
        export_stats_render(&s, h->stats->started_unix_ms, rss_bytes(), &body);
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
        complete =
            c->in[i] == '\n' && (c->in[i + 1] == '\n' ||
                                 (c->in[i + 1] == '\r' && i + 2 < c->len && c->in[i + 2] == '\n'));
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
    struct export_http *h = l->data;
    if (status < 0 || h->stopping)
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

struct export_http *export_http_start(uv_loop_t *loop, const char *host, int port,
                                      struct export_stats *stats)
{
    struct export_http *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->stats = stats;
    queue_init(&h->conns);
    h->port = listener_open(loop, &h->listener, "--http", host, port, 128, on_connection, h);
    if (h->port < 0) {
        uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before freeing */
        free(h);
        return NULL;
    }
    return h;
}

int export_http_port(const struct export_http *h)
{
    return h->port;
}

static void http_free(void *data)
{
    struct export_http *h = data;
    void (*done)(void *) = h->on_stopped;
    void *done_data = h->on_stopped_data;
    free(h);
    if (done)
        done(done_data);
}

void export_http_stop(struct export_http *h, void (*done)(void *), void *data)
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
