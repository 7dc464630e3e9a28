/* The six scripts of the webhook deliverer (lua/webhook_*.lua) on their own
 * against a real redis-server, called with EVAL and their embedded bodies as
 * stockd sends them, by their contracts: read creates the group, claims and
 * reads; lease keeps, loses and hands back; check waits for a pending prev;
 * ack never moves a cursor back; dead moves an entry once (GONE after);
 * stats reports the backlog and Redis's clock and removes silent consumers.
 * Events are appended by XADD in the stream's format. No stockd runs. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "scripts.h"
#include "webhook_util.h"

#define GROUP "webhook:0123456789abcdef"
#define CURSOR "{inv}:stock-events:cursor:webhook:0123456789abcdef"

/* EVAL of one of the embedded scripts; keys then args, NULL-terminated each. */
static redisReply *run_script(enum script_id id, const char *const *keys, const char *const *args)
{
    const char *argv[64];
    size_t lens[64];
    int nk = 0, na = 0;
    while (keys[nk] != NULL)
        nk++;
    while (args[na] != NULL)
        na++;
    char nks[16];
    snprintf(nks, sizeof nks, "%d", nk);
    argv[0] = "EVAL";
    argv[1] = scripts[id].body;
    argv[2] = nks;
    for (int i = 0; i < nk; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < na; i++)
        argv[3 + nk + i] = args[i];
    for (int i = 0; i < 3 + nk + na; i++)
        lens[i] = i == 1 ? scripts[id].len : strlen(argv[i]);
    redisReply *r = redisCommandArgv(H.redis, 3 + nk + na, argv, lens);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_ARRAY)
        fail_msg("%s: %s", scripts[id].name, r->type == REDIS_REPLY_ERROR ? r->str : "not a table");
    return r;
}

static void expect_ints(const redisReply *r, const long long *want, size_t n)
{
    if (r->elements != n)
        fail_msg("%zu elements, expected %zu", r->elements, n);
    for (size_t i = 0; i < n; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer != want[i])
            fail_msg("element %zu is not %lld", i, want[i]);
}

