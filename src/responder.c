/* The HTTP responder (see responder.h). A request is read whole, answered
 * once, and the connection is closed after the answer is written; the
 * timer bounds how long a client may take to send its request. */
#include "responder.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "closer.h"
#include "listener.h"
#include "log.h"
#include "queue.h"

#define LISTEN_BACKLOG 128

/* What runs once a stopped responder is freed. */
struct responder_done {
    void (*fn)(void *);
    void *data;
};

struct responder_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    struct responder *r;
    struct queue node; /* in r->conns until it starts closing */
    char in[RESPONDER_REQUEST_MAX];
    size_t len;
    struct buf out;         /* owned: the response */
    void (*cancel)(void *); /* a deferred answer's (responder_defer); NULL when none */
    void *cancel_arg;
    bool answered;
    bool closing;
    struct closer closer;
};

struct responder {
    uv_loop_t *loop;
    const struct responder_routes *routes; /* borrowed */
    void *route_data;                      /* borrowed */
    uv_tcp_t listener;
    int port;
    int max_conns;
    bool stopping;
    struct queue conns; /* accepted and not closing */
    int n_conns;
    int alive;            /* accepted and not yet freed */
    struct closer closer; /* while stopping: the listener and every connection */
    struct responder_done on_stopped;
};

static void conn_free(void *data)
{
    struct responder_conn *c = data;
    struct responder *r = c->r;
    buf_free(&c->out);
    free(c);
    r->alive--;
    if (r->stopping)
        closer_release(&r->closer); /* held in responder_stop */
}

static void conn_close(struct responder_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->cancel != NULL && !c->answered) {
        void (*cancel)(void *) = c->cancel;
        c->cancel = NULL;
        cancel(c->cancel_arg);
    }
    queue_remove(&c->node);
    c->r->n_conns--;
    closer_begin(&c->closer, conn_free, c);
    closer_close(&c->closer, (uv_handle_t *)&c->tcp);
    closer_close(&c->closer, (uv_handle_t *)&c->timer);
    closer_end(&c->closer);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

static void answer(struct responder_conn *c, int status, const char *reason, const char *type,
                   const char *body, size_t body_len, const char *extra_header)
{
    if (c->answered)
        return;
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len, extra_header ? extra_header : "");
    if (n < 0 || (size_t)n >= sizeof head) { /* headers too long: a bug of the route */
        log_error("http: an answer's headers do not fit");
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
        body_len = 0;
    }
    buf_append(&c->out, head, (size_t)n);
    buf_append(&c->out, body, body_len);
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

void responder_answer(struct responder_conn *c, int status, const char *reason, const char *type,
                      const char *body, size_t body_len)
{
    answer(c, status, reason, type, body, body_len, NULL);
}

void responder_answer_headers(struct responder_conn *c, int status, const char *reason,
                              const char *type, const char *headers, const char *body,
                              size_t body_len)
{
    answer(c, status, reason, type, body, body_len, headers);
}

void responder_defer(struct responder_conn *c, void (*cancel)(void *), void *arg)
{
    c->cancel = cancel;
    c->cancel_arg = arg;
}

