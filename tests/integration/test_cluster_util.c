/* Integration: the test cluster itself (cluster_util.c), before any stockd
 * relies on it. Three masters and three replicas are made and agree; the
 * slot of a key computed here equals CLUSTER KEYSLOT; a slot full of keys
 * moves live to another master while keys are written and read through the
 * redirections, and every key arrives; a killed master's replica takes its
 * slots with the data, and the killed node comes back as a replica. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_util.h"
#include "harness.h"

static int group_setup(void **state)
{
    (void)state;
    harness_start_cluster(&H);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return harness_stop(&H);
}

static struct cluster *cl(void)
{
    return H.cluster;
}

static long long int_reply(redisReply *r)
{
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("expected an integer, got type %d (%s)", r->type,
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void test_made_and_agreed(void **state)
{
    (void)state;
    int masters[CL_NODES_MAX];
    assert_int_equal(cl_masters(cl(), masters), CL_MASTERS);
    /* Each master has one replica, and every slot has one of them. */
    for (int k = 0; k < CL_MASTERS; k++) {
        redisReply *r = cl_must(cl(), masters[k], "INFO replication");
        assert_non_null(strstr(r->str, "connected_slaves:1"));
        freeReplyObject(r);
    }
    int owners[CL_MASTERS] = {0};
    for (unsigned slot = 0; slot < CL_SLOTS; slot += 97) {
        int m = cl_master_of_slot(cl(), slot);
        int k = 0;
        while (k < CL_MASTERS && masters[k] != m)
            k++;
        assert_true(k < CL_MASTERS);
        owners[k]++;
    }
    for (int k = 0; k < CL_MASTERS; k++)
        assert_true(owners[k] > 0);
    /* The slot rule, against Redis's own and its documented values. */
    assert_int_equal(cl_slot_of_key("foo"), 12182);
    assert_int_equal(cl_slot_of_key("{user1000}.following"), 3443);
    assert_int_equal(cl_slot_of_tag("user1000"), 3443);
    static const char *const keys[] = {"{inv}:stock:A",    "a{}b",  "{}{x}", "x{y",
                                       "{tenant-7}:res:1", "plain", "{a}{b}"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        redisReply *r = cl_must(cl(), 0, "CLUSTER KEYSLOT %s", keys[i]);
        assert_int_equal(cl_slot_of_key(keys[i]), r->integer);
        freeReplyObject(r);
    }
    char tag[64];
    for (int k = 0; k < CL_MASTERS; k++)
        assert_int_equal(cl_master_of_slot(cl(), cl_slot_of_tag(cl_tag_on(cl(), "t", masters[k],
                                                                          tag, sizeof tag))),
                         masters[k]);
}

#define MOVE_KEYS 400

