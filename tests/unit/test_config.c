/* Unit tests of start-up configuration (config.h): defaults, environment and
 * flag precedence, both flag spellings, every kind of bad value with its
 * one-line message, --help and --version, and the Redis URL parser
 * (test_flags.c has the host:port parser). The environment is a table read
 * through the callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"

/* 16 and 128 bytes of 'n', for identifiers and paths at their limits. */
#define N16 "nnnnnnnnnnnnnnnn"
#define N128 N16 N16 N16 N16 N16 N16 N16 N16

#define MAX_ARGS 8
#define MAX_ENV 4

#include "config_env.h"

/* Writes one setting of cfg as text, so that table cases can name a setting
 * and its expected value as strings. */
static void describe(const struct config *cfg, const char *key, char *out, size_t n)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    const struct redis_url *r = &cfg->redis;
    if (strcmp(key, "listen") == 0)
        snprintf(out, n, "%s:%d", cfg->listen_host, cfg->listen_port);
    else if (strcmp(key, "http") == 0)
        snprintf(out, n, "%s:%d", cfg->http_host, cfg->http_port);
    else if (strcmp(key, "redis") == 0)
        snprintf(out, n, "host=%s port=%d db=%d unix=%s user=%s password=%s", r->host, r->port,
                 r->db, r->unix_path, r->user, r->password);
    else if (strcmp(key, "namespace") == 0)
        snprintf(out, n, "%.*s", (int)cfg->ns.s.n, cfg->ns.s.p ? cfg->ns.s.p : "(null)");
    else if (strcmp(key, "auth_token") == 0)
        snprintf(out, n, "%s", cfg->auth_token);
    else if (strcmp(key, "auth_token_file") == 0)
        snprintf(out, n, "%s", cfg->auth_token_file);
    else if (strcmp(key, "request_timeout_ms") == 0)
        snprintf(out, n, "%lld", cfg->request_timeout_ms);
    else if (strcmp(key, "redis_stuck_ms") == 0)
        snprintf(out, n, "%lld", cfg->redis_stuck_ms);
    else if (strcmp(key, "batch_max") == 0)
        snprintf(out, n, "%lld", cfg->batch_max);
    else if (strcmp(key, "auth_timeout_ms") == 0)
        snprintf(out, n, "%lld", cfg->auth_timeout_ms);
    else if (strcmp(key, "write_timeout_ms") == 0)
        snprintf(out, n, "%lld", cfg->write_timeout_ms);
    else if (strcmp(key, "default_ttl_ms") == 0)
        snprintf(out, n, "%lld", cfg->default_ttl_ms);
    else if (strcmp(key, "sweep_interval_ms") == 0)
        snprintf(out, n, "%lld", cfg->sweep_interval_ms);
    else if (strcmp(key, "retention_s") == 0)
        snprintf(out, n, "%lld", cfg->retention_s);
    else if (strcmp(key, "max_request_bytes") == 0)
        snprintf(out, n, "%lld", cfg->max_request_bytes);
    else if (strcmp(key, "max_items") == 0)
        snprintf(out, n, "%lld", cfg->max_items);
    else if (strcmp(key, "max_connections") == 0)
        snprintf(out, n, "%lld", cfg->max_connections);
    else if (strcmp(key, "max_pipeline") == 0)
        snprintf(out, n, "%lld", cfg->max_pipeline);
    else if (strcmp(key, "max_inflight") == 0)
        snprintf(out, n, "%lld", cfg->max_inflight);
    else if (strcmp(key, "max_output_bytes") == 0)
        snprintf(out, n, "%lld", cfg->max_output_bytes);
    else if (strcmp(key, "idle_timeout_ms") == 0)
        snprintf(out, n, "%lld", cfg->idle_timeout_ms);
    else if (strcmp(key, "line_timeout_ms") == 0)
        snprintf(out, n, "%lld", cfg->line_timeout_ms);
    else if (strcmp(key, "ledger_maxlen") == 0)
        snprintf(out, n, "%lld", cfg->ledger_maxlen);
    else if (strcmp(key, "log_level") == 0)
        snprintf(out, n, "%s", (unsigned)cfg->log_level < 4 ? levels[cfg->log_level] : "?");
    else if (strcmp(key, "log_format") == 0)
        snprintf(out, n, "%s", cfg->log_format == LOG_TEXT ? "text"
                               : cfg->log_format == LOG_JSON ? "json"
                                                             : "?");
    else
        fail_msg("describe: unknown key %s", key);
}

