/* Unit tests of how stockd reaches Redis (config.h): redis+sentinel:// URLs
 * good and bad, the reason given for each bad one (never the password),
 * the credentials given beside the URL and which source wins, --durability
 * and --durability-timeout-ms with the rules that tie them to the other
 * timeouts; redis+cluster:// URLs; and stockd-export's refusal of a
 * Sentinel or Cluster URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "options.h" /* stockd-export's */

#define MAX_ARGS 8

#include "config_env.h"

#define N16 "nnnnnnnnnnnnnnnn"
#define N256 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16

/* The password of the cases that must never show it. */
#define PW "hunter2"

static const struct env_var no_env[] = {{NULL, NULL}};

/* A parsed URL as one line, so that a case states it as a string. */
static void describe_url(const struct redis_url *u, char *out, size_t n)
{
    int w;
    if (u->mode == REDIS_SENTINEL) {
        w = snprintf(out, n, "sentinel");
        for (int i = 0; i < u->n_sentinels && (size_t)w < n; i++)
            w += snprintf(out + w, n - (size_t)w, "%c%s:%d", i ? ',' : ' ', u->sentinels[i].host,
                          u->sentinels[i].port);
        if ((size_t)w < n)
            w += snprintf(out + w, n - (size_t)w, " master=%s", u->master_name);
    } else if (u->mode == REDIS_CLUSTER) {
        w = snprintf(out, n, "cluster");
        for (int i = 0; i < u->n_seeds && (size_t)w < n; i++)
            w += snprintf(out + w, n - (size_t)w, "%c%s:%d", i ? ',' : ' ', u->seeds[i].host,
                          u->seeds[i].port);
    } else {
        w = snprintf(out, n, "direct host=%s port=%d unix=%s", u->host, u->port, u->unix_path);
    }
    if ((size_t)w < n)
        snprintf(out + w, n - (size_t)w, " db=%d user=%s password=%s suser=%s spassword=%s", u->db,
                 u->user, u->password, u->sentinel_user, u->sentinel_password);
}

/* Checks that msg is one line, not empty, mentioning want and never PW. */
static void check_message(const char *what, const char *msg, const char *want)
{
    if (msg[0] == '\0')
        fail_msg("%s: no message", what);
    if (strchr(msg, '\n') != NULL)
        fail_msg("%s: more than one line: %s", what, msg);
    if (strstr(msg, PW) != NULL || strstr(msg, "hunt") != NULL)
        fail_msg("%s: the message shows the password: %s", what, msg);
    if (want != NULL && strstr(msg, want) == NULL)
        fail_msg("%s: '%s' does not say '%s'", what, msg, want);
}

/* ---- config_parse_redis_url ---- */

#define TAIL " db=0 user= password= suser= spassword="

