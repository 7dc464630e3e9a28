/* Unit tests of the token bucket of --webhook-max-rate (webhook_rate.h):
 * the bucket's size per rate, scripted takes and waits, the count a greedy
 * taker gets over a span (the burst plus the rate times the span, without
 * drift for rates that do not divide a second), that the time
 * webhook_rate_next_ms names is the first a take succeeds, the cap after a
 * long silence, a clock read out of order, and the wake-ups of a taker
 * out of tokens (no sooner than WEBHOOK_RATE_WAKE_MS, at no loss). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "webhook_rate.h"

/* ---- the bucket's size ---- */

static const struct {
    uint64_t per_s, burst;
} burst_cases[] = {
    {0, 1},
    {1, 1},
    {9, 1},
    {10, 1},
    {19, 1},
    {20, 2},
    {50, 5},
    {999, 99},
    {1000, 100},
    {12345, 1234},
    {WEBHOOK_RATE_MAX, 100000},
};

static void test_burst(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof burst_cases / sizeof burst_cases[0]; i++) {
        uint64_t b = webhook_rate_burst(burst_cases[i].per_s);
        if (b != burst_cases[i].burst)
            fail_msg("rate %llu: burst %llu, expected %llu",
                     (unsigned long long)burst_cases[i].per_s, (unsigned long long)b,
                     (unsigned long long)burst_cases[i].burst);
    }
}

/* ---- scripts: a take or a question at a time, with the answer due ---- */

enum op { TAKE, NO_TAKE, NEXT };

struct step {
    enum op op;
    uint64_t at;   /* ms */
    uint64_t want; /* NEXT: the time webhook_rate_next_ms names */
    int times;     /* TAKE, NO_TAKE: how many in a row (0: one) */
};

static const struct script_case {
    const char *name;
    uint64_t per_s;
    uint64_t start;
    struct step steps[12];
    int n;
} script_cases[] = {
    {"no limit: always a token, no wait",
     0,
     0,
     {{TAKE, 0, 0, 100000}, {NEXT, 0, 0, 0}, {TAKE, 5, 0, 10}},
     3},
    {"10/s: one token, then one each 100 ms",
     10,
     1000,
     {{TAKE, 1000, 0, 0},
      {NO_TAKE, 1000, 0, 0},
      {NEXT, 1000, 1100, 0},
      {NEXT, 1050, 1100, 0},
      {NO_TAKE, 1099, 0, 0},
      {TAKE, 1100, 0, 0},
      {NO_TAKE, 1100, 0, 0},
      {NEXT, 1100, 1200, 0}},
     8},
    {"50/s: a burst of 5, then one each 20 ms",
     50,
     0,
     {{TAKE, 0, 0, 5},
      {NO_TAKE, 0, 0, 0},
      {NEXT, 0, 20, 0},
      {NO_TAKE, 19, 0, 0},
      {TAKE, 20, 0, 0},
      {NO_TAKE, 39, 0, 0},
      {TAKE, 40, 0, 0},
      {NEXT, 40, 60, 0}},
     8},
    {"3/s, a bucket of one: 334 ms apart (a full bucket overflows)",
     3,
     0,
     {{TAKE, 0, 0, 0},
      {NEXT, 0, 334, 0},
      {NO_TAKE, 333, 0, 0},
      {TAKE, 334, 0, 0},
      {NEXT, 334, 668, 0},
      {NO_TAKE, 667, 0, 0},
      {TAKE, 668, 0, 0}},
     7},
    {"30/s, a bucket of three: 33.3 ms apart, no drift",
     30,
     0,
     {{TAKE, 0, 0, 3},
      {NEXT, 0, 34, 0},
      {TAKE, 34, 0, 0},
      {NEXT, 34, 67, 0},
      {TAKE, 67, 0, 0},
      {NEXT, 67, 100, 0},
      {NO_TAKE, 99, 0, 0},
      {TAKE, 100, 0, 0},
      {NO_TAKE, 100, 0, 0}},
     9},
    {"1000/s: a burst of 100, then one a ms",
     1000,
     0,
     {{TAKE, 0, 0, 100},
      {NO_TAKE, 0, 0, 0},
      {NEXT, 0, 1, 0},
      {TAKE, 1, 0, 0},
      {NO_TAKE, 1, 0, 0},
      {TAKE, 11, 0, 10},
      {NO_TAKE, 11, 0, 0}},
     7},
    {"a million/s: a thousand a ms",
     WEBHOOK_RATE_MAX,
     0,
     {{TAKE, 0, 0, 100000},
      {NO_TAKE, 0, 0, 0},
      {NEXT, 0, 1, 0},
      {TAKE, 1, 0, 1000},
      {NO_TAKE, 1, 0, 0}},
     5},
    {"a long silence fills the bucket, no more",
     50,
     0,
     {{TAKE, 0, 0, 5},
      {NO_TAKE, 0, 0, 0},
      {TAKE, 86400000, 0, 5},
      {NO_TAKE, 86400000, 0, 0},
      {TAKE, UINT64_MAX / 2, 0, 5},
      {NO_TAKE, UINT64_MAX / 2, 0, 0}},
     6},
    {"a clock read out of order adds nothing",
     10,
     500,
     {{TAKE, 500, 0, 0},
      {NO_TAKE, 400, 0, 0},
      {NEXT, 400, 600, 0},
      {NO_TAKE, 599, 0, 0},
      {TAKE, 600, 0, 0}},
     5},
    {"a half-filled bucket",
     100,
     0,
     {{TAKE, 0, 0, 10}, {NO_TAKE, 0, 0, 0}, {TAKE, 50, 0, 5}, {NO_TAKE, 50, 0, 0}},
     4},
};