/* ---- defaults ---- */

static const struct setting {
    const char *key;
    const char *want;
} default_settings[] = {
    {"listen", "127.0.0.1:7400"},
    {"http", "127.0.0.1:9400"},
    {"redis", "host=127.0.0.1 port=6379 db=0 unix= user= password="},
    {"namespace", "inv"},
    {"auth_token", ""},
    {"auth_token_file", ""},
    {"request_timeout_ms", "2000"},
    {"redis_stuck_ms", "5000"},
    {"batch_max", "64"},
    {"auth_timeout_ms", "10000"},
    {"write_timeout_ms", "30000"},
    {"default_ttl_ms", "900000"},
    {"sweep_interval_ms", "250"},
    {"retention_s", "86400"},
    {"max_request_bytes", "65536"},
    {"max_items", "100"},
    {"max_connections", "10000"},
    {"max_pipeline", "1024"},
    {"max_inflight", "100000"},
    {"max_output_bytes", "1048576"},
    {"idle_timeout_ms", "300000"},
    {"line_timeout_ms", "10000"},
    {"ledger_maxlen", "1000000"},
    {"log_level", "info"},
    {"log_format", "text"},
};

static void test_defaults(void **state)
{
    (void)state;
    static const struct env_var empty_env[] = {{NULL, NULL}};
    static const char *const no_args[] = {NULL};
    /* An environment holding only unrelated variables changes nothing. */
    static const struct env_var unrelated_env[] = {
        {"HOME", "/root"}, {"STOCKD_UNKNOWN", "1"}, {"LISTEN", "x"}, {NULL, NULL}};
    const struct env_var *envs[] = {empty_env, unrelated_env, NULL};

    for (size_t e = 0; envs[e] != NULL; e++) {
        struct config cfg;
        char errbuf[256];
        memset(&cfg, 0x5a, sizeof cfg);
        if (parse(&cfg, envs[e], no_args, stdout, errbuf, sizeof errbuf) != CONFIG_OK)
            fail_msg("defaults: %s", errbuf);
        for (size_t i = 0; i < sizeof default_settings / sizeof default_settings[0]; i++) {
            char got[8192];
            describe(&cfg, default_settings[i].key, got, sizeof got);
            if (strcmp(got, default_settings[i].want) != 0)
                fail_msg("default %s is '%s', expected '%s'", default_settings[i].key, got,
                         default_settings[i].want);
        }
        /* ns points into the config's own buffer. */
        assert_ptr_equal(cfg.ns.s.p, cfg.namespace_buf);
        assert_string_equal(cfg.namespace_buf, "inv");
        assert_string_equal(errbuf, "");
    }
}

/* ---- overrides: environment over default, flag over environment ---- */

