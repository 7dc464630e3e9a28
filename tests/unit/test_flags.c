/* Unit tests of the flag machinery (flags.h) through a small table of its
 * own: every kind it sets, a kind of the table's own with where each value
 * came from, the messages of both styles (with and without the help, an
 * unknown flag quoted whole or cut at '='), --help with continuation lines
 * and an epilogue, what main does with a result, and the host:port parser.
 * The environment is a table read through the callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "flags.h"
#include "ident.h"
#include "log.h"

struct toy {
    long long count;
    char path[16];
    char host[16];
    int port;
    char name[IDENT_MAX + 1];
    enum log_level level;
    enum log_format format;
    char sources[64]; /* the custom kind: one letter per value set, d e a A */
    char secret[8];   /* set only from the environment, by env_only */
};

enum { TOY_TRACE = FLAG_CUSTOM };

#define AT(member) offsetof(struct toy, member)
#define SIZE(member) sizeof(((struct toy *)0)->member)

static const struct flag toy_flags[] = {
    {"count", "TOY_COUNT", "3", FLAG_INT, AT(count), SIZE(count), 0, -5, 10, "how many"},
    {"path", NULL, "", FLAG_STRING, AT(path), SIZE(path), 0, 0, 0, "a file\nover two lines"},
    {"addr", "TOY_ADDR", "h:1", FLAG_HOSTPORT, AT(host), SIZE(host), AT(port), 0, 0, "HOST:PORT"},
    {"name", "TOY_NAME", "toy", FLAG_IDENT, AT(name), SIZE(name), 0, 0, 0, "an identifier"},
    {"level", NULL, "info", FLAG_LEVEL, AT(level), SIZE(level), 0, 0, 0, "log level"},
    {"format", NULL, "text", FLAG_FORMAT, AT(format), SIZE(format), 0, 0, 0, "log format"},
    {"trace", "TOY_TRACE", "x", TOY_TRACE, AT(sources), SIZE(sources), 0, 0, 0, "repeatable"},
};

static int toy_set(void *cfg, const struct flags_table *t, const struct flag *f, const char *v,
                   enum flag_source from, char *errbuf, size_t errlen)
{
    struct toy *toy = cfg;
    static const char letters[] = {'d', 'e', 'a', 'A'};
    assert_int_equal(f->kind, TOY_TRACE);
    if (strcmp(v, "bad") == 0)
        return flags_bad_value(t, f, NULL, errbuf, errlen);
    size_t n = strlen(toy->sources);
    assert_true(n + 1 < sizeof toy->sources);
    toy->sources[n] = letters[from];
    return 0;
}

static int toy_env_only(void *cfg, config_getenv_fn env, char *errbuf, size_t errlen)
{
    struct toy *toy = cfg;
    const char *v = env("TOY_SECRET");
    if (v == NULL)
        return 0;
    if (strlen(v) >= sizeof toy->secret) {
        snprintf(errbuf, errlen, "toy: TOY_SECRET is too long");
        return -1;
    }
    strcpy(toy->secret, v);
    return 0;
}

/* Two tables over the same flags, in the two message styles. */
static const struct flags_table verbose = {
    .program = "toy",
    .about = "A table for the tests.",
    .flags = toy_flags,
    .n_flags = sizeof toy_flags / sizeof toy_flags[0],
    .cfg_size = sizeof(struct toy),
    .help_in_errors = true,
    .set = toy_set,
    .env_only = toy_env_only,
};
static const struct flags_table terse = {
    .program = "toy",
    .about = "A table for the tests.",
    .epilogue = "Signals: none.",
    .flags = toy_flags,
    .n_flags = sizeof toy_flags / sizeof toy_flags[0],
    .cfg_size = sizeof(struct toy),
    .unknown_name_only = true,
    .set = toy_set,
};

#define MAX_ARGS 8

struct env_var {
    const char *name;
    const char *value;
};

/* config_getenv_fn takes no context: each case points this at its table. */
static const struct env_var *current_env;