static void test_scripts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof script_cases / sizeof script_cases[0]; i++) {
        const struct script_case *tc = &script_cases[i];
        struct webhook_rate r;
        webhook_rate_init(&r, tc->per_s, tc->start);
        for (int k = 0; k < tc->n; k++) {
            const struct step *s = &tc->steps[k];
            int times = s->times > 0 ? s->times : 1;
            switch (s->op) {
            case TAKE:
            case NO_TAKE:
                for (int t = 0; t < times; t++)
                    if (webhook_rate_take(&r, s->at) != (s->op == TAKE))
                        fail_msg("%s: step %d (take %d at %llu ms) gave %s", tc->name, k, t + 1,
                                 (unsigned long long)s->at, s->op == TAKE ? "none" : "a token");
                break;
            case NEXT: {
                uint64_t next = webhook_rate_next_ms(&r, s->at);
                if (next != s->want)
                    fail_msg("%s: step %d: next token at %llu ms, expected %llu", tc->name, k,
                             (unsigned long long)next, (unsigned long long)s->want);
                break;
            }
            }
        }
    }
}

/* ---- a greedy taker, every ms: the burst plus the rate times the span ----
 * Exactly, whenever the bucket holds two tokens or more: the thousandths
 * carry over from token to token. A bucket of one token (rates below 20)
 * is full when its token comes between two ms, and what overflows it until
 * the next ms is lost, as in any token bucket: 3/s gives a token every 334
 * ms, 7/s every 143. Never more than the rate. */

static const struct {
    uint64_t per_s, span, want;
} greedy_cases[] = {
    {1, 3000, 1 + 3},
    {3, 3000, 1 + 3000 / 334},
    {7, 3000, 1 + 3000 / 143},
    {20, 3000, 2 + 60},
    {50, 3000, 5 + 150},
    {333, 3000, 33 + 999},
    {999, 3000, 99 + 2997},
    {1000, 3000, 100 + 3000},
    {4096, 3000, 409 + 12288},
    {123457, 50, 12345 + 6172},
    {WEBHOOK_RATE_MAX, 50, 100000 + 50000},
};

static void test_greedy_count(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof greedy_cases / sizeof greedy_cases[0]; i++) {
        uint64_t per_s = greedy_cases[i].per_s, span = greedy_cases[i].span;
        struct webhook_rate r;
        webhook_rate_init(&r, per_s, 7);
        uint64_t taken = 0;
        for (uint64_t t = 7; t <= 7 + span; t++)
            while (webhook_rate_take(&r, t))
                taken++;
        if (taken != greedy_cases[i].want)
            fail_msg("rate %llu over %llu ms: %llu taken, expected %llu", (unsigned long long)per_s,
                     (unsigned long long)span, (unsigned long long)taken,
                     (unsigned long long)greedy_cases[i].want);
        if (taken > webhook_rate_burst(per_s) + per_s * span / 1000)
            fail_msg("rate %llu: more than the rate", (unsigned long long)per_s);
    }
}