static const struct override_case {
    const char *name;
    struct env_var env[MAX_ENV];
    const char *args[MAX_ARGS + 1];
    const char *key;
    const char *want;
} override_cases[] = {
    {"env listen", {{"STOCKD_LISTEN", "0.0.0.0:7000"}}, {NULL}, "listen", "0.0.0.0:7000"},
    {"flag listen", {{NULL, NULL}}, {"--listen", "10.0.0.1:1"}, "listen", "10.0.0.1:1"},
    {"flag listen with =", {{NULL, NULL}}, {"--listen=10.0.0.2:2"}, "listen", "10.0.0.2:2"},
    {"flag beats env listen", {{"STOCKD_LISTEN", "0.0.0.0:7000"}}, {"--listen", "10.0.0.1:1"},
     "listen", "10.0.0.1:1"},
    {"listen on IPv6", {{NULL, NULL}}, {"--listen=[::1]:7401"}, "listen", "::1:7401"},
    {"listen on port 0", {{NULL, NULL}}, {"--listen", "127.0.0.1:0"}, "listen", "127.0.0.1:0"},
    {"env http", {{"STOCKD_HTTP", "0.0.0.0:9500"}}, {NULL}, "http", "0.0.0.0:9500"},
    {"flag beats env http", {{"STOCKD_HTTP", "0.0.0.0:9500"}}, {"--http=localhost:9600"}, "http",
     "localhost:9600"},
    {"env redis", {{"STOCKD_REDIS_URL", "redis://r.example:6380/2"}}, {NULL}, "redis",
     "host=r.example port=6380 db=2 unix= user= password="},
    {"flag redis with credentials", {{NULL, NULL}}, {"--redis", "redis://u:p@h:1/3"}, "redis",
     "host=h port=1 db=3 unix= user=u password=p"},
    {"flag beats env redis", {{"STOCKD_REDIS_URL", "redis://a:1"}},
     {"--redis=unix:///run/redis.sock"}, "redis",
     "host= port=0 db=0 unix=/run/redis.sock user= password="},
    {"env namespace", {{"STOCKD_NAMESPACE", "shop-eu"}}, {NULL}, "namespace", "shop-eu"},
    {"flag beats env namespace", {{"STOCKD_NAMESPACE", "shop-eu"}}, {"--namespace", "shop-us"},
     "namespace", "shop-us"},
    {"namespace of 128 bytes", {{NULL, NULL}},
     {"--namespace=" N128}, "namespace", N128},
    {"env auth token", {{"STOCKD_AUTH_TOKEN", "s3cret"}}, {NULL}, "auth_token", "s3cret"},
    {"empty auth token is none", {{"STOCKD_AUTH_TOKEN", ""}}, {NULL}, "auth_token", ""},
    {"flag auth token file", {{NULL, NULL}}, {"--auth-token-file", "/etc/stockd/token"},
     "auth_token_file", "/etc/stockd/token"},
    {"env request timeout", {{"STOCKD_REQUEST_TIMEOUT_MS", "1500"}}, {NULL},
     "request_timeout_ms", "1500"},
    {"flag beats env request timeout", {{"STOCKD_REQUEST_TIMEOUT_MS", "1500"}},
     {"--request-timeout-ms=3000"}, "request_timeout_ms", "3000"},
    {"env default ttl", {{"STOCKD_DEFAULT_TTL_MS", "60000"}}, {NULL}, "default_ttl_ms", "60000"},
    {"flag default ttl", {{NULL, NULL}}, {"--default-ttl-ms", "1000"}, "default_ttl_ms", "1000"},
    {"env sweep interval", {{"STOCKD_SWEEP_INTERVAL_MS", "100"}}, {NULL}, "sweep_interval_ms",
     "100"},
    {"flag beats env sweep interval", {{"STOCKD_SWEEP_INTERVAL_MS", "100"}},
     {"--sweep-interval-ms", "50"}, "sweep_interval_ms", "50"},
    {"env retention", {{"STOCKD_RETENTION_S", "3600"}}, {NULL}, "retention_s", "3600"},
    {"flag retention", {{NULL, NULL}}, {"--retention-s=7200"}, "retention_s", "7200"},
    {"env max request bytes", {{"STOCKD_MAX_REQUEST_BYTES", "1024"}}, {NULL},
     "max_request_bytes", "1024"},
    {"flag beats env max request bytes", {{"STOCKD_MAX_REQUEST_BYTES", "1024"}},
     {"--max-request-bytes", "2048"}, "max_request_bytes", "2048"},
    {"env max items", {{"STOCKD_MAX_ITEMS", "5"}}, {NULL}, "max_items", "5"},
    {"flag beats env max items", {{"STOCKD_MAX_ITEMS", "5"}}, {"--max-items=7"}, "max_items",
     "7"},
    {"env max connections", {{"STOCKD_MAX_CONNECTIONS", "20"}}, {NULL}, "max_connections", "20"},
    {"flag max connections", {{NULL, NULL}}, {"--max-connections", "30"}, "max_connections",
     "30"},
    {"env log level", {{"STOCKD_LOG_LEVEL", "debug"}}, {NULL}, "log_level", "debug"},
    {"flag log level warn", {{NULL, NULL}}, {"--log-level", "warn"}, "log_level", "warn"},
    {"flag beats env log level", {{"STOCKD_LOG_LEVEL", "debug"}}, {"--log-level=error"},
     "log_level", "error"},
    {"env log format", {{"STOCKD_LOG_FORMAT", "json"}}, {NULL}, "log_format", "json"},
    {"flag beats env log format", {{"STOCKD_LOG_FORMAT", "json"}}, {"--log-format", "text"},
     "log_format", "text"},
    {"the last flag wins", {{NULL, NULL}}, {"--max-items", "5", "--max-items=6"}, "max_items",
     "6"},
    {"other flags leave a setting alone", {{"STOCKD_MAX_ITEMS", "9"}},
     {"--log-level", "warn", "--listen=1.2.3.4:5"}, "max_items", "9"},
    {"one env var does not leak into another", {{"STOCKD_LISTEN", "0.0.0.0:7000"}}, {NULL},
     "http", "127.0.0.1:9400"},
};