static const struct url_case {
    const char *url;
    int rc;
    const char *want; /* rc 0: describe_url's line; -1: a part of the reason */
} url_cases[] = {
    /* Sentinel URLs that work. */
    {"redis+sentinel://h:1/m", 0, "sentinel h:1 master=m" TAIL},
    {"redis+sentinel://h/m", 0, "sentinel h:26379 master=m" TAIL},
    {"redis+sentinel://s1:26380,s2,s3:26382/mymaster/2", 0,
     "sentinel s1:26380,s2:26379,s3:26382 master=mymaster db=2 user= password= suser= spassword="},
    {"redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/m", 0,
     "sentinel 127.0.0.1:26379,127.0.0.1:26380 master=m" TAIL},
    {"redis+sentinel://u:" PW "@h:1,h2:2/m/3", 0,
     "sentinel h:1,h2:2 master=m db=3 user=u password=" PW " suser= spassword="},
    {"redis+sentinel://" PW "@h:1/m", 0,
     "sentinel h:1 master=m db=0 user= password=" PW " suser= spassword="},
    {"redis+sentinel://u:p@ss@h:1/m", 0,
     "sentinel h:1 master=m db=0 user=u password=p@ss suser= spassword="},
    {"redis+sentinel://u:p,w:1@h:1/m", 0,
     "sentinel h:1 master=m db=0 user=u password=p,w:1 suser= spassword="},
    {"redis+sentinel://[::1]:26380,[fe80::1]/m", 0,
     "sentinel ::1:26380,fe80::1:26379 master=m" TAIL},
    {"redis+sentinel://[::1]/m", 0, "sentinel ::1:26379 master=m" TAIL},
    {"redis+sentinel://h:65535/m/", 0, "sentinel h:65535 master=m" TAIL},
    {"redis+sentinel://h:1/m/65535", 0,
     "sentinel h:1 master=m db=65535 user= password= suser= spassword="},
    {"redis+sentinel://h:1/my-master.eu_1:x@y", 0, "sentinel h:1 master=my-master.eu_1:x@y" TAIL},
    /* Cluster URLs that work: seeds, port 6379 when left out, db 0 only. */
    {"redis+cluster://h:7000", 0, "cluster h:7000" TAIL},
    {"redis+cluster://h", 0, "cluster h:6379" TAIL},
    {"redis+cluster://a:1,b,[::1]:3/", 0, "cluster a:1,b:6379,::1:3" TAIL},
    {"redis+cluster://h:1/0", 0, "cluster h:1" TAIL},
    {"redis+cluster://u:" PW "@h:1,h2:2", 0,
     "cluster h:1,h2:2 db=0 user=u password=" PW " suser= spassword="},
    {"redis+cluster://" PW "@h:1", 0, "cluster h:1 db=0 user= password=" PW " suser= spassword="},
    {"redis+cluster://1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", 0,
     "cluster 1:6379,2:6379,3:6379,4:6379,5:6379,6:6379,7:6379,8:6379,9:6379,10:6379,11:6379,"
     "12:6379,13:6379,14:6379,15:6379,16:6379" TAIL},
    /* Cluster URLs refused, and what the reason says. */
    {"redis+cluster://h:1/1", -1, "db 1: Redis Cluster has db 0 only"},
    {"redis+cluster://u:" PW "@h:1/3", -1, "Redis Cluster has db 0 only"},
    {"redis+cluster://h:1/x", -1, "db is not a number"},
    {"redis+cluster://", -1, "empty host list (host:port[,host:port...] of the nodes)"},
    {"redis+cluster://u:" PW "@", -1, "empty host list"},
    {"redis+cluster://h:1,,h2:2", -1, "empty host list element (node address 2)"},
    {"redis+cluster://h:1,", -1, "empty host list element (node address 2)"},
    {"redis+cluster://h:1,h2:0", -1, "bad port '0' in node address 2"},
    {"redis+cluster://u:" PW "@h:99999", -1, "bad port '99999' in node address 1"},
    {"redis+cluster://admin:hunt/er2@h:1", -1, "bad port in node address 1"},
    {"redis+cluster://:1", -1, "no host in node address 1"},
    {"redis+cluster://a b:1", -1, "bad host in node address 1"},
    {"redis+cluster://1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", -1, "more than 16 nodes"},
    {"REDIS+CLUSTER://h:1", -1,
     "not a redis://, redis+sentinel://, redis+cluster:// or unix:// URL"},
    {"redis+clusters://h:1", -1, "not a redis://"},
    /* redis:// and unix:// as before. */
    {"redis://h:1/2", 0, "direct host=h port=1 unix= db=2 user= password= suser= spassword="},
    {"redis://u:" PW "@[::1]", 0,
     "direct host=::1 port=6379 unix= db=0 user=u password=" PW " suser= spassword="},
    {"unix:///run/r.sock", 0, "direct host= port=0 unix=/run/r.sock" TAIL},
    /* Sentinel URLs refused, and what the reason says. */
    {"redis+sentinel://h:1", -1, "redis+sentinel URL has no master name"},
    {"redis+sentinel://h:1/", -1, "no master name"},
    {"redis+sentinel://h:1//2", -1, "no master name"},
    {"redis+sentinel://u:" PW "@h:1", -1, "no master name"},
    {"redis+sentinel://", -1, "empty host list"},
    {"redis+sentinel:///m", -1, "empty host list"},
    {"redis+sentinel://u:" PW "@/m", -1, "empty host list"},
    {"redis+sentinel://h:1,,h2:2/m", -1, "empty host list element (sentinel address 2)"},
    {"redis+sentinel://h:1,/m", -1, "empty host list element (sentinel address 2)"},
    {"redis+sentinel://,h:1/m", -1, "empty host list element (sentinel address 1)"},
    {"redis+sentinel://h:1,h2:99999/m", -1, "bad port '99999' in sentinel address 2"},
    {"redis+sentinel://u:" PW "@h:1,h2:99999/m", -1, "bad port '99999' in sentinel address 2"},
    {"redis+sentinel://h:0/m", -1, "bad port '0' in sentinel address 1"},
    {"redis+sentinel://h:/m", -1, "bad port '' in sentinel address 1"},
    {"redis+sentinel://h:-1/m", -1, "bad port '-1' in sentinel address 1"},
    {"redis+sentinel://a:1,b:2,c:3x/m", -1, "bad port '3x' in sentinel address 3"},
    {"redis+sentinel://[::1]:/m", -1, "bad port '' in sentinel address 1"},
    {"redis+sentinel://h:123456789012345678901/m", -1, "bad port in sentinel address 1"},
    /* A password holding a '/' ends the authority early: the "port" would
     * be a piece of it, so it is not quoted. */
    {"redis+sentinel://admin:hunt/er2@h:1/m", -1, "bad port in sentinel address 1"},
    {"redis+sentinel://:1/m", -1, "no host in sentinel address 1"},
    {"redis+sentinel://[]:1/m", -1, "no host in sentinel address 1"},
    {"redis+sentinel://[::1/m", -1, "bad host in sentinel address 1"},
    {"redis+sentinel://h:1,[::1]x/m", -1, "bad host in sentinel address 2"},
    {"redis+sentinel://a b:1/m", -1, "bad host in sentinel address 1"},
    {"redis+sentinel://" N256 ":1/m", -1, "bad host in sentinel address 1"},
    {"redis+sentinel://h:1/m m", -1, "master name"},
    {"redis+sentinel://h:1/m\tx", -1, "master name"},
    {"redis+sentinel://h:1/m\x7f", -1, "master name"},
    {"redis+sentinel://h:1/m\xc3\xa9", -1, "master name"},
    {"redis+sentinel://h:1/" N256, -1, "master name is longer than 255 bytes"},
    {"redis+sentinel://h:1/m/x", -1, "db is not a number"},
    {"redis+sentinel://h:1/m/1/2", -1, "db is not a number"},
    {"redis+sentinel://h:1/m/-1", -1, "db is not a number"},
    {"redis+sentinel://h:1/m/65536", -1, "db is above 65535"},
    {"redis+sentinel://u:" N256 "@h:1/m", -1, "password is longer than 255 bytes"},
    {"redis+sentinel://" N256 ":p@h:1/m", -1, "user name is longer than 127 bytes"},
    {"REDIS+SENTINEL://h:1/m", -1,
     "not a redis://, redis+sentinel://, redis+cluster:// or unix:// URL"},
    {"redis+sentinels://h:1/m", -1, "not a redis://"},
    {"sentinel://h:1/m", -1, "not a redis://"},
    /* The reasons of the other URLs. */
    {"redis://h:99999", -1, "bad port '99999'"},
    {"redis://admin:" PW "@h:abc", -1, "bad port 'abc'"},
    {"redis://admin:hunt/er2@h:1", -1, "bad port"},
    {"redis://", -1, "no host"},
    {"redis://u:" PW "@", -1, "no host"},
    {"redis://[::1", -1, "bad host"},
    {"redis://h:1/x", -1, "db is not a number"},
    {"unix://relative", -1, "absolute path"},
    {"unix:///" N256, -1, "longer than 107 bytes"},
    {"http://h", -1, "not a redis://"},
    {"", -1, "not a redis://"},
};

