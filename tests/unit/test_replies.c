/* The reply-object pool (src/replies.c) behind a real hiredis reader: the
 * replies it builds read as hiredis's own, whole or fed a byte at a time,
 * its blocks are reused, large ones included, and a kept reply survives
 * the reader's free until it is released. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/read.h>

#include "replies.h"

/* A batch-shaped reply: an array of two orders' arrays, with an integer,
 * strings, a nil, a status and an error among them. */
static const char BATCH[] = "*3\r\n"
                            "*4\r\n:0\r\n$22\r\nAbCdEfGhIjKlMnOpQrStUv\r\n$4\r\nheld\r\n$0\r\n\r\n"
                            "*2\r\n:2\r\n$-1\r\n"
                            "*2\r\n+OK\r\n-ERR no\r\n";

static redisReply *read_one(redisReader *r, const char *resp, size_t len, size_t step)
{
    void *reply = NULL;
    for (size_t at = 0; at < len; at += step) {
        size_t n = len - at < step ? len - at : step;
        assert_int_equal(redisReaderFeed(r, resp + at, n), REDIS_OK);
        assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
        if (at + n < len)
            assert_null(reply);
    }
    assert_non_null(reply);
    return reply;
}

static void check_batch(const redisReply *r)
{
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    const redisReply *a = r->element[0], *b = r->element[1], *c = r->element[2];
    assert_int_equal(a->elements, 4);
    assert_int_equal(a->element[0]->type, REDIS_REPLY_INTEGER);
    assert_int_equal(a->element[0]->integer, 0);
    assert_string_equal(a->element[1]->str, "AbCdEfGhIjKlMnOpQrStUv");
    assert_int_equal(a->element[1]->len, 22);
    assert_string_equal(a->element[2]->str, "held");
    assert_int_equal(a->element[3]->type, REDIS_REPLY_STRING);
    assert_int_equal(a->element[3]->len, 0);
    assert_string_equal(a->element[3]->str, "");
    assert_int_equal(b->element[0]->integer, 2);
    assert_int_equal(b->element[1]->type, REDIS_REPLY_NIL);
    assert_int_equal(c->element[0]->type, REDIS_REPLY_STATUS);
    assert_string_equal(c->element[0]->str, "OK");
    assert_int_equal(c->element[1]->type, REDIS_REPLY_ERROR);
    assert_string_equal(c->element[1]->str, "ERR no");
}

static void test_batch_whole_and_bytewise(void **state)
{
    (void)state;
    struct replies *p = replies_new();
    redisReader *r = redisReaderCreate();
    redisContext c = {.reader = r};
    replies_attach(p, &c);
    for (size_t step = 1; step <= sizeof BATCH; step += sizeof BATCH - 2) {
        redisReply *reply = read_one(r, BATCH, sizeof BATCH - 1, step);
        check_batch(reply);
        r->fn->freeObject(reply);
    }
    redisReaderFree(r);
    replies_free(p);
}

/* Every block of a reply tree: each reply, its string or element array. */
static size_t blocks(const redisReply *r, const void **out, size_t n)
{
    out[n++] = r;
    if (r->type == REDIS_REPLY_ARRAY) {
        out[n++] = r->element;
        for (size_t i = 0; i < r->elements; i++)
            n = blocks(r->element[i], out, n);
    } else if (r->str != NULL) {
        out[n++] = r->str;
    }
    return n;
}

/* Freed blocks come back: the same reply twice is built in the first's
 * memory. */
static void test_blocks_are_reused(void **state)
{
    (void)state;
    struct replies *p = replies_new();
    redisReader *r = redisReaderCreate();
    redisContext c = {.reader = r};
    replies_attach(p, &c);
    const void *before[32], *after[32];
    redisReply *first = read_one(r, BATCH, sizeof BATCH - 1, sizeof BATCH);
    size_t n = blocks(first, before, 0);
    r->fn->freeObject(first);
    redisReply *second = read_one(r, BATCH, sizeof BATCH - 1, sizeof BATCH);
    check_batch(second);
    assert_int_equal(blocks(second, after, 0), n);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found |= after[i] == before[j];
        assert_true(found);
    }
    r->fn->freeObject(second);
    redisReaderFree(r);
    replies_free(p);
}

/* A string and an array larger than every class. */
static void test_large(void **state)
{
    (void)state;
    struct replies *p = replies_new();
    redisReader *r = redisReaderCreate();
    redisContext c = {.reader = r};
    replies_attach(p, &c);
    static char resp[8192];
    int n = snprintf(resp, sizeof resp, "*200\r\n");
    for (int i = 0; i < 199; i++)
        n += snprintf(resp + n, sizeof resp - (size_t)n, ":%d\r\n", i);
    n += snprintf(resp + n, sizeof resp - (size_t)n, "$1000\r\n");
    memset(resp + n, 'x', 1000);
    n += 1000;
    n += snprintf(resp + n, sizeof resp - (size_t)n, "\r\n");
    redisReply *reply = read_one(r, resp, (size_t)n, (size_t)n);
    assert_int_equal(reply->elements, 200);
    assert_int_equal(reply->element[198]->integer, 198);
    assert_int_equal(reply->element[199]->len, 1000);
    assert_int_equal(reply->element[199]->str[999], 'x');
    r->fn->freeObject(reply);
    redisReaderFree(r);
    replies_free(p);
}

/* A kept reply outlives hiredis's free after its callback: it reads whole,
 * the replies built meanwhile take other blocks, and its blocks come back
 * only when it is released. */
static void test_keep_and_release(void **state)
{
    (void)state;
    struct replies *p = replies_new();
    redisReader *r = redisReaderCreate();
    redisContext c = {.reader = r};
    assert_false(replies_attached(&c));
    replies_attach(p, &c);
    assert_true(replies_attached(&c));
    const void *kept_blocks[32], *other[32];
    redisReply *kept = read_one(r, BATCH, sizeof BATCH - 1, sizeof BATCH);
    size_t n = blocks(kept, kept_blocks, 0);
    replies_keep(kept);
    r->fn->freeObject(kept); /* what hiredis does after the callback */
    check_batch(kept);
    for (int round = 0; round < 3; round++) {
        redisReply *next = read_one(r, BATCH, sizeof BATCH - 1, sizeof BATCH);
        check_batch(next);
        assert_int_equal(blocks(next, other, 0), n);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                assert_ptr_not_equal(other[i], kept_blocks[j]);
        r->fn->freeObject(next);
        check_batch(kept);
    }
    replies_release(kept);
    replies_release(NULL);
    /* Released: the next reply is built in its blocks again. */
    redisReply *again = read_one(r, BATCH, sizeof BATCH - 1, sizeof BATCH);
    assert_int_equal(blocks(again, other, 0), n);
    size_t reused = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            reused += other[i] == kept_blocks[j];
    assert_true(reused > 0);
    r->fn->freeObject(again);

    /* A large reply (plain allocations) is kept and released the same way. */
    static char big[2100];
    int len = snprintf(big, sizeof big, "$2000\r\n");
    memset(big + len, 'y', 2000);
    len += 2000;
    len += snprintf(big + len, sizeof big - (size_t)len, "\r\n");
    redisReply *large = read_one(r, big, (size_t)len, (size_t)len);
    replies_keep(large);
    r->fn->freeObject(large);
    assert_int_equal(large->len, 2000);
    assert_int_equal(large->str[1999], 'y');
    replies_release(large);
    redisReaderFree(r);
    replies_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_whole_and_bytewise),
        cmocka_unit_test(test_blocks_are_reused),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_keep_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
