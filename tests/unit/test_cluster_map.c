/* Unit tests of the slot map (cluster_map.h): CLUSTER SLOTS replies written
 * by hand in RESP and read by hiredis's reader, good and malformed, and the
 * node addresses of MOVED and ASK replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <hiredis/read.h>

#include "cluster_map.h"

static struct cluster_map map; /* 66 KB: not on the stack */

/* The reply the RESP text resp makes; free it with freeReplyObject. */
static redisReply *reply_of(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    void *r = NULL;
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    if (r == NULL)
        fail_msg("incomplete RESP: %s", resp);
    redisReaderFree(rd);
    return r;
}

/* [host, port, id, metadata] as Redis 7 sends a node. */
#define NODE(host, port)                                                                           \
    "*4\r\n$" #host "\r\n:" #port "\r\n$40\r\n"                                                    \
    "0123456789012345678901234567890123456789\r\n*0\r\n"
#define RANGE2(a, b) "*4\r\n:" #a "\r\n:" #b "\r\n"
#define RANGE1(a, b) "*3\r\n:" #a "\r\n:" #b "\r\n"

/* Three masters with a replica each; the third serves two ranges. */
static const char three[] = "*4\r\n" RANGE2(
    0, 5460) "*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$1\r\na\r\n*0\r\n"
             "*4\r\n$9\r\n127.0.0.1\r\n:7003\r\n$1\r\nd\r\n*0\r\n" RANGE2(
                 5461, 10922) "*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$1\r\nb\r\n"
                              "*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$1\r\ne\r\n" RANGE2(
                                  10923,
                                  16000) "*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$1\r\nc\r\n"
                                         "*3\r\n$9\r\n127.0.0.1\r\n:7005\r\n$1\r\nf\r\n" RANGE2(
                                             16001,
                                             16383) "*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$1\r\nc\r\n"
                                                    "*3\r\n$9\r\n127.0.0.1\r\n:7005\r\n$1\r\nf\r\n";

static const char *owner_of(unsigned slot)
{
    static char out[300];
    if (map.owner[slot] == CLUSTER_MAP_NONE)
        return "none";
    const struct cluster_addr *a = &map.node[map.owner[slot]];
    snprintf(out, sizeof out, "%s:%d", a->host, a->port);
    return out;
}

static void test_three_masters(void **state)
{
    (void)state;
    char why[200] = "";
    redisReply *r = reply_of(three);
    if (cluster_map_parse(&map, r, "seed", why, sizeof why) != 0)
        fail_msg("refused: %s", why);
    freeReplyObject(r);
    assert_int_equal(map.covered, SLOT_COUNT);
    assert_int_equal(map.n_masters, 3);
    assert_int_equal(map.n_nodes, 6);
    assert_string_equal(owner_of(0), "127.0.0.1:7000");
    assert_string_equal(owner_of(5460), "127.0.0.1:7000");
    assert_string_equal(owner_of(5461), "127.0.0.1:7001");
    assert_string_equal(owner_of(10922), "127.0.0.1:7001");
    assert_string_equal(owner_of(10923), "127.0.0.1:7002");
    assert_string_equal(owner_of(16001), "127.0.0.1:7002");
    assert_string_equal(owner_of(16383), "127.0.0.1:7002");
    /* The masters lead, the replicas follow. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(map.node[i].port, 7000 + i);
    for (int i = 3; i < 6; i++)
        assert_int_equal(map.node[i].port, 7000 + i);
    assert_int_equal(cluster_map_find(&map, "127.0.0.1", 7004), 4);
    assert_int_equal(cluster_map_find(&map, "127.0.0.1", 7009), -1);
    assert_int_equal(cluster_map_find(&map, "localhost", 7000), -1);
}

static void test_partial_and_unknown_host(void **state)
{
    (void)state;
    char why[200] = "";
    /* One range only; the master does not know its address ("" before
     * Redis 7, "?" since): the node asked is meant. */
    static const char partial[] =
        "*2\r\n" RANGE1(100, 199) "*3\r\n$0\r\n\r\n:7000\r\n$1\r\na\r\n" RANGE1(
            300, 300) "*3\r\n$1\r\n?\r\n:7001\r\n$1\r\nb\r\n";
    redisReply *r = reply_of(partial);
    if (cluster_map_parse(&map, r, "10.0.0.9", why, sizeof why) != 0)
        fail_msg("refused: %s", why);
    freeReplyObject(r);
    assert_int_equal(map.covered, 101);
    assert_int_equal(map.n_masters, 2);
    assert_string_equal(owner_of(99), "none");
    assert_string_equal(owner_of(100), "10.0.0.9:7000");
    assert_string_equal(owner_of(199), "10.0.0.9:7000");
    assert_string_equal(owner_of(200), "none");
    assert_string_equal(owner_of(300), "10.0.0.9:7001");
    /* No slot served at all: an empty map, not an error. */
    r = reply_of("*0\r\n");
    assert_int_equal(cluster_map_parse(&map, r, "h", why, sizeof why), 0);
    freeReplyObject(r);
    assert_int_equal(map.covered, 0);
    assert_int_equal(map.n_masters, 0);
}

