/* A small HTTP/1.1 responder on a libuv loop for the probes every program
 * of the project serves: GET /healthz, /readyz and /metrics. It accepts,
 * reads one request head (at most RESPONDER_REQUEST_MAX bytes, within
 * RESPONDER_TIMEOUT_MS), answers malformed and overlong requests 400,
 * methods other than GET 405, hands the three paths to the program's
 * routes (stockd's src/http.c, stockd-export's tools/stockd-export/http.c)
 * and any other path to its `other` route (stockd's status page), 404 when
 * there is none, and closes each connection once its answer is written. An
 * answer may come later than the route's return (responder_defer): the
 * status page's data comes from Redis. */
#ifndef STOCKD_RESPONDER_H
#define STOCKD_RESPONDER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "buf.h"

#define RESPONDER_REQUEST_MAX 8192
#define RESPONDER_TIMEOUT_MS 5000
/* The longest request target (path and query) served; longer is 414. */
#define RESPONDER_TARGET_MAX 2048

struct responder;
/* One request being answered; valid until it is answered. */
struct responder_conn;

/* A GET for a path other than the three probes, as read. */
struct responder_get {
    const char *path;          /* the path, without the query, as sent (not decoded) */
    const char *query;         /* what followed '?', "" when nothing did */
    const char *authorization; /* the Authorization header's value, NULL when absent */
};

/* What a program answers on the paths the responder serves; data is
 * responder_start's. */
struct responder_routes {
    /* GET /healthz and GET /readyz: answer c through responder_answer or
     * responder_answer_text, exactly once, before returning (a route that
     * does not is a bug, answered 500). */
    void (*health)(struct responder_conn *c, void *data);
    void (*readiness)(struct responder_conn *c, void *data);
    /* GET /metrics: appends the Prometheus text exposition (prom.h) to out,
     * which is answered 200. rss_bytes is the process's resident memory,
     * -1 when unknown. */
    void (*metrics)(struct buf *out, long long rss_bytes, void *data);
    /* Any other GET (NULL: 404 for all): answer c before returning, or
     * call responder_defer and answer it later. Returns false when the
     * path is none of the program's (answered 404). */
    bool (*other)(struct responder_conn *c, const struct responder_get *get, void *data);
};

/* Binds host:port and listens (what names the flag in messages, e.g.
 * "--http"); at most max_conns connections are open at once, more are
 * closed as they come. routes and data are borrowed: routes must outlive
 * the responder, data is not used once responder_stop has returned.
 * Returns NULL with the reason logged. */
struct responder *responder_start(uv_loop_t *loop, const char *what, const char *host, int port,
                                  int max_conns, const struct responder_routes *routes, void *data);
/* The port bound (the one chosen when port 0 was asked). */
int responder_port(const struct responder *r);
/* Closes the listener and every open connection; done(data) runs once all
 * are closed, after r is freed (done may be NULL). No route runs after
 * this call. */
void responder_stop(struct responder *r, void (*done)(void *), void *data);

/* Answers c: status and reason ("200", "OK"), Content-Type type, the body
 * (copied), then "Connection: close". A second answer is ignored. */
void responder_answer(struct responder_conn *c, int status, const char *reason, const char *type,
                      const char *body, size_t body_len);
/* responder_answer with more header lines (each "Name: value\r\n"; at most
 * 768 bytes in all). */
void responder_answer_headers(struct responder_conn *c, int status, const char *reason,
                              const char *type, const char *headers, const char *body,
                              size_t body_len);
/* The route answers c later. Until it does, c stays valid unless the
 * connection closes first (the client went away, RESPONDER_TIMEOUT_MS from
 * its accept passed, or responder_stop): then cancel(arg) runs, once, and c
 * must not be used again. */
void responder_defer(struct responder_conn *c, void (*cancel)(void *), void *arg);
/* The same with a text/plain; charset=utf-8 body, NUL-terminated. */
void responder_answer_text(struct responder_conn *c, int status, const char *reason,
                           const char *text);

#endif