static void test_overrides(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof override_cases / sizeof override_cases[0]; i++) {
        const struct override_case *tc = &override_cases[i];
        struct config cfg;
        char errbuf[256];
        if (parse(&cfg, tc->env, tc->args, stdout, errbuf, sizeof errbuf) != CONFIG_OK)
            fail_msg("%s: %s", tc->name, errbuf);
        char got[8192];
        describe(&cfg, tc->key, got, sizeof got);
        if (strcmp(got, tc->want) != 0)
            fail_msg("%s: %s is '%s', expected '%s'", tc->name, tc->key, got, tc->want);
    }
}

/* ---- integer options at and beyond their bounds ---- */

/* The bounds of config.c's option table. */
static const struct int_option {
    const char *flag;
    const char *env;
    const char *key;
    long long min, max;
} int_options[] = {
    {"request-timeout-ms", "STOCKD_REQUEST_TIMEOUT_MS", "request_timeout_ms", 10, 600000},
    {"redis-stuck-ms", "STOCKD_REDIS_STUCK_MS", "redis_stuck_ms", 100, 600000},
    {"batch-max", "STOCKD_BATCH_MAX", "batch_max", 1, 1024},
    {"auth-timeout-ms", "STOCKD_AUTH_TIMEOUT_MS", "auth_timeout_ms", 100, 3600000},
    {"write-timeout-ms", "STOCKD_WRITE_TIMEOUT_MS", "write_timeout_ms", 100, 3600000},
    {"default-ttl-ms", "STOCKD_DEFAULT_TTL_MS", "default_ttl_ms", 1000, 86400000},
    {"sweep-interval-ms", "STOCKD_SWEEP_INTERVAL_MS", "sweep_interval_ms", 10, 60000},
    {"retention-s", "STOCKD_RETENTION_S", "retention_s", 1, 31536000},
    {"max-request-bytes", "STOCKD_MAX_REQUEST_BYTES", "max_request_bytes", 256, 16777216},
    {"max-items", "STOCKD_MAX_ITEMS", "max_items", 1, 1000},
    {"max-connections", "STOCKD_MAX_CONNECTIONS", "max_connections", 1, 1000000},
    {"max-pipeline", "STOCKD_MAX_PIPELINE", "max_pipeline", 1, 1000000},
    {"max-inflight", "STOCKD_MAX_INFLIGHT", "max_inflight", 1, 10000000},
    {"max-output-bytes", "STOCKD_MAX_OUTPUT_BYTES", "max_output_bytes", 4096, 1073741824},
    {"idle-timeout-ms", "STOCKD_IDLE_TIMEOUT_MS", "idle_timeout_ms", 100, 86400000},
    {"line-timeout-ms", "STOCKD_LINE_TIMEOUT_MS", "line_timeout_ms", 100, 3600000},
    {"ledger-maxlen", "STOCKD_LEDGER_MAXLEN", "ledger_maxlen", 1000, 1000000000},
};

/* Values that are never a whole number in range, whatever the option. */
static const char *const not_numbers[] = {
    "", "abc", "1.5", "12abc", "0x10", "1e3", "-1", "0", "99999999999999999999", NULL};

/* Checks that errbuf is a single non-empty line mentioning want. */
static void check_error_line(const char *what, const char *errbuf, const char *want)
{
    if (errbuf[0] == '\0')
        fail_msg("%s: CONFIG_ERROR with an empty message", what);
    if (strchr(errbuf, '\n') != NULL)
        fail_msg("%s: the message is more than one line: %s", what, errbuf);
    if (want != NULL && strstr(errbuf, want) == NULL)
        fail_msg("%s: the message '%s' does not mention '%s'", what, errbuf, want);
}