void responder_answer_text(struct responder_conn *c, int status, const char *reason,
                           const char *text)
{
    answer(c, status, reason, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

static void answer_metrics(struct responder_conn *c)
{
    size_t rss;
    struct buf body;
    buf_init(&body);
    c->r->routes->metrics(&body, uv_resident_set_memory(&rss) == 0 ? (long long)rss : -1,
                          c->r->route_data);
    answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body.data, body.len, NULL);
    buf_free(&body);
}

static void answer_route(struct responder_conn *c, void (*route)(struct responder_conn *, void *),
                         const char *path)
{
    route(c, c->r->route_data);
    if (!c->answered) {
        log_error("http: no answer to GET %s", path);
        responder_answer_text(c, 500, "Internal Server Error", "No answer.\n");
    }
}

/* The value of header name (lower case, with its ':') in the head's lines
 * after the request line, NUL-terminated in place; NULL when absent. */
static const char *header_value(char *lines, const char *name)
{
    size_t n = strlen(name);
    for (char *line = lines; line != NULL && *line != '\0';) {
        char *eol = strchr(line, '\n');
        if (eol != NULL)
            *eol = '\0';
        if (strncasecmp(line, name, n) == 0) {
            char *v = line + n, *end = v + strlen(v);
            while (*v == ' ' || *v == '\t')
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            return v;
        }
        line = eol != NULL ? eol + 1 : NULL;
    }
    return NULL;
}

/* Answers a complete request head: "METHOD SP PATH SP HTTP/1.x", header
 * lines, an empty line. */
static void handle(struct responder_conn *c)
{
    char method[16], path[RESPONDER_TARGET_MAX + 1], version[16];
    char *eol = memchr(c->in, '\n', c->len);
    *eol = '\0';
    c->in[c->len < sizeof c->in ? c->len : sizeof c->in - 1] = '\0';
    size_t target = strcspn(c->in + strcspn(c->in, " ") + 1, " ");
    if (target > RESPONDER_TARGET_MAX) {
        responder_answer_text(c, 414, "URI Too Long", "Request target too long.\n");
        return;
    }
    if (sscanf(c->in, "%15s %2048s %15s", method, path, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0 || path[0] != '/') {
        responder_answer_text(c, 400, "Bad Request", "Malformed request.\n");
        return;
    }
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    if (strcmp(method, "GET") != 0) {
        answer(c, 405, "Method Not Allowed", "text/plain; charset=utf-8", "GET only.\n", 10,
               "Allow: GET\r\n");
        return;
    }
    const struct responder_routes *routes = c->r->routes;
    if (strcmp(path, "/healthz") == 0) {
        answer_route(c, routes->health, path);
    } else if (strcmp(path, "/readyz") == 0) {
        answer_route(c, routes->readiness, path);
    } else if (strcmp(path, "/metrics") == 0) {
        answer_metrics(c);
    } else {
        struct responder_get get = {path, query != NULL ? query : "",
                                    header_value(eol + 1, "authorization:")};
        if (routes->other == NULL || !routes->other(c, &get, c->r->route_data))
            responder_answer_text(c, 404, "Not Found",
                                  "Not found. Try /healthz, /readyz or /metrics.\n");
        else if (!c->answered && c->cancel == NULL) {
            log_error("http: no answer to GET %s", path);
            responder_answer_text(c, 500, "Internal Server Error", "No answer.\n");
        }
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
    struct responder_conn *c = handle->data;
    (void)suggested;
    *b = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct responder_conn *c = s->data;
    (void)b;
    if (n < 0) {
        conn_close(c);
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
        responder_answer_text(c, 400, "Bad Request", "Request too large.\n");
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct responder *r = l->data;
    if (status < 0 || r->stopping)
        return;
    struct responder_conn *c = xcalloc(1, sizeof *c);
    c->r = r;
    uv_tcp_init(r->loop, &c->tcp);
    uv_timer_init(r->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    queue_insert_tail(&r->conns, &c->node);
    r->n_conns++;
    r->alive++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || r->n_conns > r->max_conns) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, RESPONDER_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

struct responder *responder_start(uv_loop_t *loop, const char *what, const char *host, int port,
                                  int max_conns, const struct responder_routes *routes, void *data)
{
    struct responder *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->routes = routes;
    r->route_data = data;
    r->max_conns = max_conns;
    queue_init(&r->conns);
    r->port = listener_open(loop, &r->listener, what, host, port, LISTEN_BACKLOG, on_connection, r);
    if (r->port < 0) {
        uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before freeing */
        free(r);
        return NULL;
    }
    return r;
}

int responder_port(const struct responder *r)
{
    return r->port;
}

static void responder_free(void *data)
{
    struct responder *r = data;
    struct responder_done done = r->on_stopped;
    free(r);
    if (done.fn != NULL)
        done.fn(done.data);
}

void responder_stop(struct responder *r, void (*done)(void *), void *data)
{
    r->stopping = true;
    r->on_stopped = (struct responder_done){done, data};
    closer_begin(&r->closer, responder_free, r);
    for (int i = 0; i < r->alive; i++)
        closer_hold(&r->closer); /* released as each connection is freed */
    struct queue *q;
    while ((q = queue_first(&r->conns)) != NULL)
        conn_close(queue_data(q, struct responder_conn, node));
    closer_close(&r->closer, (uv_handle_t *)&r->listener);
    closer_end(&r->closer);
}