static void test_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        const struct url_case *tc = &url_cases[i];
        struct redis_url u;
        char why[200], got[2048];
        memset(&u, 0x5a, sizeof u);
        memset(why, 'x', sizeof why);
        int rc = config_parse_redis_url(tc->url, &u, why, sizeof why);
        if (rc != tc->rc)
            fail_msg("'%s': rc %d, expected %d (%s)", tc->url, rc, tc->rc, rc ? why : "");
        if (rc == 0) {
            describe_url(&u, got, sizeof got);
            if (strcmp(got, tc->want) != 0)
                fail_msg("'%s':\n  got  %s\n  want %s", tc->url, got, tc->want);
            assert_string_equal(why, "");
        } else {
            check_message(tc->url, why, tc->want);
            /* A refused URL leaves nothing behind, the password included. */
            static const struct redis_url zero;
            assert_memory_equal(&u, &zero, sizeof u);
        }
        /* Without a place for the reason, the answer is the same. */
        assert_int_equal(config_parse_redis_url(tc->url, &u, NULL, 0), tc->rc);
    }
}

/* 16 sentinels are the most: each kept in order; a 17th is refused. */
static void test_sentinel_count(void **state)
{
    (void)state;
    char url[1024];
    struct redis_url u;
    char why[200];
    for (int n = 1; n <= REDIS_SENTINELS_MAX + 1; n++) {
        int w = snprintf(url, sizeof url, "redis+sentinel://");
        for (int i = 0; i < n; i++)
            w += snprintf(url + w, sizeof url - (size_t)w, "%ss%d:%d", i ? "," : "", i, 1000 + i);
        snprintf(url + w, sizeof url - (size_t)w, "/m");
        int rc = config_parse_redis_url(url, &u, why, sizeof why);
        if (n <= REDIS_SENTINELS_MAX) {
            if (rc != 0)
                fail_msg("%d sentinels refused: %s", n, why);
            assert_int_equal(u.n_sentinels, n);
            for (int i = 0; i < n; i++) {
                char host[16];
                snprintf(host, sizeof host, "s%d", i);
                assert_string_equal(u.sentinels[i].host, host);
                assert_int_equal(u.sentinels[i].port, 1000 + i);
            }
        } else {
            assert_int_equal(rc, -1);
            check_message("17 sentinels", why, "more than 16 sentinels");
        }
    }
}