static void test_int_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof int_options / sizeof int_options[0]; i++) {
        const struct int_option *o = &int_options[i];
        const long long values[4] = {o->min, o->max, o->min - 1, o->max + 1};
        for (int k = 0; k < 4; k++) {
            bool ok = k < 2;
            char num[32], eq[96], what[160];
            snprintf(num, sizeof num, "%lld", values[k]);
            snprintf(eq, sizeof eq, "--%s=%s", o->flag, num);
            struct config cfg;
            char errbuf[256];
            char got[8192];

            /* As --flag=value, --flag value, and from the environment. */
            const char *args_eq[] = {eq, NULL};
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", o->flag);
            const char *args_sep[] = {flag, num, NULL};
            const struct env_var env[] = {{o->env, num}, {NULL, NULL}};
            static const struct env_var no_env[] = {{NULL, NULL}};
            static const char *const no_args[] = {NULL};
            const struct {
                const struct env_var *env;
                const char *const *args;
                const char *how;
            } ways[] = {{no_env, args_eq, "--flag=value"},
                        {no_env, args_sep, "--flag value"},
                        {env, no_args, "environment"}};
            for (size_t w = 0; w < 3; w++) {
                snprintf(what, sizeof what, "%s = %s (%s)", o->flag, num, ways[w].how);
                enum config_result rc =
                    parse(&cfg, ways[w].env, ways[w].args, stdout, errbuf, sizeof errbuf);
                if (ok) {
                    if (rc != CONFIG_OK)
                        fail_msg("%s: rejected: %s", what, errbuf);
                    describe(&cfg, o->key, got, sizeof got);
                    if (strcmp(got, num) != 0)
                        fail_msg("%s: set to %s", what, got);
                } else {
                    if (rc != CONFIG_ERROR)
                        fail_msg("%s: accepted", what);
                    /* The message names the flag, and the variable when the
                     * value came from the environment. */
                    check_error_line(what, errbuf, o->flag);
                    if (w == 2)
                        check_error_line(what, errbuf, o->env);
                }
            }
        }

        /* Values that are not numbers at all, or obviously out of range. */
        for (const char *const *v = not_numbers; *v != NULL; v++) {
            char eq[96], what[160];
            snprintf(eq, sizeof eq, "--%s=%s", o->flag, *v);
            snprintf(what, sizeof what, "%s", eq);
            const char *args[] = {eq, NULL};
            static const struct env_var no_env[] = {{NULL, NULL}};
            struct config cfg;
            char errbuf[256];
            if (parse(&cfg, no_env, args, stdout, errbuf, sizeof errbuf) != CONFIG_ERROR)
                fail_msg("%s: accepted", what);
            check_error_line(what, errbuf, o->flag);
        }
    }
}

/* ---- secrets ---- */

/* A Redis URL can hold a password: a rejected one is never echoed. */
static void test_error_hides_password(void **state)
{
    (void)state;
    static const struct env_var env[] = {{"STOCKD_REDIS_URL", "redis://admin:hunter2@h:99999"},
                                         {NULL, NULL}};
    static const char *const no_args[] = {NULL};
    static const char *const flag_args[] = {"--redis", "redis://admin:hunter2@h:1/x", NULL};
    static const struct env_var no_env[] = {{NULL, NULL}};
    struct config cfg;
    char errbuf[256];
    assert_int_equal(parse(&cfg, env, no_args, stdout, errbuf, sizeof errbuf), CONFIG_ERROR);
    assert_null(strstr(errbuf, "hunter2"));
    check_error_line("env redis", errbuf, "redis");
    assert_int_equal(parse(&cfg, no_env, flag_args, stdout, errbuf, sizeof errbuf), CONFIG_ERROR);
    assert_null(strstr(errbuf, "hunter2"));
}

/* ---- bad flags and values ---- */

