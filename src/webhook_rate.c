/* The token bucket of --webhook-max-rate (see webhook_rate.h). */
#include "webhook_rate.h"

#include <assert.h>

#define MILLI 1000u

uint64_t webhook_rate_burst(uint64_t per_s)
{
    return per_s / 10 > 1 ? per_s / 10 : 1;
}

void webhook_rate_init(struct webhook_rate *r, uint64_t per_s, uint64_t now_ms)
{
    assert(per_s <= WEBHOOK_RATE_MAX);
    r->per_s = per_s;
    r->burst = webhook_rate_burst(per_s);
    r->milli = r->burst * MILLI;
    r->at_ms = now_ms;
}

/* The thousandths held at now_ms: those held at at_ms plus per_s for each
 * ms since, up to the bucket's size. A clock read before at_ms adds none. */
static uint64_t held_at(const struct webhook_rate *r, uint64_t now_ms)
{
    uint64_t cap = r->burst * MILLI;
    if (now_ms <= r->at_ms || r->milli >= cap)
        return r->milli < cap ? r->milli : cap;
    uint64_t elapsed = now_ms - r->at_ms;
    /* The ms that fill the bucket, checked first: a long silence times the
     * rate could overflow. */
    if (elapsed >= (cap - r->milli) / r->per_s + 1)
        return cap;
    uint64_t m = r->milli + elapsed * r->per_s;
    return m < cap ? m : cap;
}

bool webhook_rate_take(struct webhook_rate *r, uint64_t now_ms)
{
    if (r->per_s == 0)
        return true;
    r->milli = held_at(r, now_ms);
    if (now_ms > r->at_ms)
        r->at_ms = now_ms;
    if (r->milli < MILLI)
        return false;
    r->milli -= MILLI;
    return true;
}

uint64_t webhook_rate_next_ms(const struct webhook_rate *r, uint64_t now_ms)
{
    if (r->per_s == 0)
        return now_ms;
    uint64_t held = held_at(r, now_ms);
    if (held >= MILLI)
        return now_ms;
    /* From the later of at_ms and now_ms (held counts up to it), the whole
     * ms that bring the missing thousandths, rounded up. */
    uint64_t from = now_ms > r->at_ms ? now_ms : r->at_ms;
    return from + (MILLI - held + r->per_s - 1) / r->per_s;
}

uint64_t webhook_rate_wake_ms(const struct webhook_rate *r, uint64_t now_ms)
{
    uint64_t next = webhook_rate_next_ms(r, now_ms);
    return next > now_ms + WEBHOOK_RATE_WAKE_MS ? next : now_ms + WEBHOOK_RATE_WAKE_MS;
}