/* ---- through config_parse: flags, the environment and who wins ---- */

static void describe(const struct config *cfg, const char *key, char *out, size_t n)
{
    if (strcmp(key, "redis") == 0)
        describe_url(&cfg->redis, out, n);
    else if (strcmp(key, "durability") == 0)
        snprintf(out, n, "%d", cfg->durability_replicas);
    else if (strcmp(key, "durability_timeout_ms") == 0)
        snprintf(out, n, "%lld", cfg->durability_timeout_ms);
    else if (strcmp(key, "redis_password_file") == 0)
        snprintf(out, n, "%s", cfg->redis_password_file);
    else if (strcmp(key, "sentinel_password_file") == 0)
        snprintf(out, n, "%s", cfg->sentinel_password_file);
    else if (strcmp(key, "in_argv") == 0)
        snprintf(out, n, "%d", cfg->redis_password_in_argv);
    else
        fail_msg("describe: unknown key %s", key);
}

#define URL_UP "redis://bob:urlpw@h:1"
#define SURL "redis+sentinel://bob:urlpw@s1:1,s2/m/4"

static const struct option_case {
    const char *name;
    struct env_var env[4];
    const char *args[MAX_ARGS + 1];
    const char *key;
    const char *want;
} option_cases[] = {
    {"default redis",
     {{NULL, NULL}},
     {NULL},
     "redis",
     "direct host=127.0.0.1 port=6379 unix=" TAIL},
    {"default durability", {{NULL, NULL}}, {NULL}, "durability", "0"},
    {"default durability timeout", {{NULL, NULL}}, {NULL}, "durability_timeout_ms", "1000"},
    {"default password files", {{NULL, NULL}}, {NULL}, "redis_password_file", ""},
    {"sentinel URL by flag",
     {{NULL, NULL}},
     {"--redis", SURL},
     "redis",
     "sentinel s1:1,s2:26379 master=m db=4 user=bob password=urlpw suser= spassword="},
    {"sentinel URL by env",
     {{"STOCKD_REDIS_URL", SURL}},
     {NULL},
     "redis",
     "sentinel s1:1,s2:26379 master=m db=4 user=bob password=urlpw suser= spassword="},
    /* The user and password given beside the URL win over its own. */
    {"env user over the URL's",
     {{"STOCKD_REDIS_USER", "alice"}},
     {"--redis", URL_UP},
     "redis",
     "direct host=h port=1 unix= db=0 user=alice password=urlpw suser= spassword="},
    {"flag user over env user",
     {{"STOCKD_REDIS_USER", "alice"}},
     {"--redis-user", "carol", "--redis=" URL_UP},
     "redis",
     "direct host=h port=1 unix= db=0 user=carol password=urlpw suser= spassword="},
    {"user flag before the URL flag still wins",
     {{NULL, NULL}},
     {"--redis-user=carol", "--redis", URL_UP},
     "redis",
     "direct host=h port=1 unix= db=0 user=carol password=urlpw suser= spassword="},
    {"user with the password-only URL",
     {{NULL, NULL}},
     {"--redis-user=carol", "--redis", "redis://urlpw@h:1"},
     "redis",
     "direct host=h port=1 unix= db=0 user=carol password=urlpw suser= spassword="},
    {"env password over the flag URL's",
     {{"STOCKD_REDIS_PASSWORD", "envpw"}},
     {"--redis", URL_UP},
     "redis",
     "direct host=h port=1 unix= db=0 user=bob password=envpw suser= spassword="},
    {"env password over the env URL's",
     {{"STOCKD_REDIS_URL", URL_UP}, {"STOCKD_REDIS_PASSWORD", "envpw"}},
     {NULL},
     "redis",
     "direct host=h port=1 unix= db=0 user=bob password=envpw suser= spassword="},
    {"empty env password is none",
     {{"STOCKD_REDIS_URL", URL_UP}, {"STOCKD_REDIS_PASSWORD", ""}},
     {NULL},
     "redis",
     "direct host=h port=1 unix= db=0 user=bob password=urlpw suser= spassword="},
    {"sentinel credentials",
     {{"STOCKD_SENTINEL_USER", "sen"}, {"STOCKD_SENTINEL_PASSWORD", "senpw"}},
     {"--redis", SURL},
     "redis",
     "sentinel s1:1,s2:26379 master=m db=4 user=bob password=urlpw suser=sen spassword=senpw"},
    {"sentinel user flag over env",
     {{"STOCKD_SENTINEL_USER", "sen"}},
     {"--sentinel-user", "sen2", "--redis", SURL},
     "redis",
     "sentinel s1:1,s2:26379 master=m db=4 user=bob password=urlpw suser=sen2 spassword="},
    {"env password file",
     {{"STOCKD_REDIS_PASSWORD_FILE", "/run/a"}},
     {NULL},
     "redis_password_file",
     "/run/a"},
    {"flag password file over env",
     {{"STOCKD_REDIS_PASSWORD_FILE", "/run/a"}},
     {"--redis-password-file", "/run/b"},
     "redis_password_file",
     "/run/b"},
    {"env sentinel password file",
     {{"STOCKD_SENTINEL_PASSWORD_FILE", "/run/s"}},
     {NULL},
     "sentinel_password_file",
     "/run/s"},
    {"flag sentinel password file",
     {{NULL, NULL}},
     {"--sentinel-password-file=/run/t"},
     "sentinel_password_file",
     "/run/t"},
    /* Whether ps shows a password: only a --redis flag that holds one. */
    {"password in the --redis flag", {{NULL, NULL}}, {"--redis", URL_UP}, "in_argv", "1"},
    {"password in --redis=", {{NULL, NULL}}, {"--redis=" SURL}, "in_argv", "1"},
    {"password in an earlier --redis flag",
     {{NULL, NULL}},
     {"--redis", URL_UP, "--redis", "redis://h:2"},
     "in_argv",
     "1"},
    {"password in STOCKD_REDIS_URL", {{"STOCKD_REDIS_URL", URL_UP}}, {NULL}, "in_argv", "0"},
    {"the password-only form in --redis",
     {{"STOCKD_REDIS_PASSWORD", "envpw"}},
     {"--redis", "redis://bob@h:1", "--redis-user", "x"},
     "in_argv",
     "1"},
    {"--redis flag with a user only",
     {{"STOCKD_REDIS_PASSWORD", "envpw"}},
     {"--redis", "redis://bob:@h:1"},
     "in_argv",
     "0"},
    {"--redis flag without credentials",
     {{NULL, NULL}},
     {"--redis", "redis://h:1"},
     "in_argv",
     "0"},
    /* --durability */
    {"durability none", {{NULL, NULL}}, {"--durability", "none"}, "durability", "0"},
    {"durability replica", {{NULL, NULL}}, {"--durability", "replica"}, "durability", "1"},
    {"durability replica:1", {{NULL, NULL}}, {"--durability=replica:1"}, "durability", "1"},
    {"durability replica:16", {{NULL, NULL}}, {"--durability=replica:16"}, "durability", "16"},
    {"durability replica:2 by env",
     {{"STOCKD_DURABILITY", "replica:2"}},
     {NULL},
     "durability",
     "2"},
    {"durability flag over env",
     {{"STOCKD_DURABILITY", "replica:2"}},
     {"--durability", "none"},
     "durability",
     "0"},
    {"durability timeout by env",
     {{"STOCKD_DURABILITY_TIMEOUT_MS", "250"}},
     {NULL},
     "durability_timeout_ms",
     "250"},
    {"durability timeout flag over env",
     {{"STOCKD_DURABILITY_TIMEOUT_MS", "250"}},
     {"--durability-timeout-ms=1"},
     "durability_timeout_ms",
     "1"},
    {"durability timeout at its most, without durability",
     {{NULL, NULL}},
     {"--durability-timeout-ms", "600000"},
     "durability_timeout_ms",
     "600000"},
    {"durability timeout just below the request timeout",
     {{NULL, NULL}},
     {"--durability=replica", "--durability-timeout-ms=1999"},
     "durability_timeout_ms",
     "1999"},
};

