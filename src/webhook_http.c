/* HTTP out through libcurl's multi interface on the libuv loop (see
 * webhook_http.h): the standard socket-action integration.
 *
 *   curl: "watch fd for IN/OUT" --on_socket--> uv_poll_start (a struct sock per fd)
 *   curl: "call me in t ms"     --on_timer---> uv_timer_start
 *   fd ready / timer fired --> curl_multi_socket_action --> finished transfers
 *                                                           --> fn(data, result)
 *
 * Finished transfers are collected first and answered after curl returns,
 * so a callback may start a new POST (curl must not be re-entered from its
 * own callbacks). */
#include "webhook_http.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "closer.h"
#include "queue.h"

/* Finished easy handles kept for reuse: a new one costs allocations
 * (buffers included) on every POST. */
#define SPARE_EASY 64

struct sock {
    uv_poll_t poll; /* its memory is freed in its close callback */
    curl_socket_t fd;
    int events; /* watched now */
    struct webhook_http *h;
    struct queue node; /* in h->socks until it closes */
};

struct webhook_http_request {
    CURL *easy;                 /* owned */
    struct curl_slist *headers; /* owned */
    struct queue node;          /* in h->requests */
    webhook_http_fn fn;
    void *data;
};

struct webhook_http {
    uv_loop_t *loop;
    CURLM *multi; /* owned */
    uv_timer_t timer;
    struct queue socks;      /* watched sockets */
    struct queue requests;   /* in flight */
    char *user_agent;        /* owned */
    CURL *spare[SPARE_EASY]; /* owned: finished handles, reset for the next POST */
    int n_spare;
    bool closing;
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
};

int webhook_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void webhook_http_global_cleanup(void)
{
    curl_global_cleanup();
}

/* --- finished transfers ----------------------------------------------------- */

static void easy_put(struct webhook_http *h, CURL *e)
{
    if (h->n_spare < SPARE_EASY && !h->closing)
        h->spare[h->n_spare++] = e;
    else
        curl_easy_cleanup(e);
}

static CURL *easy_get(struct webhook_http *h)
{
    if (h->n_spare == 0)
        return curl_easy_init();
    CURL *e = h->spare[--h->n_spare];
    curl_easy_reset(e); /* options only: connections stay in the multi's cache */
    return e;
}

static void request_free(struct webhook_http *h, struct webhook_http_request *r)
{
    curl_multi_remove_handle(h->multi, r->easy);
    easy_put(h, r->easy);
    curl_slist_free_all(r->headers);
    queue_remove(&r->node);
    free(r);
}

/* Answers every transfer curl has finished, one at a time and after curl
 * is done with its message: a callback may start new POSTs. */
static void check_done(struct webhook_http *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        void *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct webhook_http_request *r = priv;
        struct webhook_http_result res = {0, (int)msg->data.result, "",
                                          msg->data.result == CURLE_OPERATION_TIMEDOUT};
        if (msg->data.result != CURLE_OK)
            res.error_text = curl_easy_strerror(msg->data.result);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &res.status);
        webhook_http_fn fn = r->fn;
        void *data = r->data;
        request_free(h, r);
        fn(data, &res);
        if (h->closing)
            return; /* closed from the callback: the multi is gone */
    }
}

/* --- curl's requests of the loop ------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock *s = p->data;
    struct webhook_http *h = s->h;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_done(h);
}

static void on_timeout(uv_timer_t *t)
{
    struct webhook_http *h = t->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static void on_sock_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static void sock_close(struct sock *s)
{
    queue_remove(&s->node);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct webhook_http *h = userp;
    struct sock *s = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            if (!h->closing)
                curl_multi_assign(h->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = xcalloc(1, sizeof *s);
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->h = h;
        s->poll.data = s;
        queue_insert_tail(&h->socks, &s->node);
        curl_multi_assign(h->multi, fd, s);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (events != s->events || !uv_is_active((uv_handle_t *)&s->poll)) {
        /* A poll error stops the handle: start it again even when unchanged. */
        s->events = events;
        uv_poll_start(&s->poll, events, on_poll);
    }
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct webhook_http *h = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else /* 0: as soon as the loop comes round, never from inside curl */
        uv_timer_start(&h->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* --- requests ------------------------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *data)
{
    (void)p;
    (void)data;
    return size * n; /* the answer's body is not read: its status is the answer */
}

struct webhook_http *webhook_http_new(uv_loop_t *loop, const char *user_agent)
{
    CURLM *multi = curl_multi_init();
    if (multi == NULL)
        return NULL;
    struct webhook_http *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->multi = multi;
    size_t n = strlen(user_agent) + 1;
    h->user_agent = xmalloc(n);
    memcpy(h->user_agent, user_agent, n);
    queue_init(&h->socks);
    queue_init(&h->requests);
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, h);
    return h;
}

struct webhook_http_request *webhook_http_post(struct webhook_http *h, const char *url,
                                               const char *const *headers, size_t n_headers,
                                               const char *body, size_t n, long timeout_ms,
                                               webhook_http_fn fn, void *data)
{
    assert(!h->closing);
    CURL *e = easy_get(h);
    if (e == NULL)
        return NULL;
    struct webhook_http_request *r = xcalloc(1, sizeof *r);
    r->easy = e;
    r->fn = fn;
    r->data = data;
    bool ok = true;
    for (size_t i = 0; i < n_headers && ok; i++) {
        struct curl_slist *l = curl_slist_append(r->headers, headers[i]);
        ok = l != NULL;
        if (ok)
            r->headers = l;
    }
    /* Without this, curl waits for a 100 Continue on larger bodies. */
    struct curl_slist *l = ok ? curl_slist_append(r->headers, "Expect:") : NULL;
    if (l != NULL)
        r->headers = l;
    ok = ok && l != NULL && curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK;
    queue_init(&r->node);
    if (!ok || curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        easy_put(h, e);
        curl_slist_free_all(r->headers);
        free(r);
        return NULL;
    }
    queue_insert_tail(&h->requests, &r->node);
    return r;
}

void webhook_http_cancel(struct webhook_http *h, struct webhook_http_request *r)
{
    request_free(h, r);
}

/* --- closing ---------------------------------------------------------------- */

static void http_free(void *data)
{
    struct webhook_http *h = data;
    void (*done)(void *) = h->on_closed;
    void *done_data = h->on_closed_data;
    free(h->user_agent);
    free(h);
    done(done_data);
}

void webhook_http_close(struct webhook_http *h, void (*done)(void *), void *data)
{
    h->closing = true;
    h->on_closed = done;
    h->on_closed_data = data;
    struct queue *q;
    while ((q = queue_first(&h->requests)) != NULL)
        request_free(h, queue_data(q, struct webhook_http_request, node));
    while (h->n_spare > 0)
        curl_easy_cleanup(h->spare[--h->n_spare]);
    /* Closes the connections curl keeps for reuse; it may tell on_socket. */
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    closer_begin(&h->closer, http_free, h);
    /* Sockets curl did not let go of: each frees itself once closed. */
    while ((q = queue_first(&h->socks)) != NULL)
        sock_close(queue_data(q, struct sock, node));
    closer_close(&h->closer, (uv_handle_t *)&h->timer);
    closer_end(&h->closer);
}