static const struct error_case {
    const char *name;
    struct env_var env[MAX_ENV];
    const char *args[MAX_ARGS + 1];
    const char *mention; /* a part the one-line message must hold */
} error_cases[] = {
    /* Regressions: one line whatever the value holds, no password echoed,
     * no sign or space before a number. */
    {"newline in a value", {{NULL, NULL}}, {"--namespace", "a\nb"}, "namespace"},
    {"newline in an unknown flag", {{NULL, NULL}}, {"--no\npe"}, "--no?pe"},
    {"plus sign before a number", {{NULL, NULL}}, {"--max-items", "+5"}, "max-items"},
    {"space before a number", {{NULL, NULL}}, {"--max-items", " 5"}, "max-items"},
    {"plus sign before a port", {{NULL, NULL}}, {"--listen", "h:+80"}, "listen"},
    {"space before a port", {{NULL, NULL}}, {"--listen", "h: 80"}, "listen"},
    {"unknown flag", {{NULL, NULL}}, {"--nope"}, "--nope"},
    {"unknown flag with a value", {{NULL, NULL}}, {"--nope=1"}, "--nope"},
    {"flag names are case-sensitive", {{NULL, NULL}}, {"--Listen", "1.2.3.4:5"}, "--Listen"},
    {"a prefix of a flag", {{NULL, NULL}}, {"--max", "5"}, "--max"},
    {"a bare double dash", {{NULL, NULL}}, {"--"}, NULL},
    {"single-dash flag", {{NULL, NULL}}, {"-x"}, "-x"},
    {"positional argument", {{NULL, NULL}}, {"extra"}, "extra"},
    {"missing value at the end", {{NULL, NULL}}, {"--listen"}, "listen"},
    {"missing value after a good flag", {{NULL, NULL}}, {"--max-items", "5", "--namespace"},
     "namespace"},
    {"listen without a port", {{NULL, NULL}}, {"--listen", "localhost"}, "listen"},
    {"listen with an empty port", {{NULL, NULL}}, {"--listen=localhost:"}, "listen"},
    {"listen without a host", {{NULL, NULL}}, {"--listen=:7400"}, "listen"},
    {"listen port too big", {{NULL, NULL}}, {"--listen=h:65536"}, "listen"},
    {"listen port negative", {{NULL, NULL}}, {"--listen=h:-1"}, "listen"},
    {"listen port not a number", {{NULL, NULL}}, {"--listen=h:http"}, "listen"},
    {"listen port with junk", {{NULL, NULL}}, {"--listen=h:80x"}, "listen"},
    {"listen IPv6 without a colon", {{NULL, NULL}}, {"--listen=[::1]7400"}, "listen"},
    {"listen IPv6 unclosed", {{NULL, NULL}}, {"--listen=[::1:7400"}, "listen"},
    {"empty listen", {{NULL, NULL}}, {"--listen="}, "listen"},
    {"bad http", {{NULL, NULL}}, {"--http", "nope"}, "http"},
    {"bad env listen", {{"STOCKD_LISTEN", "nope"}}, {NULL}, "STOCKD_LISTEN"},
    {"redis with another scheme", {{NULL, NULL}}, {"--redis", "http://x"}, "redis"},
    {"redis port too big", {{NULL, NULL}}, {"--redis=redis://h:99999"}, "redis"},
    {"redis db not a number", {{NULL, NULL}}, {"--redis=redis://h:1/x"}, "redis"},
    {"redis relative unix path", {{NULL, NULL}}, {"--redis=unix://relative"}, "redis"},
    {"bad env redis", {{"STOCKD_REDIS_URL", "localhost:6379"}}, {NULL}, "STOCKD_REDIS_URL"},
    {"namespace with a colon", {{NULL, NULL}}, {"--namespace", "a:b"}, "namespace"},
    {"namespace with braces", {{NULL, NULL}}, {"--namespace={inv}"}, "namespace"},
    {"namespace with a space", {{NULL, NULL}}, {"--namespace=a b"}, "namespace"},
    {"empty namespace", {{NULL, NULL}}, {"--namespace="}, "namespace"},
    {"namespace too long", {{NULL, NULL}},
     {"--namespace=" N128 "n"}, "namespace"},
    {"bad env namespace", {{"STOCKD_NAMESPACE", "a:b"}}, {NULL}, "STOCKD_NAMESPACE"},
    {"unknown log level", {{NULL, NULL}}, {"--log-level", "verbose"}, "log-level"},
    {"log level in capitals", {{NULL, NULL}}, {"--log-level=INFO"}, "log-level"},
    {"empty log level", {{NULL, NULL}}, {"--log-level="}, "log-level"},
    {"bad env log level", {{"STOCKD_LOG_LEVEL", "trace"}}, {NULL}, "STOCKD_LOG_LEVEL"},
    {"unknown log format", {{NULL, NULL}}, {"--log-format", "xml"}, "log-format"},
    {"log format in capitals", {{NULL, NULL}}, {"--log-format=JSON"}, "log-format"},
    {"bad env log format", {{"STOCKD_LOG_FORMAT", "yaml"}}, {NULL}, "STOCKD_LOG_FORMAT"},
    {"bad env number", {{"STOCKD_MAX_ITEMS", "many"}}, {NULL}, "STOCKD_MAX_ITEMS"},
    {"an error after good flags", {{NULL, NULL}}, {"--max-items=5", "--log-level=loud"},
     "log-level"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *tc = &error_cases[i];
        struct config cfg;
        char errbuf[512];
        enum config_result rc = parse(&cfg, tc->env, tc->args, stdout, errbuf, sizeof errbuf);
        if (rc != CONFIG_ERROR)
            fail_msg("%s: result %d, expected CONFIG_ERROR", tc->name, rc);
        check_error_line(tc->name, errbuf, tc->mention);
    }
}