static void test_options(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof option_cases / sizeof option_cases[0]; i++) {
        const struct option_case *tc = &option_cases[i];
        static struct config cfg;
        char err[512], got[8192];
        if (parse(&cfg, tc->env, tc->args, stdout, err, sizeof err) != CONFIG_OK)
            fail_msg("%s: refused: %s", tc->name, err);
        describe(&cfg, tc->key, got, sizeof got);
        if (strcmp(got, tc->want) != 0)
            fail_msg("%s: %s is '%s', expected '%s'", tc->name, tc->key, got, tc->want);
    }
}

/* ---- values refused, and the rules between options ---- */

static const struct error_case {
    const char *name;
    struct env_var env[4];
    const char *args[MAX_ARGS + 1];
    const char *mention[3]; /* parts the one-line message must hold */
} error_cases[] = {
    {"no master name",
     {{NULL, NULL}},
     {"--redis", "redis+sentinel://u:" PW "@h:1"},
     {"stockd: invalid value for --redis: redis+sentinel URL has no master name", NULL}},
    {"empty host list",
     {{NULL, NULL}},
     {"--redis=redis+sentinel:///m"},
     {"--redis: empty host list", NULL}},
    {"empty element",
     {{NULL, NULL}},
     {"--redis=redis+sentinel://u:" PW "@h:1,,h2:2/m"},
     {"empty host list element (sentinel address 2)", NULL}},
    {"bad port",
     {{NULL, NULL}},
     {"--redis", "redis+sentinel://a:1,b:99999/m"},
     {"bad port '99999' in sentinel address 2", NULL}},
    {"bad port from env",
     {{"STOCKD_REDIS_URL", "redis+sentinel://u:" PW "@b:99999/m"}},
     {NULL},
     {"bad port '99999' in sentinel address 1", "(from STOCKD_REDIS_URL)", NULL}},
    {"bad direct URL",
     {{"STOCKD_REDIS_URL", "redis://u:" PW "@h:1/x"}},
     {NULL},
     {"--redis: db is not a number", "STOCKD_REDIS_URL", NULL}},
    {"too long env password",
     {{"STOCKD_REDIS_PASSWORD", PW N256}},
     {NULL},
     {"STOCKD_REDIS_PASSWORD is longer than 255 bytes", NULL}},
    {"too long env sentinel password",
     {{"STOCKD_SENTINEL_PASSWORD", PW N256}},
     {NULL},
     {"STOCKD_SENTINEL_PASSWORD is longer than 255 bytes", NULL}},
    {"too long user", {{NULL, NULL}}, {"--redis-user", N256}, {"--redis-user", NULL}},
    {"too long sentinel user",
     {{"STOCKD_SENTINEL_USER", N256}},
     {NULL},
     {"--sentinel-user", "STOCKD_SENTINEL_USER", NULL}},
    {"durability replica:0",
     {{NULL, NULL}},
     {"--durability", "replica:0"},
     {"--durability", "'replica:0'", NULL}},
    {"durability replica:17",
     {{NULL, NULL}},
     {"--durability=replica:17"},
     {"--durability", "'replica:17'", NULL}},
    {"durability replica:x", {{NULL, NULL}}, {"--durability=replica:x"}, {"--durability", NULL}},
    {"durability replica:", {{NULL, NULL}}, {"--durability=replica:"}, {"--durability", NULL}},
    {"durability replica:1x", {{NULL, NULL}}, {"--durability=replica:1x"}, {"--durability", NULL}},
    {"durability replica:-1", {{NULL, NULL}}, {"--durability=replica:-1"}, {"--durability", NULL}},
    {"durability huge",
     {{NULL, NULL}},
     {"--durability=replica:99999999999999999999"},
     {"--durability", NULL}},
    {"durability replicas", {{NULL, NULL}}, {"--durability=replicas"}, {"--durability", NULL}},
    {"durability Replica", {{NULL, NULL}}, {"--durability=Replica"}, {"--durability", NULL}},
    {"durability all", {{NULL, NULL}}, {"--durability", "all"}, {"--durability", NULL}},
    {"durability none:1", {{NULL, NULL}}, {"--durability", "none:1"}, {"--durability", NULL}},
    {"durability empty", {{NULL, NULL}}, {"--durability="}, {"--durability", NULL}},
    {"durability from env",
     {{"STOCKD_DURABILITY", "quorum"}},
     {NULL},
     {"--durability", "STOCKD_DURABILITY", NULL}},
    {"durability timeout 0",
     {{NULL, NULL}},
     {"--durability-timeout-ms=0"},
     {"--durability-timeout-ms", NULL}},
    {"durability timeout too big",
     {{NULL, NULL}},
     {"--durability-timeout-ms=600001"},
     {"--durability-timeout-ms", NULL}},
    {"WAIT as long as a request",
     {{NULL, NULL}},
     {"--durability", "replica", "--durability-timeout-ms=2000"},
     {"--durability-timeout-ms (2000) must be below --request-timeout-ms (2000)", NULL}},
    {"WAIT longer than a request",
     {{"STOCKD_DURABILITY", "replica:2"}},
     {"--request-timeout-ms=500", "--durability-timeout-ms=800"},
     {"--durability-timeout-ms (800) must be below --request-timeout-ms (500)", "replica:2", NULL}},
    {"WAIT as long as a stuck Redis",
     {{NULL, NULL}},
     {"--durability=replica:3", "--request-timeout-ms=9000", "--durability-timeout-ms=5000"},
     {"--durability-timeout-ms (5000) must be below --redis-stuck-ms (5000)", NULL}},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *tc = &error_cases[i];
        static struct config cfg;
        char err[512];
        enum config_result rc = parse(&cfg, tc->env, tc->args, stdout, err, sizeof err);
        if (rc != CONFIG_ERROR)
            fail_msg("%s: result %d, expected CONFIG_ERROR", tc->name, rc);
        for (int k = 0; k < 3 && tc->mention[k] != NULL; k++)
            check_message(tc->name, err, tc->mention[k]);
        check_message(tc->name, err, "stockd");
    }
}

