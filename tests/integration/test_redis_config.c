/* Integration: how stockd reaches Redis. A URL with an ACL user, password
 * and database; a host name (resolved off the event loop); a name whose
 * first addresses refuse (every address is tried, in order); a unix socket;
 * a wrong password (stockd stays down and says why, without the password);
 * and the loud warning when Redis may evict keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char socket_path[128];

static bool log_has(int i, const char *needle)
{
    FILE *f = fopen(H.stockd[i].log_path, "r");
    char line[2048];
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

static bool log_lacks(int i, const char *needle)
{
    return !log_has(i, needle);
}

static void set_and_find(int i, const char *sku)
{
    int fd = harness_client(i);
    cJSON *r = client_callf(fd,
                            "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"%s\","
                            "\"location\":\"L\",\"on_hand\":3}}",
                            sku);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
}

static void test_acl_user_and_database(void **state)
{
    (void)state;
    freeReplyObject(harness_redis(&H, "ACL SETUSER stockd on >s3cret-pw ~* &* +@all"));
    char url[128];
    snprintf(url, sizeof url, "redis://stockd:s3cret-pw@127.0.0.1:%d/3", H.redis_port);
    const char *args[] = {"--redis", url, NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    set_and_find(i, "ACL");
    /* The key went to database 3, not 0. */
    redisReply *r = harness_redis(&H, "EXISTS {inv}:stock:ACL");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    freeReplyObject(harness_redis(&H, "SELECT 3"));
    r = harness_redis(&H, "HGET {inv}:stock:ACL L:on_hand");
    assert_string_equal(r->str, "3");
    freeReplyObject(r);
    freeReplyObject(harness_redis(&H, "SELECT 0"));
    assert_true(log_lacks(i, "s3cret-pw"));
}

static void test_wrong_password_stays_down(void **state)
{
    (void)state;
    freeReplyObject(harness_redis(&H, "ACL SETUSER locked on >right-pw ~* &* +@all"));
    char url[128];
    snprintf(url, sizeof url, "redis://locked:wrong-pw@127.0.0.1:%d/0", H.redis_port);
    const char *args[] = {"--redis", url, NULL};
    /* The harness would wait for "redis up", which never comes. */
    int idx = harness_stockd(&(struct stockd_opts){.args = args, .listening_only = true});
    int fd = harness_client(idx);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"ping\"}");
    assert_string_equal(json_str(resp_result(r), "redis"), "down");
    cJSON_Delete(r);
    r = client_call(fd, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}");
    assert_int_equal(resp_error_code(r), 2001);
    cJSON_Delete(r);
    long long give_up = harness_now_ms() + 5000;
    while (!log_has(idx, "AUTH failed") && harness_now_ms() < give_up)
        cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"ping\"}"));
    assert_true(log_has(idx, "AUTH failed"));
    assert_true(log_lacks(idx, "wrong-pw"));
}

static void test_host_name(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "redis://localhost:%d", H.redis_port);
    const char *args[] = {"--redis", url, NULL};
    set_and_find(harness_stockd(&(struct stockd_opts){.args = args}), "BYNAME");
    redisReply *r = harness_redis(&H, "EXISTS {inv}:stock:BYNAME");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
}

/* A fresh Debian bookworm root lists "::1 localhost" beside "127.0.0.1
 * localhost", and getaddrinfo puts ::1 first: a name can resolve first to
 * an address where Redis is not (it is bound to 127.0.0.1 here). stockd, in
 * a mount namespace of its own with such a hosts file, must try the
 * addresses in turn and connect to the second. */
static void test_every_address_is_tried(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        printf("skipped: a private /etc/hosts needs root (unshare -m)\n");
        skip();
    }
    char hosts[512];
    snprintf(hosts, sizeof hosts, "%s/hosts", H.dir);
    FILE *f = fopen(hosts, "w");
    assert_non_null(f);
    fputs("127.0.0.1 stockd-redis-multi\n::1 stockd-redis-multi\n", f);
    fclose(f);
    char url[128], want[64];
    snprintf(url, sizeof url, "redis://stockd-redis-multi:%d", H.redis_port);
    int i = harness_stockd(&(struct stockd_opts){.redis_url = url, .hosts_file = hosts});
    set_and_find(i, "MULTI");
    redisReply *r = harness_redis(&H, "EXISTS {inv}:stock:MULTI");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    snprintf(want, sizeof want, "redis: connected to 127.0.0.1:%d", H.redis_port);
    assert_true(log_has(i, want));
    /* ::1 was tried first, and refused. */
    snprintf(want, sizeof want, "redis: cannot connect to [::1]:%d", H.redis_port);
    assert_true(log_has(i, want));
}

static void test_unix_socket(void **state)
{
    (void)state;
    char url[160];
    snprintf(url, sizeof url, "unix://%s", socket_path);
    const char *args[] = {"--redis", url, NULL};
    set_and_find(harness_stockd(&(struct stockd_opts){.args = args}), "UNIX");
    redisReply *r = harness_redis(&H, "EXISTS {inv}:stock:UNIX");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
}

static void test_eviction_policy_warning(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    int quiet = harness_stockd(&(struct stockd_opts){.args = none});
    assert_true(log_lacks(quiet, "maxmemory-policy"));
    freeReplyObject(harness_redis(&H, "CONFIG SET maxmemory-policy allkeys-lru"));
    int loud = harness_stockd(&(struct stockd_opts){.args = none});
    assert_true(log_has(loud, "maxmemory-policy is 'allkeys-lru'"));
    freeReplyObject(harness_redis(&H, "CONFIG SET maxmemory-policy noeviction"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_user_and_database),
        cmocka_unit_test(test_wrong_password_stays_down),
        cmocka_unit_test(test_host_name),
        cmocka_unit_test(test_every_address_is_tried),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_eviction_policy_warning),
    };
    snprintf(socket_path, sizeof socket_path, "/tmp/stockd-test-redis-%d.sock", (int)getpid());
    const char *redis_args[] = {"--unixsocket", socket_path, "--unixsocketperm", "700", NULL};
    harness_redis_args = redis_args;
    int rc = harness_run("redis_config", tests, sizeof tests / sizeof tests[0], 0, NULL);
    unlink(socket_path);
    return rc;
}
