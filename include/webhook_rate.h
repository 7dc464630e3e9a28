/* The cap on the POSTs one replica starts per second over all its webhook
 * URLs (--webhook-max-rate): a token bucket that holds at most a tenth of a
 * second's tokens (at least one) and starts full. Delivery shares the event
 * loop with the reservations; the cap bounds the CPU a burst of events can
 * take from them (docs/webhooks.md). Pure: the caller passes the time, in
 * ms of a clock that never goes back, and arms its own timer. */
#ifndef STOCKD_WEBHOOK_RATE_H
#define STOCKD_WEBHOOK_RATE_H

#include <stdbool.h>
#include <stdint.h>

/* The most --webhook-max-rate allows. */
#define WEBHOOK_RATE_MAX 1000000

struct webhook_rate {
    uint64_t per_s; /* tokens added per second; 0: no limit */
    uint64_t burst; /* the most tokens held */
    /* Tokens held, in thousandths: a ms adds per_s of them exactly, so no
     * rate loses a fraction to rounding (a full bucket drops what
     * overflows it, as any token bucket does). */
    uint64_t milli;
    uint64_t at_ms; /* when milli was last brought up to date */
};

/* The bucket's size for a rate: a tenth of a second's tokens, at least 1. */
uint64_t webhook_rate_burst(uint64_t per_s);
/* A full bucket for per_s tokens a second (0: no limit; at most
 * WEBHOOK_RATE_MAX) at time now_ms. */
void webhook_rate_init(struct webhook_rate *r, uint64_t per_s, uint64_t now_ms);
/* Takes a token at now_ms: true when there was one (always without a
 * limit), false when the caller must wait for webhook_rate_next_ms. */
bool webhook_rate_take(struct webhook_rate *r, uint64_t now_ms);
/* The earliest time, not before now_ms, at which a token can be taken. */
uint64_t webhook_rate_next_ms(const struct webhook_rate *r, uint64_t now_ms);

/* The least a taker out of tokens waits before it comes back. */
#define WEBHOOK_RATE_WAKE_MS 10
/* When a taker out of tokens at now_ms comes back: at the next token, but
 * no sooner than WEBHOOK_RATE_WAKE_MS, so that at high rates one wake-up
 * starts several POSTs (a wake-up per token cost twice the CPU per event,
 * in stockd and in Redis, at 1000/s). The wait costs no tokens: what it
 * gathers, at most a token plus a hundredth of the rate, fits the bucket. */
uint64_t webhook_rate_wake_ms(const struct webhook_rate *r, uint64_t now_ms);

#endif