/* Without durability the WAIT's timeout ties nothing. */
static void test_timeout_free_without_durability(void **state)
{
    (void)state;
    static const char *const args[] = {"--durability-timeout-ms=9000", "--request-timeout-ms=100",
                                       "--redis-stuck-ms=100", NULL};
    static struct config cfg;
    char err[512];
    if (parse(&cfg, no_env, args, stdout, err, sizeof err) != CONFIG_OK)
        fail_msg("refused: %s", err);
    assert_int_equal(cfg.durability_replicas, 0);
    assert_int_equal(cfg.durability_timeout_ms, 9000);
}

/* --help names the new flags and says that passwords stay off the command
 * line. */
static void test_help(void **state)
{
    (void)state;
    static const char *const mentions[] = {"redis+sentinel://",
                                           "26379",
                                           "--redis-user",
                                           "STOCKD_REDIS_USER",
                                           "--redis-password-file",
                                           "STOCKD_REDIS_PASSWORD_FILE",
                                           "--sentinel-user",
                                           "STOCKD_SENTINEL_USER",
                                           "--sentinel-password-file",
                                           "STOCKD_SENTINEL_PASSWORD",
                                           "--durability ",
                                           "replica:N",
                                           "STOCKD_DURABILITY",
                                           "--durability-timeout-ms",
                                           "STOCKD_DURABILITY_TIMEOUT_MS",
                                           "never belong on the command line",
                                           "STOCKD_REDIS_PASSWORD,",
                                           NULL};
    static const char *const args[] = {"--help", NULL};
    static struct config cfg;
    char err[512];
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(parse(&cfg, no_env, args, out, err, sizeof err), CONFIG_EXIT);
    long n = ftell(out);
    assert_true(n > 0);
    rewind(out);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, out), (size_t)n);
    fclose(out);
    for (size_t i = 0; mentions[i] != NULL; i++)
        if (strstr(text, mentions[i]) == NULL)
            fail_msg("--help lacks '%s':\n%s", mentions[i], text);
    free(text);
}