static void test_auth_token_too_long(void **state)
{
    (void)state;
    char token[2000];
    memset(token, 't', sizeof token - 1);
    token[sizeof token - 1] = '\0';
    const struct env_var env[] = {{"STOCKD_AUTH_TOKEN", token}, {NULL, NULL}};
    static const char *const no_args[] = {NULL};
    struct config cfg;
    char errbuf[256];
    assert_int_equal(parse(&cfg, env, no_args, stdout, errbuf, sizeof errbuf), CONFIG_ERROR);
    check_error_line("long token", errbuf, "STOCKD_AUTH_TOKEN");
    /* The token itself must never end up in a message. */
    assert_null(strstr(errbuf, "tttttttt"));

    /* The longest token that fits is taken whole. */
    token[sizeof cfg.auth_token - 1] = '\0';
    assert_int_equal(parse(&cfg, env, no_args, stdout, errbuf, sizeof errbuf), CONFIG_OK);
    assert_int_equal(strlen(cfg.auth_token), sizeof cfg.auth_token - 1);
}

/* A small errbuf gets a cut message, still NUL-terminated. */
static void test_small_errbuf(void **state)
{
    (void)state;
    static const struct env_var no_env[] = {{NULL, NULL}};
    static const char *const args[] = {"--max-items=99999", NULL};
    struct config cfg;
    char errbuf[17];
    memset(errbuf, 'X', sizeof errbuf);
    assert_int_equal(parse(&cfg, no_env, args, stdout, errbuf, 16), CONFIG_ERROR);
    assert_int_equal(strlen(errbuf), 15);
    assert_int_equal(errbuf[16], 'X');
}

/* ---- --help and --version ---- */

/* Reads back everything written to f. */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *text = xmalloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = '\0';
    return text;
}

static const struct exit_case {
    const char *name;
    const char *args[MAX_ARGS + 1];
    const char *mentions[4];
} exit_cases[] = {
    {"--help", {"--help"}, {"usage", "--listen", "--log-format", "--version"}},
    {"-h", {"-h"}, {"usage", "--redis", "STOCKD_REDIS_URL", "--max-items"}},
    {"--help after good flags", {"--max-items=5", "--help"}, {"usage", "--namespace", NULL}},
    {"--version", {"--version"}, {"stockd " STOCKD_VERSION "\n", NULL}},
    {"--version after good flags", {"--listen", "1.2.3.4:5", "--version"}, {STOCKD_VERSION, NULL}},
};

static void test_help_and_version(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof exit_cases / sizeof exit_cases[0]; i++) {
        const struct exit_case *tc = &exit_cases[i];
        static const struct env_var no_env[] = {{NULL, NULL}};
        FILE *out = tmpfile();
        assert_non_null(out);
        struct config cfg;
        char errbuf[256];
        enum config_result rc = parse(&cfg, no_env, tc->args, out, errbuf, sizeof errbuf);
        if (rc != CONFIG_EXIT)
            fail_msg("%s: result %d, expected CONFIG_EXIT", tc->name, rc);
        char *text = slurp(out);
        fclose(out);
        for (size_t k = 0; k < 4 && tc->mentions[k] != NULL; k++)
            if (strstr(text, tc->mentions[k]) == NULL)
                fail_msg("%s: the output lacks '%s':\n%s", tc->name, tc->mentions[k], text);
        free(text);
    }
}

