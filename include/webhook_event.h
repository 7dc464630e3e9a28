/* The pure pieces of webhook delivery: stream ids, the fields of a
 * stock-events entry, the JSON body and its signature, the group name of a
 * URL and the retry delays. No event loop, no Redis client, no HTTP: the
 * unit tests feed them plain bytes. */
#ifndef STOCKD_WEBHOOK_EVENT_H
#define STOCKD_WEBHOOK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ident.h"

/* A Redis stream id, "<ms>-<seq>". */
struct webhook_id {
    uint64_t ms, seq;
};

/* Room for the text of any id: two 20-digit numbers, '-' and NUL. */
#define WEBHOOK_ID_TEXT 42

/* Parses "<ms>-<seq>" (decimal, no sign, no spaces). Returns false when s
 * is anything else. */
bool webhook_id_parse(struct str s, struct webhook_id *out);
/* <0, 0 or >0 as a is before, equal to or after b in a stream. */
int webhook_id_cmp(struct webhook_id a, struct webhook_id b);
/* Writes the text of id into out (WEBHOOK_ID_TEXT bytes); returns its length. */
size_t webhook_id_format(struct webhook_id id, char *out);

/* The fields of one stock-events entry (see docs/webhooks.md), borrowed
 * from the entry's field/value pairs. */
struct webhook_event {
    struct str type, sku, location, cause, reservation;
    long long available, threshold;
    bool has_prev;          /* prev is not '' */
    struct webhook_id prev; /* the previous entry of (sku, location) */
};

/* Reads the event from n field/value pairs (fv[2i] a field, fv[2i+1] its
 * value; unknown fields are ignored, the first of a repeated field counts).
 * Returns NULL, or a short static text saying what is wrong: a required
 * field missing or empty (type, sku, location, cause), available or
 * threshold not a whole number, text that is not UTF-8 or holds control
 * bytes, prev not '' nor an id. */
const char *webhook_event_parse(const struct str *fv, size_t n, struct webhook_event *out);

/* Appends the JSON body POSTed for the event whose stream id is id:
 * {"id","type","sku","location","available","threshold","cause",
 * "reservation","at"} in that order, at = the id's milliseconds. */
void webhook_body(struct buf *out, struct webhook_id id, const struct webhook_event *ev);

/* The signature header's value, "sha256=" and the lowercase hex of the
 * HMAC-SHA256 of body with the secret: WEBHOOK_SIGNATURE_TEXT bytes with
 * the NUL. */
#define WEBHOOK_SIGNATURE_TEXT (7 + 64 + 1)
void webhook_sign(const void *secret, size_t secret_len, const void *body, size_t n, char *out);

/* The consumer group of a URL on the stream: "webhook:" and the first 16
 * hex digits of the SHA-256 of the URL (WEBHOOK_GROUP_TEXT bytes with the
 * NUL). Every replica configured with the same URL shares it. */
#define WEBHOOK_GROUP_TEXT (8 + 16 + 1)
void webhook_group_name(const char *url, char *out);

/* The longest wait before retry number `failures` (1 after the first
 * failed attempt): start doubled per earlier failure, at most cap. */
uint64_t webhook_backoff_ceiling(unsigned failures, uint64_t start_ms, uint64_t cap_ms);
/* The wait itself, with full jitter: a uniform draw from
 * [0, webhook_backoff_ceiling] made from the random number r (any 64 bits). */
uint64_t webhook_backoff_ms(unsigned failures, uint64_t start_ms, uint64_t cap_ms, uint64_t r);

#endif