static const struct {
    const char *resp;
    const char *why;
} bad[] = {
    {"-ERR This instance has cluster support disabled\r\n", "cluster support disabled"},
    {"+OK\r\n", "not an array"},
    {":1\r\n", "not an array"},
    {"*1\r\n:1\r\n", "not [start, end, master"},
    {"*1\r\n*2\r\n:0\r\n:1\r\n", "not [start, end, master"},
    {"*1\r\n" RANGE1(5, 4) "*2\r\n$1\r\nh\r\n:1\r\n", "not [start, end, master"},
    {"*1\r\n" RANGE1(0, 16384) "*2\r\n$1\r\nh\r\n:1\r\n", "not [start, end, master"},
    {"*1\r\n" RANGE1(-1, 3) "*2\r\n$1\r\nh\r\n:1\r\n", "not [start, end, master"},
    {"*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n", "not [start, end, master"},
    {"*1\r\n" RANGE1(0, 1) "*1\r\n$1\r\nh\r\n", "a master that is not"},
    {"*1\r\n" RANGE1(0, 1) "*2\r\n$1\r\nh\r\n:0\r\n", "a master that is not"},
    {"*1\r\n" RANGE1(0, 1) "*2\r\n$1\r\nh\r\n:65536\r\n", "a master that is not"},
    {"*1\r\n" RANGE1(0, 1) "*2\r\n:1\r\n:1\r\n", "a master that is not"},
    {"*1\r\n" RANGE1(0, 1) "*2\r\n$1\r\nh\r\n$4\r\n7000\r\n", "a master that is not"},
    {"*1\r\n" RANGE2(0, 1) "*2\r\n$1\r\nh\r\n:1\r\n$1\r\nx\r\n", "a replica that is not"},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[200] = "";
        redisReply *r = reply_of(bad[i].resp);
        int rc = cluster_map_parse(&map, r, "h", why, sizeof why);
        freeReplyObject(r);
        if (rc != -1)
            fail_msg("case %zu taken", i);
        if (strstr(why, bad[i].why) == NULL || strchr(why, '\n') != NULL)
            fail_msg("case %zu: '%s' does not say '%s'", i, why, bad[i].why);
        assert_int_equal(map.covered, 0);
        assert_int_equal(map.n_nodes, 0);
        assert_int_equal(map.owner[0], CLUSTER_MAP_NONE);
    }
    char why[200] = "";
    assert_int_equal(cluster_map_parse(&map, NULL, "h", why, sizeof why), -1);
}

static const struct {
    const char *in;
    int rc;
    const char *host;
    int port;
} addrs[] = {
    {"127.0.0.1:7000", 0, "127.0.0.1", 7000},
    {"redis-0.redis:6379", 0, "redis-0.redis", 6379},
    {"::1:7001", 0, "::1", 7001},
    {"[::1]:7001", 0, "::1", 7001},
    {"h:65535", 0, "h", 65535},
    {"h", -1, NULL, 0},
    {":7000", -1, NULL, 0},
    {"h:", -1, NULL, 0},
    {"h:0", -1, NULL, 0},
    {"h:65536", -1, NULL, 0},
    {"h:70x", -1, NULL, 0},
    {"[]:1", -1, NULL, 0},
    {"", -1, NULL, 0},
};

static void test_addr(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        struct cluster_addr a;
        int rc = cluster_addr_parse(&a, addrs[i].in, strlen(addrs[i].in));
        if (rc != addrs[i].rc)
            fail_msg("'%s': %d", addrs[i].in, rc);
        if (rc == 0) {
            assert_string_equal(a.host, addrs[i].host);
            assert_int_equal(a.port, addrs[i].port);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_masters),
        cmocka_unit_test(test_partial_and_unknown_host),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