static const char *fake_getenv(const char *name)
{
    for (const struct env_var *e = current_env; e != NULL && e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e->value;
    return NULL;
}

static enum config_result parse(const struct flags_table *t, struct toy *toy,
                                const struct env_var *env, const char *const *args, void *out,
                                char *errbuf, size_t errlen)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"toy";
    for (size_t i = 0; i < MAX_ARGS && args[i] != NULL; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    current_env = env;
    memset(toy, 0x5a, sizeof *toy);
    enum config_result rc = flags_parse(t, toy, argc, argv, fake_getenv, out, errbuf, errlen);
    current_env = NULL;
    return rc;
}

/* ---- values ---- */

static void test_defaults_env_argv(void **state)
{
    (void)state;
    static const struct env_var env[] = {{"TOY_COUNT", "7"},
                                         {"TOY_NAME", "from-env"},
                                         {"TOY_TRACE", "y"},
                                         {"TOY_SECRET", "s"},
                                         {NULL, NULL}};
    static const char *const args[] = {"--count=-5", "--addr",  "[::1]:80", "--trace", "1",
                                       "--trace=2",  "--level", "error",    NULL};
    struct toy toy;
    char errbuf[256];
    assert_int_equal(parse(&verbose, &toy, env, args, stdout, errbuf, sizeof errbuf), CONFIG_OK);
    assert_string_equal(errbuf, "");
    assert_int_equal(toy.count, -5);
    assert_string_equal(toy.path, "");
    assert_string_equal(toy.host, "::1");
    assert_int_equal(toy.port, 80);
    assert_string_equal(toy.name, "from-env");
    assert_int_equal(toy.level, LOG_ERROR);
    assert_int_equal(toy.format, LOG_TEXT);
    /* The default, the variable, the first flag, a later one. */
    assert_string_equal(toy.sources, "deaA");
    assert_string_equal(toy.secret, "s");

    static const struct env_var no_env[] = {{NULL, NULL}};
    static const char *const none[] = {NULL};
    assert_int_equal(parse(&terse, &toy, no_env, none, stdout, errbuf, sizeof errbuf), CONFIG_OK);
    assert_int_equal(toy.count, 3);
    assert_string_equal(toy.host, "h");
    assert_int_equal(toy.port, 1);
    assert_string_equal(toy.sources, "d");
    assert_string_equal(toy.secret, "");
}

/* ---- messages ---- */

static const struct error_case {
    const struct flags_table *t;
    struct env_var env[3];
    const char *args[MAX_ARGS + 1];
    const char *want; /* the whole message */
} error_cases[] = {
    {&verbose,
     {{NULL, NULL}},
     {"--count", "11"},
     "toy: --count must be a whole number from -5 to 10, not '11'"},
    {&terse,
     {{NULL, NULL}},
     {"--count=+1"},
     "toy: --count must be a whole number from -5 to 10, not '+1'"},
    {&verbose,
     {{"TOY_COUNT", "x\ny"}},
     {NULL},
     "toy: --count must be a whole number from -5 to 10, not 'x?y' (from TOY_COUNT)"},
    {&verbose,
     {{NULL, NULL}},
     {"--path", "0123456789abcdef"},
     "toy: invalid value for --path: '0123456789abcdef' (a file over two lines)"},
    {&terse,
     {{NULL, NULL}},
     {"--path", "0123456789abcdef"},
     "toy: invalid value for --path: '0123456789abcdef'"},
    {&verbose, {{NULL, NULL}}, {"--addr", "h"}, "toy: invalid value for --addr: 'h' (HOST:PORT)"},
    {&terse, {{NULL, NULL}}, {"--name", "a:b"}, "toy: invalid value for --name: 'a:b'"},
    {&terse, {{NULL, NULL}}, {"--level", "loud"}, "toy: invalid value for --level: 'loud'"},
    {&terse, {{NULL, NULL}}, {"--format", "xml"}, "toy: invalid value for --format: 'xml'"},
    {&verbose, {{NULL, NULL}}, {"--trace", "bad"}, "toy: invalid value for --trace (repeatable)"},
    {&terse, {{"TOY_TRACE", "bad"}}, {NULL}, "toy: invalid value for --trace (from TOY_TRACE)"},
    {&verbose, {{NULL, NULL}}, {"--nope=secret"}, "toy: unknown flag '--nope=secret' (see --help)"},
    {&terse, {{NULL, NULL}}, {"--nope=secret"}, "toy: unknown flag '--nope' (see --help)"},
    {&terse, {{NULL, NULL}}, {"--no\npe"}, "toy: unknown flag '--no?pe' (see --help)"},
    {&verbose, {{NULL, NULL}}, {"extra"}, "toy: unexpected argument 'extra' (see --help)"},
    {&verbose, {{NULL, NULL}}, {"--count"}, "toy: --count needs a value"},
    {&verbose, {{"TOY_SECRET", "too long"}}, {"--help"}, "toy: TOY_SECRET is too long"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *tc = &error_cases[i];
        struct toy toy;
        char errbuf[256];
        if (parse(tc->t, &toy, tc->env, tc->args, stdout, errbuf, sizeof errbuf) != CONFIG_ERROR)
            fail_msg("case %zu: not CONFIG_ERROR", i);
        if (strcmp(errbuf, tc->want) != 0)
            fail_msg("case %zu: '%s', expected '%s'", i, errbuf, tc->want);
    }
}

/* A long unknown flag is cut at 64 bytes of its name in the terse style. */
static void test_unknown_cut(void **state)
{
    (void)state;
    char arg[100] = "--";
    memset(arg + 2, 'y', 90);
    arg[92] = '\0';
    const char *args[] = {arg, NULL};
    static const struct env_var no_env[] = {{NULL, NULL}};
    struct toy toy;
    char errbuf[256], want[128];
    snprintf(want, sizeof want, "toy: unknown flag '--%.64s' (see --help)", arg + 2);
    assert_int_equal(parse(&terse, &toy, no_env, args, stdout, errbuf, sizeof errbuf),
                     CONFIG_ERROR);
    assert_string_equal(errbuf, want);
}

/* ---- --help, --version, exit statuses ---- */

static char *run_to_text(const struct flags_table *t, const char *arg)
{
    FILE *out = tmpfile();
    assert_non_null(out);
    static const struct env_var no_env[] = {{NULL, NULL}};
    const char *args[] = {"--count=1", arg, "--count=99", NULL};
    struct toy toy;
    char errbuf[256];
    assert_int_equal(parse(t, &toy, no_env, args, out, errbuf, sizeof errbuf), CONFIG_EXIT);
    long n = ftell(out);
    assert_true(n >= 0);
    rewind(out);
    char *text = xmalloc((size_t)n + 1);
    text[fread(text, 1, (size_t)n, out)] = '\0';
    fclose(out);
    return text;
}

static void test_help_and_version(void **state)
{
    (void)state;
    char *text = run_to_text(&terse, "--help");
    assert_non_null(strstr(text, "usage: toy [flags]\n\nA table for the tests.\n\n"));
    assert_non_null(strstr(text, "  --count                how many\n"
                                 "                         default: 3, env TOY_COUNT\n"));
    /* A '\n' in the help continues under the first line. */
    assert_non_null(strstr(text, "  --path                 a file\n"
                                 "                         over two lines\n"
                                 "                         default: (none)\n"));
    assert_non_null(strstr(text, "  --version              print the version and exit\n"
                                 "  --help                 print this help and exit\n"
                                 "\nSignals: none.\n"));
    free(text);
    text = run_to_text(&verbose, "-h");
    assert_null(strstr(text, "Signals"));
    free(text);
    text = run_to_text(&verbose, "--version");
    assert_string_equal(text, "toy " STOCKD_VERSION "\n");
    free(text);
}

static void test_exit_status(void **state)
{
    (void)state;
    FILE *err = tmpfile();
    assert_non_null(err);
    assert_int_equal(flags_exit_status(CONFIG_OK, "", err), -1);
    assert_int_equal(flags_exit_status(CONFIG_EXIT, "", err), 0);
    assert_int_equal(ftell(err), 0);
    assert_int_equal(flags_exit_status(CONFIG_ERROR, "toy: no", err), CONFIG_EXIT_USAGE);
    char text[32] = "";
    rewind(err);
    assert_non_null(fgets(text, sizeof text, err));
    assert_string_equal(text, "toy: no\n");
    fclose(err);
}

/* ---- flags_parse_hostport ---- */

static const struct hostport_case {
    const char *in;
    int rc;
    const char *host;
    int port;
} hostport_cases[] = {
    {"127.0.0.1:7400", 0, "127.0.0.1", 7400},
    {"localhost:0", 0, "localhost", 0},
    {"h:65535", 0, "h", 65535},
    {"[::1]:7400", 0, "::1", 7400},
    {"[fe80::1%eth0]:80", 0, "fe80::1%eth0", 80},
    {"example.com:443", 0, "example.com", 443},
    {"h:65536", -1, NULL, 0},
    {"h:-1", -1, NULL, 0},
    {"h", -1, NULL, 0},
    {"h:", -1, NULL, 0},
    {":80", -1, NULL, 0},
    {"", -1, NULL, 0},
    {"[::1]80", -1, NULL, 0},
    {"[::1", -1, NULL, 0},
    {"[]:80", -1, NULL, 0},
    {"h:abc", -1, NULL, 0},
    {"h:80x", -1, NULL, 0},
    {"h:99999999999999999999", -1, NULL, 0},
};

static void test_hostport(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hostport_cases / sizeof hostport_cases[0]; i++) {
        const struct hostport_case *tc = &hostport_cases[i];
        char host[64] = "untouched";
        int port = -2;
        int rc = flags_parse_hostport(tc->in, host, sizeof host, &port);
        if (rc != tc->rc)
            fail_msg("'%s': rc %d, expected %d", tc->in, rc, tc->rc);
        if (rc == 0 && (strcmp(host, tc->host) != 0 || port != tc->port))
            fail_msg("'%s': host '%s' port %d", tc->in, host, port);
    }

    /* A host that does not fit the caller's buffer is refused. */
    char small[4];
    int port;
    assert_int_equal(flags_parse_hostport("abc:1", small, sizeof small, &port), 0);
    assert_string_equal(small, "abc");
    assert_int_equal(flags_parse_hostport("abcd:1", small, sizeof small, &port), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_env_argv), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_unknown_cut),       cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_exit_status),       cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