static void test_scripts_by_contract(void **state)
{
    (void)state;
    static const char *const k_stream[] = {STREAM, NULL};
    static const char *const k_check[] = {STREAM, CURSOR, NULL};
    static const char *const k_dead[] = {STREAM, DEAD, CURSOR, NULL};
    char a[64], b[64], c[64];

    /* read: a missing stream gets the group (at its end) and nothing else. */
    redisReply *r = run_script(SCRIPT_WEBHOOK_READ, k_stream,
                               (const char *[]){GROUP, "c1", "10", "1000", "", NULL});
    assert_int_equal(r->element[0]->integer, 1); /* CREATED */
    assert_string_equal(r->element[1]->str, "0-0");
    assert_int_equal(r->elements, 5);
    freeReplyObject(r);
    xadd(NULL, "low_stock", "S", "L", 1, 2, "reserve", "", "", a);
    xadd(NULL, "out_of_stock", "S", "L", 0, 0, "reserve", "", a, b);
    xadd(NULL, "low_stock", "T", "L", 1, 2, "reserve", "", "", c);
    /* read as c1: two entries, with their fields, and the stream's last id. */
    r = run_script(SCRIPT_WEBHOOK_READ, k_stream,
                   (const char *[]){GROUP, "c1", "2", "1000", "", NULL});
    assert_int_equal(r->element[0]->integer, 0);
    assert_string_equal(r->element[1]->str, c);
    assert_int_equal(r->element[3]->integer, 0);
    assert_int_equal(r->element[4]->integer, 2);
    assert_string_equal(r->element[5]->str, a);
    assert_int_equal(r->element[6]->integer, 16); /* 8 fields and their values */
    assert_string_equal(r->element[7]->str, "type");
    assert_string_equal(r->element[23]->str, b);
    freeReplyObject(r);

    /* lease: c1's own are kept, another consumer's are lost, unknown gone. */
    r = run_script(SCRIPT_WEBHOOK_LEASE, k_stream,
                   (const char *[]){GROUP, "c1", "0", a, b, c, NULL});
    expect_ints(r, (const long long[]){0, 0, 0, 2}, 4);
    freeReplyObject(r);
    r = run_script(SCRIPT_WEBHOOK_LEASE, k_stream, (const char *[]){GROUP, "c2", "0", a, b, NULL});
    expect_ints(r, (const long long[]){0, 1, 1}, 3);
    freeReplyObject(r);
    /* A hand-back makes them idle for the lease: another reader claims them. */
    r = run_script(SCRIPT_WEBHOOK_LEASE, k_stream, (const char *[]){GROUP, "c1", "5000", a, NULL});
    freeReplyObject(r);
    r = run_script(SCRIPT_WEBHOOK_READ, k_stream,
                   (const char *[]){GROUP, "c2", "5", "5000", "0-0", NULL});
    assert_string_equal(r->element[2]->str, "0-0"); /* the pass is over */
    assert_int_equal(r->element[3]->integer, 1);    /* a, taken over */
    assert_int_equal(r->element[4]->integer, 1);    /* c, new */
    assert_string_equal(r->element[5]->str, a);
    freeReplyObject(r);

    /* check: b waits for a while a is pending; after a's ack it may go. */
    r = run_script(SCRIPT_WEBHOOK_CHECK, k_check, (const char *[]){GROUP, "S\tL", a, NULL});
    expect_ints(r, (const long long[]){0, 0}, 2);
    freeReplyObject(r);
    r = run_script(SCRIPT_WEBHOOK_ACK, k_check, (const char *[]){GROUP, a, "S\tL", NULL});
    expect_ints(r, (const long long[]){0, 1}, 2);
    freeReplyObject(r);
    r = run_script(SCRIPT_WEBHOOK_CHECK, k_check,
                   (const char *[]){GROUP, "S\tL", a, "T\tL", "1-0", NULL});
    expect_ints(r, (const long long[]){0, 1, 1}, 3); /* 1-0 was never pending */
    freeReplyObject(r);
    /* ack: the cursor never moves back; an ack of the unpending counts 0. */
    r = run_script(SCRIPT_WEBHOOK_ACK, k_check, (const char *[]){GROUP, b, "S\tL", NULL});
    expect_ints(r, (const long long[]){0, 1}, 2);
    freeReplyObject(r);
    r = run_script(SCRIPT_WEBHOOK_ACK, k_check, (const char *[]){GROUP, a, "S\tL", NULL});
    expect_ints(r, (const long long[]){0, 0}, 2);
    freeReplyObject(r);
    r = harness_redis(&H, "HGET %s %s", CURSOR, "S\tL");
    assert_string_equal(r->str, b);
    freeReplyObject(r);

    /* dead: moves a pending entry once; GONE for one pending no more. */
    r = run_script(SCRIPT_WEBHOOK_DEAD, k_dead,
                   (const char *[]){GROUP, "1000", a, "S\tL", "http://x/", "3", "HTTP 500", "type",
                                    "low_stock", NULL});
    expect_ints(r, (const long long[]){1}, 1);
    freeReplyObject(r);
    r = run_script(SCRIPT_WEBHOOK_DEAD, k_dead,
                   (const char *[]){GROUP, "1000", c, "T\tL", "http://x/", "2", "HTTP 502", "type",
                                    "low_stock", "sku", "T", NULL});
    assert_int_equal(r->element[0]->integer, 0);
    freeReplyObject(r);
    r = harness_redis(&H, "XRANGE %s - +", DEAD);
    assert_int_equal(r->elements, 1);
    const redisReply *fv = r->element[0]->element[1];
    assert_string_equal(field(fv, "sku"), "T");
    assert_string_equal(field(fv, "id"), c);
    assert_string_equal(field(fv, "url"), "http://x/");
    assert_string_equal(field(fv, "attempts"), "2");
    assert_string_equal(field(fv, "last_error"), "HTTP 502");
    freeReplyObject(r);
    assert_int_equal(pending(GROUP), 0);

    /* stats: the backlog, Redis's clock, and silent empty consumers removed
     * (c1 and c2 hold nothing; c2 is the caller and stays; -1: any idle
     * time is long enough). */
    xadd(NULL, "back_in_stock", "U", "L", 1, 0, "adjust", "", "", a);
    r = run_script(SCRIPT_WEBHOOK_STATS, k_stream, (const char *[]){GROUP, "c2", "-1", NULL});
    assert_int_equal(r->elements, 7);
    long long now = harness_redis_time_ms(&H);
    assert_true(r->element[1]->integer <= now && r->element[1]->integer > now - 10000);
    assert_int_equal(r->element[2]->integer, 0); /* pending */
    assert_int_equal(r->element[3]->integer, 1); /* unread */
    assert_string_equal(r->element[5]->str, a);  /* the first unread */
    assert_int_equal(r->element[6]->integer, 1); /* c1 removed */
    freeReplyObject(r);
    r = harness_redis(&H, "XINFO CONSUMERS %s %s", STREAM, GROUP);
    assert_int_equal(r->elements, 1);
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_scripts_by_contract, harness_flush_setup),
    };
    return harness_run("webhook_scripts", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
