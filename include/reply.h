/* Reading a script's reply. Every script answers a flat array whose first
 * element is a status of its contract (contract.h); what follows depends on
 * the status. The reader never trusts the shape: an element of the wrong
 * type, or past the end, reads as 0 or "" and marks the reply bad, and the
 * request layer answers a bad reply -32603 (never a hang, never a guess).
 * Replies are hiredis's; they are valid only during the callback that got
 * them, and so is every str read from them. */
#ifndef STOCKD_REPLY_H
#define STOCKD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "ident.h"
#include "result.h"

struct reply {
    const redisReply *r;
    bool bad; /* sticky: some read did not find what it expected */
};

/* Wraps a script's reply: it must be a non-empty array whose first element
 * is an integer in [0, n_status); anything else marks it bad. */
void reply_script(struct reply *rd, const redisReply *r, int n_status);
/* Wraps a plain command's reply (no status). */
void reply_plain(struct reply *rd, const redisReply *r);

/* The status (element 0); -1 when the reply is bad. */
int reply_status(const struct reply *rd);
/* Number of elements of the array (0 for anything else). */
size_t reply_count(const struct reply *rd);
long long reply_int(struct reply *rd, size_t i);
struct str reply_str(struct reply *rd, size_t i);
/* Element i as a validated identifier; bad when it is not one. */
struct ident reply_ident(struct reply *rd, size_t i);
/* Element i, text of a whole number in [min, max]; bad otherwise. */
long long reply_int_text(struct reply *rd, size_t i, long long min, long long max);
/* Element i, text of a JSON number, or "" (n == 0); bad otherwise. */
struct str reply_number(struct reply *rd, size_t i);
/* Element i, an identifier, or "" (n == 0); bad otherwise. */
struct str reply_opt_ident(struct reply *rd, size_t i);
/* A location record from element `at` on: lat, lng, zone, priority, tags
 * (all text, "" for none). location is not read. */
void reply_location(struct reply *rd, size_t at, struct location_rec *out);
/* Requires exactly n elements (bad otherwise). */
void reply_expect(struct reply *rd, size_t n);

/* The reservation that common.lua's reservation_reply writes from element
 * `at` on: id, status, order_id, created_at, expires_at, reason, flags, s,
 * (sku, requested, allocated) per shortage (s of them), then (sku,
 * location, quantity, backordered) per allocation up to the end. The
 * arrays go into *scratch (grown as needed; owned by the caller). */
void reply_reservation(struct reply *rd, size_t at, struct reservation *out,
                       struct reservation_scratch *scratch);

#endif
