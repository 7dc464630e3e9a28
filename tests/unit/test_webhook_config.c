/* Unit tests of the webhook options of config.h: their defaults, the
 * repeatable --webhook-url and its environment list, every value refused
 * with its one-line message (a URL never echoed: it may carry a token),
 * the rules that tie the options together, and --webhook-max-rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define MAX_ARGS 24

#include "config_env.h"

static const struct env_var no_env[] = {{NULL, NULL}};

static void test_defaults(void **state)
{
    (void)state;
    static struct config cfg;
    char err[512];
    static const char *const args[] = {NULL};
    assert_int_equal(parse(&cfg, no_env, args, stdout, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.n_webhook_urls, 0);
    assert_int_equal(cfg.webhook_timeout_ms, 5000);
    assert_int_equal(cfg.webhook_max_age_s, 86400);
    assert_int_equal(cfg.webhook_max_inflight, 16);
    assert_int_equal(cfg.webhook_queue, 1000);
    assert_int_equal(cfg.webhook_backoff_ms, 1000);
    assert_int_equal(cfg.webhook_backoff_max_ms, 300000);
    assert_int_equal(cfg.webhook_lease_ms, 30000);
    assert_int_equal(cfg.webhook_lag_warn_s, 300);
    assert_int_equal(cfg.webhook_max_rate, 1000);
    assert_string_equal(cfg.webhook_secret_file, "");
}

static const struct rate_case {
    const char *name;
    const char *args[4];
    struct env_var env[2];
    long long want;
} rate_cases[] = {
    {"no limit", {"--webhook-max-rate", "0"}, {{NULL, NULL}}, 0},
    {"the flag", {"--webhook-max-rate=50"}, {{NULL, NULL}}, 50},
    {"the most", {"--webhook-max-rate", "1000000"}, {{NULL, NULL}}, 1000000},
    {"the environment", {NULL}, {{"STOCKD_WEBHOOK_MAX_RATE", "250"}, {NULL, NULL}}, 250},
    {"the flag over the environment",
     {"--webhook-max-rate", "7"},
     {{"STOCKD_WEBHOOK_MAX_RATE", "250"}, {NULL, NULL}},
     7},
};

static void test_max_rate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rate_cases / sizeof rate_cases[0]; i++) {
        const struct rate_case *tc = &rate_cases[i];
        static struct config cfg;
        char err[512];
        if (parse(&cfg, tc->env, tc->args, stdout, err, sizeof err) != CONFIG_OK)
            fail_msg("%s: refused: %s", tc->name, err);
        if (cfg.webhook_max_rate != tc->want)
            fail_msg("%s: %lld, expected %lld", tc->name, cfg.webhook_max_rate, tc->want);
    }
}

#define SECRET "--webhook-secret-file", "/run/secret"

static const struct ok_case {
    const char *name;
    const char *args[MAX_ARGS + 1];
    struct env_var env[4];
    const char *urls[WEBHOOK_MAX_URLS + 1]; /* expected, NULL-terminated */
} ok_cases[] = {
    {"one URL", {"--webhook-url", "http://h/x", SECRET}, {{NULL, NULL}}, {"http://h/x"}},
    {"= form and https",
     {"--webhook-url=https://h:8443/a?b=c", SECRET},
     {{NULL, NULL}},
     {"https://h:8443/a?b=c"}},
    {"repeated, in order",
     {"--webhook-url", "http://a/", "--webhook-url", "http://b/", SECRET},
     {{NULL, NULL}},
     {"http://a/", "http://b/"}},
    {"the environment's list",
     {SECRET},
     {{"STOCKD_WEBHOOK_URL", " http://a/  http://b/\thttp://c/ "}, {NULL, NULL}},
     {"http://a/", "http://b/", "http://c/"}},
    {"flags replace the environment's list",
     {"--webhook-url", "http://f/", SECRET},
     {{"STOCKD_WEBHOOK_URL", "http://a/ http://b/"}, {NULL, NULL}},
     {"http://f/"}},
    {"the secret file from the environment",
     {"--webhook-url", "http://f/"},
     {{"STOCKD_WEBHOOK_SECRET_FILE", "/s"}, {NULL, NULL}},
     {"http://f/"}},
    {"eight URLs",
     {"--webhook-url", "http://1/ http://2/ http://3/ http://4/", "--webhook-url",
      "http://5/ http://6/ http://7/ http://8/", SECRET},
     {{NULL, NULL}},
     {"http://1/", "http://2/", "http://3/", "http://4/", "http://5/", "http://6/", "http://7/",
      "http://8/"}},
    {"a secret without a URL is harmless", {SECRET}, {{NULL, NULL}}, {NULL}},
};

static void test_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const struct ok_case *tc = &ok_cases[i];
        static struct config cfg;
        char err[512];
        if (parse(&cfg, tc->env, tc->args, stdout, err, sizeof err) != CONFIG_OK)
            fail_msg("%s: refused: %s", tc->name, err);
        int n = 0;
        while (n < WEBHOOK_MAX_URLS && tc->urls[n] != NULL)
            n++;
        if (cfg.n_webhook_urls != n)
            fail_msg("%s: %d URLs, expected %d", tc->name, cfg.n_webhook_urls, n);
        for (int k = 0; k < n; k++)
            assert_string_equal(cfg.webhook_urls[k], tc->urls[k]);
    }
}