/* ---- the time named is the first a take succeeds ---- */

static void test_next_is_first(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof greedy_cases / sizeof greedy_cases[0]; i++) {
        uint64_t per_s = greedy_cases[i].per_s;
        struct webhook_rate r;
        webhook_rate_init(&r, per_s, 0);
        uint64_t t = 0;
        for (int round = 0; round < 50; round++) {
            while (webhook_rate_take(&r, t))
                ;
            uint64_t next = webhook_rate_next_ms(&r, t);
            if (next <= t)
                fail_msg("rate %llu: out of tokens at %llu ms, yet the next is at %llu",
                         (unsigned long long)per_s, (unsigned long long)t,
                         (unsigned long long)next);
            struct webhook_rate early = r, on_time = r;
            if (webhook_rate_take(&early, next - 1))
                fail_msg("rate %llu: a token at %llu ms, before the %llu named",
                         (unsigned long long)per_s, (unsigned long long)(next - 1),
                         (unsigned long long)next);
            if (!webhook_rate_take(&on_time, next))
                fail_msg("rate %llu: no token at the %llu ms named", (unsigned long long)per_s,
                         (unsigned long long)next);
            /* Asked between now and then, the answer stays. */
            assert_int_equal(webhook_rate_next_ms(&r, t + (next - t) / 2), next);
            t = next + (uint64_t)round % 3; /* sometimes late */
        }
    }
}

/* ---- a taker out of tokens comes back no sooner than WEBHOOK_RATE_WAKE_MS ---- */

static const struct {
    uint64_t per_s, want; /* drained at 0 ms: back at want */
} wake_cases[] = {
    {1, 1000},  {3, 334},   {50, 20},
    {99, 11},   {100, 10},  {101, 10},
    {1000, 10}, {4096, 10}, {WEBHOOK_RATE_MAX, 10},
};

static void test_wake(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof wake_cases / sizeof wake_cases[0]; i++) {
        struct webhook_rate r;
        webhook_rate_init(&r, wake_cases[i].per_s, 0);
        while (webhook_rate_take(&r, 0))
            ;
        uint64_t wake = webhook_rate_wake_ms(&r, 0);
        if (wake != wake_cases[i].want)
            fail_msg("rate %llu: back at %llu ms, expected %llu",
                     (unsigned long long)wake_cases[i].per_s, (unsigned long long)wake,
                     (unsigned long long)wake_cases[i].want);
    }
}

/* A taker that only comes back when told loses nothing to its waits: over
 * a span it gets the burst plus the rate times the span, less what its
 * last wait had gathered (at most a token plus a hundredth of the rate). */
static void test_wake_loses_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof greedy_cases / sizeof greedy_cases[0]; i++) {
        uint64_t per_s = greedy_cases[i].per_s, span = greedy_cases[i].span;
        struct webhook_rate r;
        webhook_rate_init(&r, per_s, 0);
        uint64_t taken = 0, t = 0, wakes = 0;
        while (t <= span) {
            while (webhook_rate_take(&r, t))
                taken++;
            t = webhook_rate_wake_ms(&r, t);
            wakes++;
        }
        uint64_t most = webhook_rate_burst(per_s) + per_s * span / 1000;
        uint64_t least = greedy_cases[i].want - 1 - per_s * WEBHOOK_RATE_WAKE_MS / 1000;
        if (taken > most || taken < least)
            fail_msg("rate %llu over %llu ms: %llu taken in %llu wake-ups, expected %llu to %llu",
                     (unsigned long long)per_s, (unsigned long long)span, (unsigned long long)taken,
                     (unsigned long long)wakes, (unsigned long long)least,
                     (unsigned long long)most);
        if (wakes > span / WEBHOOK_RATE_WAKE_MS + 2)
            fail_msg("rate %llu: %llu wake-ups in %llu ms", (unsigned long long)per_s,
                     (unsigned long long)wakes, (unsigned long long)span);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst),        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_greedy_count), cmocka_unit_test(test_next_is_first),
        cmocka_unit_test(test_wake),         cmocka_unit_test(test_wake_loses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