/* Every flag of PROTOCOL.md's table appears in --help. */
static void test_help_lists_every_flag(void **state)
{
    (void)state;
    static const char *const flags[] = {
        "--listen",          "--http",           "--redis",           "--namespace",
        "--auth-token-file", "--request-timeout-ms", "--default-ttl-ms", "--sweep-interval-ms",
        "--retention-s",     "--max-request-bytes",  "--max-items",      "--max-connections",
        "--log-level",       "--log-format",         "--version",        "--help",
        "--ledger-maxlen",   "--max-pipeline",       "--max-inflight",   "--max-output-bytes",
        "--idle-timeout-ms", "--line-timeout-ms",  "--redis-stuck-ms",   "--auth-timeout-ms", "--batch-max",
        "--write-timeout-ms", "--redis-user", "--redis-password-file", "--sentinel-user",
        "--sentinel-password-file", "--durability", "--durability-timeout-ms"};
    static const struct env_var no_env[] = {{NULL, NULL}};
    static const char *const args[] = {"--help", NULL};
    FILE *out = tmpfile();
    assert_non_null(out);
    struct config cfg;
    char errbuf[256];
    assert_int_equal(parse(&cfg, no_env, args, out, errbuf, sizeof errbuf), CONFIG_EXIT);
    char *text = slurp(out);
    fclose(out);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strstr(text, flags[i]) == NULL)
            fail_msg("--help does not mention %s", flags[i]);
    free(text);
}

/* ---- config_parse_redis_url ---- */

static const struct redis_case {
    const char *url;
    int rc;
    const char *host;
    int port;
    const char *unix_path;
    const char *user;
    const char *password;
    int db;
} redis_cases[] = {
    {"redis://h:1/2", 0, "h", 1, "", "", "", 2},
    {"redis://user:pass@h:1/3", 0, "h", 1, "", "user", "pass", 3},
    {"redis://pass@h:1", 0, "h", 1, "", "", "pass", 0},
    {"redis://:secret@h:1", 0, "h", 1, "", "", "secret", 0},
    {"redis://u:p@ss@h:1", 0, "h", 1, "", "u", "p@ss", 0},
    {"redis://h", 0, "h", 6379, "", "", "", 0},
    {"redis://h/5", 0, "h", 6379, "", "", "", 5},
    {"redis://h:1/", 0, "h", 1, "", "", "", 0},
    {"redis://127.0.0.1:6379/0", 0, "127.0.0.1", 6379, "", "", "", 0},
    {"redis://[::1]:6380", 0, "::1", 6380, "", "", "", 0},
    {"redis://[::1]", 0, "::1", 6379, "", "", "", 0},
    {"redis://[::1]/4", 0, "::1", 6379, "", "", "", 4},
    {"redis://u:p@[::1]:7000/1", 0, "::1", 7000, "", "u", "p", 1},
    {"unix:///tmp/r.sock", 0, "", 0, "/tmp/r.sock", "", "", 0},
    {"unix:///", 0, "", 0, "/", "", "", 0},
    {"http://x", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis:/h:1", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"REDIS://h:1", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"h:6379", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:99999", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:0", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:abc", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://:1", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:1/x", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:1/2x", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://h:1/-1", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://[::1", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"redis://user:pass@", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"unix://relative", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"unix://", -1, NULL, 0, NULL, NULL, NULL, 0},
    {"unix:///" N128,
     -1, NULL, 0, NULL, NULL, NULL, 0},
};

static void test_redis_url(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof redis_cases / sizeof redis_cases[0]; i++) {
        const struct redis_case *tc = &redis_cases[i];
        struct redis_url u;
        memset(&u, 0x5a, sizeof u);
        char why[200];
        int rc = config_parse_redis_url(tc->url, &u, why, sizeof why);
        if (rc != tc->rc)
            fail_msg("'%s': rc %d, expected %d", tc->url, rc, tc->rc);
        if (rc != 0) {
            if (why[0] == '\0') /* test_config_redis.c checks each reason */
                fail_msg("'%s': rejected without a reason", tc->url);
            continue;
        }
        assert_int_equal(u.mode, REDIS_DIRECT);
        if (strcmp(u.host, tc->host) != 0 || u.port != tc->port ||
            strcmp(u.unix_path, tc->unix_path) != 0 || strcmp(u.user, tc->user) != 0 ||
            strcmp(u.password, tc->password) != 0 || u.db != tc->db)
            fail_msg("'%s': host '%s' port %d unix '%s' user '%s' password '%s' db %d", tc->url,
                     u.host, u.port, u.unix_path, u.user, u.password, u.db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_auth_token_too_long),
        cmocka_unit_test(test_small_errbuf),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_help_lists_every_flag),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_error_hides_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