static const struct bad_case {
    const char *name;
    const char *args[MAX_ARGS + 1];
    struct env_var env[3];
    const char *says; /* in the message */
} bad_cases[] = {
    {"a URL without the secret",
     {"--webhook-url", "http://h/x"},
     {{NULL, NULL}},
     "--webhook-url needs --webhook-secret-file"},
    {"not http", {"--webhook-url", "ftp://h/x", SECRET}, {{NULL, NULL}}, "webhook URL 1 is not"},
    {"no host", {"--webhook-url", "http:///x", SECRET}, {{NULL, NULL}}, "with a host"},
    {"only the scheme", {"--webhook-url=https://", SECRET}, {{NULL, NULL}}, "with a host"},
    {"no host before the query",
     {"--webhook-url", "https://?q=1", SECRET},
     {{NULL, NULL}},
     "with a host"},
    {"a control byte", {"--webhook-url", "http://h/\x01", SECRET}, {{NULL, NULL}}, "is not"},
    {"the second is bad",
     {"--webhook-url", "http://a/ nope", SECRET},
     {{NULL, NULL}},
     "webhook URL 2"},
    {"twice",
     {"--webhook-url", "http://a/", "--webhook-url", "http://a/", SECRET},
     {{NULL, NULL}},
     "URL 2 is the same as URL 1"},
    {"nine",
     {"--webhook-url", "http://1/ http://2/ http://3/ http://4/ http://5/", "--webhook-url",
      "http://6/ http://7/ http://8/ http://9/", SECRET},
     {{NULL, NULL}},
     "at most 8"},
    {"a bad URL in the environment",
     {SECRET},
     {{"STOCKD_WEBHOOK_URL", "mailto:x"}, {NULL, NULL}},
     "(from STOCKD_WEBHOOK_URL)"},
    {"timeout too small",
     {"--webhook-timeout-ms", "99"},
     {{NULL, NULL}},
     "--webhook-timeout-ms must be a whole number from 100 to 600000"},
    {"max age zero",
     {"--webhook-max-age-s", "0"},
     {{NULL, NULL}},
     "--webhook-max-age-s must be a whole number from 1"},
    {"max age not a number", {"--webhook-max-age-s", "1d"}, {{NULL, NULL}}, "not '1d'"},
    {"in flight zero", {"--webhook-max-inflight", "0"}, {{NULL, NULL}}, "--webhook-max-inflight"},
    {"queue too large", {"--webhook-queue", "100001"}, {{NULL, NULL}}, "--webhook-queue"},
    {"backoff zero", {"--webhook-backoff-ms", "0"}, {{NULL, NULL}}, "--webhook-backoff-ms"},
    {"cap below the start",
     {"--webhook-backoff-ms", "5000", "--webhook-backoff-max-ms", "1000"},
     {{NULL, NULL}},
     "--webhook-backoff-max-ms (1000) must not be below --webhook-backoff-ms (5000)"},
    {"lease too short", {"--webhook-lease-ms", "999"}, {{NULL, NULL}}, "--webhook-lease-ms"},
    {"lag warning negative",
     {"--webhook-lag-warn-s", "-1"},
     {{NULL, NULL}},
     "--webhook-lag-warn-s"},
    {"rate negative",
     {"--webhook-max-rate", "-1"},
     {{NULL, NULL}},
     "--webhook-max-rate must be a whole number from 0 to 1000000"},
    {"rate too high", {"--webhook-max-rate", "1000001"}, {{NULL, NULL}}, "--webhook-max-rate"},
    {"rate not a number",
     {NULL},
     {{"STOCKD_WEBHOOK_MAX_RATE", "fast"}, {NULL, NULL}},
     "(from STOCKD_WEBHOOK_MAX_RATE)"},
    {"a bad number in the environment",
     {NULL},
     {{"STOCKD_WEBHOOK_TIMEOUT_MS", "soon"}, {NULL, NULL}},
     "(from STOCKD_WEBHOOK_TIMEOUT_MS)"},
    {"the flag without its value",
     {"--webhook-url"},
     {{NULL, NULL}},
     "--webhook-url needs a value"},
};

static void test_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *tc = &bad_cases[i];
        static struct config cfg;
        char err[512];
        enum config_result rc = parse(&cfg, tc->env, tc->args, stdout, err, sizeof err);
        if (rc != CONFIG_ERROR)
            fail_msg("%s: accepted", tc->name);
        if (strstr(err, tc->says) == NULL)
            fail_msg("%s: the message lacks '%s': %s", tc->name, tc->says, err);
        if (strchr(err, '\n') != NULL)
            fail_msg("%s: the message is not one line", tc->name);
        /* A URL may carry a token: never in a message. */
        for (size_t k = 0; k < MAX_ARGS && tc->args[k] != NULL; k++)
            if (strstr(tc->args[k], "://") != NULL && strstr(err, tc->args[k]) != NULL)
                fail_msg("%s: the message shows a URL: %s", tc->name, err);
        for (size_t k = 0; tc->env[k].name != NULL; k++)
            if (strstr(err, tc->env[k].value) != NULL && strstr(tc->env[k].value, ":") != NULL)
                fail_msg("%s: the message shows a URL: %s", tc->name, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_max_rate),
        cmocka_unit_test(test_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