/* ---- stockd-export: one blocking connection, no Sentinel ---- */

static enum config_result export_parse(struct export_config *cfg, const struct env_var *env,
                                       const char *const *args, char *err, size_t errlen)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"stockd-export";
    for (size_t i = 0; i < MAX_ARGS && args[i] != NULL; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    current_env = env;
    enum config_result rc = export_options_parse(cfg, argc, argv, fake_getenv, stdout, err, errlen);
    current_env = NULL;
    return rc;
}

static void test_export_refuses_sentinel(void **state)
{
    (void)state;
    static struct export_config cfg;
    char err[512];
    static const char *const flag_args[] = {"--redis", "redis+sentinel://h:1,h2:2/m", NULL};
    static const char *const no_args[] = {NULL};
    static const struct env_var env[] = {{"STOCKD_REDIS_URL", "redis+sentinel://u:" PW "@h:1/m"},
                                         {NULL, NULL}};
    static const struct env_var bad_env[] = {{"STOCKD_REDIS_URL", "redis+sentinel://u:" PW "@h:1"},
                                             {NULL, NULL}};

    assert_int_equal(export_parse(&cfg, no_env, flag_args, err, sizeof err), CONFIG_ERROR);
    check_message("export flag", err, "stockd-export does not follow Sentinel");
    check_message("export flag", err, "redis:// or unix:// URL");
    assert_int_equal(export_parse(&cfg, env, no_args, err, sizeof err), CONFIG_ERROR);
    check_message("export env", err, "does not follow Sentinel");
    check_message("export env", err, "STOCKD_REDIS_URL");
    /* A bad URL says why, as stockd's does. */
    assert_int_equal(export_parse(&cfg, bad_env, no_args, err, sizeof err), CONFIG_ERROR);
    check_message("export bad env", err, "stockd-export: invalid value for --redis: ");
    check_message("export bad env", err, "no master name");
    /* A direct URL is taken as before. */
    static const char *const ok_args[] = {"--redis", "redis://h:7/1", NULL};
    if (export_parse(&cfg, no_env, ok_args, err, sizeof err) != CONFIG_OK)
        fail_msg("export direct URL refused: %s", err);
    assert_int_equal(cfg.redis.mode, REDIS_DIRECT);
    assert_string_equal(cfg.redis.host, "h");
    assert_int_equal(cfg.redis.port, 7);
    assert_int_equal(cfg.redis.db, 1);
}

static void test_export_refuses_cluster(void **state)
{
    (void)state;
    static struct export_config cfg;
    char err[512];
    static const char *const flag_args[] = {"--redis", "redis+cluster://h:1,h2:2", NULL};
    static const char *const no_args[] = {NULL};
    static const struct env_var env[] = {{"STOCKD_REDIS_URL", "redis+cluster://u:" PW "@h:1"},
                                         {NULL, NULL}};
    assert_int_equal(export_parse(&cfg, no_env, flag_args, err, sizeof err), CONFIG_ERROR);
    check_message("export cluster flag", err, "stockd-export does not speak Redis Cluster");
    check_message("export cluster flag", err, "not redis+cluster://");
    assert_int_equal(export_parse(&cfg, env, no_args, err, sizeof err), CONFIG_ERROR);
    check_message("export cluster env", err, "does not speak Redis Cluster");
    assert_int_equal(cfg.redis.password[0], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_sentinel_count),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_timeout_free_without_durability),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_export_refuses_sentinel),
        cmocka_unit_test(test_export_refuses_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
