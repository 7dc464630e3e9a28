/* A real HTTP receiver for the webhook tests: a small HTTP/1.1 server on a
 * thread of the test program, on a free port of 127.0.0.1. It keeps
 * connections alive as a client asks, records every request whole (method,
 * path, the headers stockd sets, the body, when it came), and answers each
 * with the next status of its script, then with its default: a status, or
 * RECEIVER_HOLD, which never answers and keeps the connection open (a
 * receiver that hangs). */
#ifndef STOCKD_TEST_WEBHOOK_RECEIVER_H
#define STOCKD_TEST_WEBHOOK_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>

/* An "answer" that never comes. */
#define RECEIVER_HOLD 0

struct received {
    char method[16];
    char path[256];
    char content_type[128];
    char event_id[64];
    char signature[128];
    char *body; /* malloc'd, NUL-terminated; freed by received_free */
    size_t body_len;
    int status;      /* what it was answered (RECEIVER_HOLD: nothing) */
    long long at_ms; /* harness_now_ms() when it was read whole */
};

struct receiver;

/* Starts one; fails the test program when it cannot. */
struct receiver *receiver_start(void);
int receiver_port(const struct receiver *r);
/* Answers the next n requests with statuses[0..n) (appended to what the
 * script still holds), the rest with the default. */
void receiver_script(struct receiver *r, const int *statuses, size_t n);
void receiver_default(struct receiver *r, int status);
/* Answers every 'every'th request (1-based count of requests) with status
 * instead (0: off); the script goes first. */
void receiver_every(struct receiver *r, int every, int status);
/* Requests recorded so far. */
size_t receiver_count(struct receiver *r);
/* Waits until at least n are recorded; false after timeout_ms. */
bool receiver_wait(struct receiver *r, size_t n, int timeout_ms);
/* A copy of request i (i < receiver_count); free with received_free. */
struct received receiver_get(struct receiver *r, size_t i);
void received_free(struct received *x);
/* Closes every held connection (as a receiver that gives up would). */
void receiver_release(struct receiver *r);
/* Stops the thread, closes everything, frees the records. */
void receiver_stop(struct receiver *r);

#endif
