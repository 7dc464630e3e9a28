/* What the webhook test programs share (test_webhook_scripts.c,
 * test_webhook.c, webhook_load.c): events appended to the stock-events
 * stream in its format, the group's pending count, a dead letter's fields,
 * and a stockd that POSTs to a receiver of webhook_receiver.c, with the
 * secret, the URL's group and the signature the tests check it by. Every
 * check fails the running cmocka test. */
#ifndef STOCKD_TEST_WEBHOOK_UTIL_H
#define STOCKD_TEST_WEBHOOK_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"
#include "webhook_receiver.h"

#define STREAM "{inv}:stock-events"
#define DEAD "{inv}:stock-events:dead"
#define SECRET "t0p-s3cret, with spaces"
/* The longest any wait of these tests lasts before it fails. */
#define WAIT_MS 20000

/* XADD of one event in the stream's format (explicit_id NULL: "*"); its
 * id into id (64 bytes). */
void xadd(const char *explicit_id, const char *type, const char *sku, const char *loc,
          long long available, long long threshold, const char *cause, const char *reservation,
          const char *prev, char *id);
/* The entries pending in group (XPENDING's count); -1 without the group. */
long long pending(const char *group);
/* Waits until group has nothing pending; fails after WAIT_MS. */
void wait_nothing_pending(const char *group);
/* The value of field f of a flat field/value reply, or NULL. */
const char *field(const redisReply *fv, const char *f);

/* The URL the last start_stockd gave its stockd (the receiver's). */
extern char webhook_url[128];
/* The file holding SECRET, written on first use. */
const char *secret_file(void);
/* Starts a stockd that POSTs to the receiver, with extra flags
 * (NULL-terminated, may be NULL); returns its index in H.stockd. */
int start_stockd(const struct receiver *rc, const char *const *extra, bool no_wait);
/* Stops stockd i with SIGTERM; fails unless it exits with status 0. */
void stop_stockd(int i);
/* stop_stockd(i), then receiver_stop(rc): the end of a test. */
void stop_stockd_and_receiver(int i, struct receiver *rc);
/* The URL's consumer group: "webhook:" and 16 hex digits of its SHA-256
 * (out: 32 bytes). */
void group_of(const char *u, char *out);
/* Waits until the consumer group exists; fails after WAIT_MS. */
void wait_group(const char *group);
/* start_stockd (waiting for it to be ready), then the URL's consumer
 * group: its name into group (32 bytes), once it exists. Returns the
 * stockd's index in H.stockd. */
int start_stockd_group(const struct receiver *rc, const char *const *extra, char *group);
/* Waits until the receiver has n requests; fails after WAIT_MS. */
void wait_received(struct receiver *rc, size_t n);
/* The lowercase hex HMAC-SHA256 of body with SECRET (out: 65 bytes). */
void hmac_hex(const char *body, size_t n, char *out);
/* One sample of stockd i's /metrics ("name{labels}"); -1 if absent. */
double metric(int i, const char *series);

#endif
