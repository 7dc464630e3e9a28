/* HTTP out, for webhooks: libcurl's multi interface driven by the libuv
 * loop. curl says which sockets it wants watched (one uv_poll_t each) and
 * when it wants a timeout (one uv_timer_t); every readiness and timeout goes
 * back to curl_multi_socket_action, and finished transfers end with their
 * callback. No thread, no blocking call: the loop that answers clients also
 * runs the POSTs, and a slow receiver only holds its own sockets. */
#ifndef STOCKD_WEBHOOK_HTTP_H
#define STOCKD_WEBHOOK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

/* How one POST ended. */
struct webhook_http_result {
    long status;            /* the HTTP status of the answer; 0 when none came */
    int error;              /* 0, or the CURLcode of a transfer that failed */
    const char *error_text; /* curl's short text for error (static), or "" */
    bool timed_out;         /* no whole answer within the timeout */
};

typedef void (*webhook_http_fn)(void *data, const struct webhook_http_result *res);

struct webhook_http;
struct webhook_http_request;

/* libcurl's process-wide set-up and tear-down (TLS libraries included):
 * once at start-up before any thread, and once at exit. Returns 0 or -1. */
int webhook_http_global_init(void);
void webhook_http_global_cleanup(void);

/* A client on loop; NULL when libcurl cannot make one. Free with
 * webhook_http_close. user_agent is copied. */
struct webhook_http *webhook_http_new(uv_loop_t *loop, const char *user_agent);

/* Starts a POST of body[0..n) to url with the given header lines
 * ("Name: value"), given up after timeout_ms. body must stay valid until
 * fn runs or the request is cancelled; url and headers are copied. Returns
 * the request (fn runs exactly once, never from inside this call), or NULL
 * when curl refused it (fn is not called). */
struct webhook_http_request *webhook_http_post(struct webhook_http *h, const char *url,
                                               const char *const *headers, size_t n_headers,
                                               const char *body, size_t n, long timeout_ms,
                                               webhook_http_fn fn, void *data);
/* Abandons a request in flight: its connection is closed and fn is never
 * called. */
void webhook_http_cancel(struct webhook_http *h, struct webhook_http_request *r);

/* Abandons every request in flight (their fn is not called), closes the
 * connections, the handles, then done(data) and frees the client. */
void webhook_http_close(struct webhook_http *h, void (*done)(void *), void *data);

#endif