static void test_move_slot_with_data(void **state)
{
    (void)state;
    int masters[CL_NODES_MAX];
    cl_masters(cl(), masters);
    char tag[64];
    cl_tag_on(cl(), "mv", masters[0], tag, sizeof tag);
    unsigned slot = cl_slot_of_tag(tag);
    for (int i = 0; i < MOVE_KEYS; i++) {
        char key[96];
        snprintf(key, sizeof key, "{%s}:k%d", tag, i);
        redisReply *r = cl_key_cmd(cl(), key, "SET %s %d", key, i);
        assert_int_equal(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
    struct cl_move m;
    cl_move_begin(cl(), &m, slot, masters[1], 7);
    int added = 0;
    while (!cl_move_step(cl(), &m)) {
        /* Between chunks: a new key (ASK to the target once the source
         * misses it) and a read of an old one (wherever it is now). */
        char key[96];
        snprintf(key, sizeof key, "{%s}:new%d", tag, added);
        redisReply *r = cl_key_cmd(cl(), key, "SET %s %d", key, 100000 + added);
        assert_int_equal(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
        added++;
        int old = (added * 37) % MOVE_KEYS;
        snprintf(key, sizeof key, "{%s}:k%d", tag, old);
        r = cl_key_cmd(cl(), key, "GET %s", key);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_int_equal(atoi(r->str), old);
        freeReplyObject(r);
    }
    cl_wait_ok(cl(), 20000);
    printf("moved slot %u: %d keys in %d chunks, %d keys written meanwhile\n", slot, m.keys_moved,
           m.steps, added);
    assert_true(m.steps >= MOVE_KEYS / 7);
    assert_int_equal(cl_master_of_slot(cl(), slot), masters[1]);
    assert_int_equal(int_reply(cl_must(cl(), masters[0], "CLUSTER COUNTKEYSINSLOT %u", slot)), 0);
    assert_int_equal(int_reply(cl_must(cl(), masters[1], "CLUSTER COUNTKEYSINSLOT %u", slot)),
                     MOVE_KEYS + added);
    /* Every key on the new owner itself, with its value. */
    for (int i = 0; i < MOVE_KEYS; i++) {
        redisReply *r = cl_must(cl(), masters[1], "GET {%s}:k%d", tag, i);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_int_equal(atoi(r->str), i);
        freeReplyObject(r);
    }
    /* And the old owner sends its clients there. */
    redisReply *r = cl_cmd(cl(), masters[0], "GET {%s}:k0", tag);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_memory_equal(r->str, "MOVED", 5);
    freeReplyObject(r);
}

static void test_kill_master(void **state)
{
    (void)state;
    int masters[CL_NODES_MAX];
    cl_masters(cl(), masters);
    int victim = masters[2];
    char tag[64];
    cl_tag_on(cl(), "kill", victim, tag, sizeof tag);
    unsigned slot = cl_slot_of_tag(tag);
    for (int i = 0; i < 100; i++)
        freeReplyObject(cl_must(cl(), victim, "SET {%s}:k%d %d", tag, i, i));
    assert_int_equal(int_reply(cl_must(cl(), victim, "WAIT 1 2000")), 1);
    long long t0 = harness_now_ms();
    cl_kill(cl(), victim);
    int promoted = cl_wait_promoted(cl(), victim, slot, 20000);
    printf("node %d took over from node %d in %lld ms\n", promoted, victim, harness_now_ms() - t0);
    assert_int_not_equal(promoted, victim);
    for (int k = 0; k < CL_MASTERS; k++)
        assert_int_not_equal(promoted, masters[k]);
    for (int i = 0; i < 100; i++) {
        redisReply *r = cl_must(cl(), promoted, "GET {%s}:k%d", tag, i);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_int_equal(atoi(r->str), i);
        freeReplyObject(r);
    }
    /* Back, as a replica of the node that took its place. */
    cl_restart(cl(), victim, 30000);
    assert_false(cl_is_master(cl(), victim));
    assert_int_equal(cl_master_of_slot(cl(), slot), promoted);
    int now[CL_NODES_MAX];
    assert_int_equal(cl_masters(cl(), now), CL_MASTERS);
}

static void test_add_master(void **state)
{
    (void)state;
    int masters[CL_NODES_MAX];
    cl_masters(cl(), masters);
    char tag[64];
    cl_tag_on(cl(), "add", masters[0], tag, sizeof tag);
    for (int i = 0; i < 50; i++)
        freeReplyObject(cl_must(cl(), masters[0], "SET {%s}:k%d %d", tag, i, i));
    int added = cl_add_master(cl(), 20000);
    assert_true(cl_is_master(cl(), added));
    cl_move_slot(cl(), cl_slot_of_tag(tag), added, 20);
    assert_int_equal(cl_master_of_slot(cl(), cl_slot_of_tag(tag)), added);
    assert_int_equal(
        int_reply(cl_must(cl(), added, "CLUSTER COUNTKEYSINSLOT %u", cl_slot_of_tag(tag))), 50);
    int now[CL_NODES_MAX];
    assert_int_equal(cl_masters(cl(), now), CL_MASTERS + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_made_and_agreed),
        cmocka_unit_test(test_move_slot_with_data),
        cmocka_unit_test(test_kill_master),
        cmocka_unit_test(test_add_master),
    };
    return cmocka_run_group_tests_name("cluster_util", tests, group_setup, group_teardown);
}
