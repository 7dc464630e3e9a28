/* Unit tests of tenants: the file (good forms, and each bad form with its
 * message, which never shows a token), token look-up, the per-tenant
 * counters and their exposition; and the request kernel with tenants,
 * through the fake store: auth picks the tenant, 1006 before it and for
 * another tenant's token (the connection keeps its tenant), every key of a
 * request carries the tenant's tag, a request keeps the tenant it started
 * with, and a hold is told to the hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_store.h"
#include "request.h"
#include "tenants.h"

/* --- the file ------------------------------------------------------------ */

static void test_good_files(void **state)
{
    (void)state;
    static const char text[] = "# tenants of the shop\n"
                               "\n"
                               "acme   s3cret-Token_1\n"
                               "  \t# an indented comment\n"
                               "\tglobex\tt0k#not-a-comment\r\n"
                               "a.b~c@d/e+f=g-h  \xc3\xa9t\xc3\xa9\n"
                               "last tok-without-newline";
    struct tenants ts;
    char err[256] = "";
    assert_int_equal(tenants_parse(&ts, "t.txt", text, sizeof text - 1, err, sizeof err), 0);
    assert_int_equal(ts.n, 4);
    static const struct {
        const char *name, *token;
        unsigned line;
    } want[] = {{"acme", "s3cret-Token_1", 3},
                {"globex", "t0k#not-a-comment", 5},
                {"a.b~c@d/e+f=g-h", "\xc3\xa9t\xc3\xa9", 6},
                {"last", "tok-without-newline", 7}};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(ts.all[i].name, want[i].name);
        assert_int_equal(ts.all[i].ident.s.n, strlen(want[i].name));
        assert_ptr_equal(ts.all[i].ident.s.p, ts.all[i].name);
        assert_string_equal(ts.all[i].token, want[i].token);
        assert_int_equal(ts.all[i].token_len, strlen(want[i].token));
        assert_int_equal(ts.all[i].line, want[i].line);
        assert_int_equal(ts.all[i].index, i);
        assert_null(ts.all[i].requests);
    }
    tenants_free(&ts);
    assert_int_equal(ts.n, 0);

    /* Many tenants: each name is its own (the array grew under them). */
    struct buf many;
    buf_init(&many);
    for (int i = 0; i < 1000; i++) {
        char line[64];
        snprintf(line, sizeof line, "t%04d tok-%04d\n", i, i);
        buf_appends(&many, line);
    }
    assert_int_equal(tenants_parse(&ts, "t", many.data, many.len, err, sizeof err), 0);
    assert_int_equal(ts.n, 1000);
    for (int i = 0; i < 1000; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%04d", i);
        assert_ptr_equal(ts.all[i].ident.s.p, ts.all[i].name);
        assert_true(str_eq(ts.all[i].ident.s, (struct str){name, strlen(name)}));
    }
    buf_free(&many);
    tenants_free(&ts);

    /* The longest name and token are allowed. */
    char big[TENANT_NAME_MAX + TOKEN_MAX + 8];
    memset(big, 'n', TENANT_NAME_MAX);
    big[TENANT_NAME_MAX] = ' ';
    memset(big + TENANT_NAME_MAX + 1, 'T', TOKEN_MAX);
    size_t n = TENANT_NAME_MAX + 1 + TOKEN_MAX;
    assert_int_equal(tenants_parse(&ts, "t", big, n, err, sizeof err), 0);
    assert_int_equal(ts.all[0].token_len, TOKEN_MAX);
    tenants_free(&ts);
}

struct bad_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen */
    const char *err;
};

/* Every token below holds "SECRET", which no message may show. */
static const struct bad_case bad_cases[] = {
    {"empty", "", 0, "f.txt: no tenant in the file"},
    {"comments only", "# SECRET\n\n  \n", 0, "f.txt: no tenant in the file"},
    {"one field", "ok SECRET1\nacme\n", 0,
     "f.txt:2: expected '<tenant> <token>' (two fields separated by blanks), found one field"},
    {"three fields", "acme SECRET1 SECRET2\n", 0, "f.txt:1: expected '<tenant> <token>' "
                                                   "(two fields separated by blanks), found more "
                                                   "than two"},
    {"name not an identifier", "\n\nac:me SECRET1\n", 0,
     "f.txt:3: the tenant must be an identifier of 1 to 64 bytes of [A-Za-z0-9._~@/+=-]"},
    {"name with a brace", "{acme} SECRET1\n", 0, "f.txt:1: the tenant must be an identifier"},
    {"token in the name's column", "SECRET{x} acme\n", 0,
     "f.txt:1: the tenant must be an identifier"},
    {"name too long",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa SECRET1\n", 0,
     "f.txt:1: the tenant must be an identifier of 1 to 64 bytes"},
    {"control byte in the token", "acme SECRET\x01x\n", 0,
     "f.txt:1: the token of tenant 'acme' must be UTF-8 without control bytes"},
    {"DEL in the token", "acme SECRET\x7f\n", 0, "f.txt:1: the token of tenant 'acme' must be"},
    {"bad UTF-8 in the token", "acme SECRET\xc3(\n", 0,
     "f.txt:1: the token of tenant 'acme' must be UTF-8 without control bytes"},
    {"NUL byte", "acme SECRET\0x\n", 14, "f.txt:1: the line holds a NUL byte"},
    {"duplicate name", "a SECRET1\nb SECRET2\n# c\nc SECRET3\nb SECRET4\na SECRET5\n", 0,
     "f.txt:5: tenant 'b' is declared already on line 2"},
    {"duplicate token", "a SECRET1\nb SECRET2\nc SECRET1\nd SECRET2\n", 0,
     "f.txt:3: tenant 'c' has the token of tenant 'a' (line 1): each tenant needs its own"},
    {"later duplicate token first in order", "z SECRET9\nb SECRET1\nc SECRET1\ny SECRET9\n", 0,
     "f.txt:3: tenant 'c' has the token of tenant 'b' (line 2)"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct tenants ts;
        char err[512] = "";
        size_t len = c->len ? c->len : strlen(c->text);
        int rc = tenants_parse(&ts, "f.txt", c->text, len, err, sizeof err);
        if (rc != -1 || strstr(err, c->err) != err)
            fail_msg("%s: rc %d, message '%s', expected it to start with '%s'", c->name, rc, err,
                     c->err);
        if (strstr(err, "SECRET") != NULL)
            fail_msg("%s: the message shows a token: '%s'", c->name, err);
        assert_int_equal(ts.n, 0);
        assert_null(ts.all);
    }
    /* Overlong token: the message names the tenant and the limit only. */
    char line[TOKEN_MAX + 16] = "acme ";
    memset(line + 5, 'S', TOKEN_MAX + 1);
    struct tenants ts;
    char err[512];
    assert_int_equal(tenants_parse(&ts, "f.txt", line, 5 + TOKEN_MAX + 1, err, sizeof err), -1);
    assert_string_equal(err, "f.txt:1: the token of tenant 'acme' is longer than 1023 bytes");
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/stockd-tenants-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "acme tok-a\nglobex tok-g\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct tenants ts;
    char err[512] = "";
    assert_int_equal(tenants_load(&ts, path, err, sizeof err), 0);
    assert_int_equal(ts.n, 2);
    tenants_free(&ts);

    /* A bad file's message names the path given. */
    FILE *f = fopen(path, "w");
    fputs("acme tok-a\nacme tok-b\n", f);
    fclose(f);
    assert_int_equal(tenants_load(&ts, path, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s:2: tenant 'acme' is declared already on line 1", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_int_equal(tenants_load(&ts, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot read %s: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(tenants_load(&ts, "/", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read /: "));
}

/* --- look-up and counters -------------------------------------------------- */

static void parse_ok(struct tenants *ts, const char *text)
{
    char err[256];
    if (tenants_parse(ts, "t", text, strlen(text), err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void test_find(void **state)
{
    (void)state;
    struct tenants ts;
    parse_ok(&ts, "acme tok\nglobex tok2\ninitech t\n");
    static const struct {
        const char *token;
        const char *tenant; /* NULL: none */
    } cases[] = {
        {"tok", "acme"}, {"tok2", "globex"}, {"t", "initech"}, {"to", NULL},  {"tok3", NULL},
        {"", NULL},      {"TOK", NULL},      {"tok ", NULL},   {"xtok", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tenant *t = tenants_find(&ts, cases[i].token, strlen(cases[i].token));
        if (cases[i].tenant == NULL) {
            if (t != NULL)
                fail_msg("token '%s' found tenant %s", cases[i].token, t->name);
        } else {
            assert_non_null(t);
            assert_string_equal(t->name, cases[i].tenant);
        }
    }
    /* A token with a NUL inside is not a prefix match. */
    assert_null(tenants_find(&ts, "tok\0", 4));
    tenants_free(&ts);
}

/* The comparison behind both tenants_find and the single --auth-token. */
static void test_token_equal(void **state)
{
    (void)state;
    assert_true(token_equal("secret", 6, "secret", 6));
    assert_true(token_equal("", 0, "", 0));
    assert_false(token_equal("secret", 6, "secreT", 6));
    assert_false(token_equal("secret", 6, "Secret", 6));
    assert_false(token_equal("secret", 6, "secre", 5));     /* a prefix */
    assert_false(token_equal("secret", 6, "secrets", 7));   /* longer */
    assert_false(token_equal("secret", 6, "secret\0", 7)); /* a NUL after */
    assert_false(token_equal("secret", 6, "", 0));
    assert_false(token_equal("", 0, "x", 1));
}

static void test_counters(void **state)
{
    (void)state;
    struct tenants ts;
    parse_ok(&ts, "acme a\nglobex g\nquiet q\n");
    struct buf out;
    buf_init(&out);
    tenants_render(&ts, &out);
    /* No tenant has requests: the family's head only. */
    assert_string_equal(buf_cstr(&out),
                        "# HELP stockd_tenant_requests_total Requests answered per tenant, by "
                        "method and code (0: a result).\n"
                        "# TYPE stockd_tenant_requests_total counter\n");
    tenants_count(&ts.all[0], METHOD_RESERVE, E_NONE);
    tenants_count(&ts.all[0], METHOD_RESERVE, E_NONE);
    tenants_count(&ts.all[0], METHOD_RESERVE, E_TIMEOUT);
    tenants_count(&ts.all[0], METHOD_RESERVE, E_REPLICATION); /* also 2002 */
    tenants_count(&ts.all[1], METHOD_COUNT, E_PARSE);
    tenants_count(&ts.all[1], METHOD_STOCK_GET, E_NONE);
    assert_null(ts.all[2].requests);
    buf_reset(&out);
    tenants_render(&ts, &out);
    const char *text = buf_cstr(&out);
    static const char *const want[] = {
        "stockd_tenant_requests_total{tenant=\"acme\",method=\"reserve\",code=\"0\"} 2\n",
        "stockd_tenant_requests_total{tenant=\"acme\",method=\"reserve\",code=\"2002\"} 2\n",
        "stockd_tenant_requests_total{tenant=\"globex\",method=\"unknown\",code=\"-32700\"} 1\n",
        "stockd_tenant_requests_total{tenant=\"globex\",method=\"stock.get\",code=\"0\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(text, want[i]) == NULL)
            fail_msg("no '%s' in:\n%s", want[i], text);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2 + 4);
    assert_null(strstr(text, "quiet"));
    buf_free(&out);
    tenants_free(&ts);
}

/* --- the request kernel with tenants --------------------------------------- */

static struct tenants ts;
static struct tenant *held_tenant;
static uint64_t held_due;
static int holds;

static void on_hold(void *data, struct tenant *t, uint64_t due_ms)
{
    assert_ptr_equal(data, &ts);
    held_tenant = t;
    held_due = due_ms;
    holds++;
}

static int kernel_setup(void **state)
{
    (void)state;
    fake_kernel_setup();
    parse_ok(&ts, "acme tok-a\nglobex tok-g\n");
    request_pool_tenants(kernel.pool, &ts);
    request_pool_on_hold(kernel.pool, on_hold, &ts);
    holds = 0;
    held_tenant = NULL;
    return 0;
}

static int kernel_teardown(void **state)
{
    (void)state;
    fake_kernel_teardown();
    tenants_free(&ts);
    return 0;
}

/* Starts line on session s; returns the request (answered or calling). */
static struct request *start(struct session *s, const char *line)
{
    return fake_start(s, line);
}

static void expect_answer(int before, const char *piece)
{
    assert_int_equal(kernel.answers, before + 1);
    if (strstr(kernel.answer, piece) == NULL)
        fail_msg("no '%s' in %s", piece, kernel.answer);
}

#define AUTH(tok) "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"" tok "\"}}"
#define STOCK_GET "{\"id\":2,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}"
#define RESERVE                                                                                    \
    "{\"id\":3,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"A\",\"quantity\":2}],"     \
    "\"ttl_ms\":5000}}"

static void test_auth_picks_the_tenant(void **state)
{
    (void)state;
    assert_true(request_auth_required(kernel.pool));
    struct session s = {0};
    int n = kernel.answers;
    start(&s, "{\"id\":1,\"method\":\"ping\"}");
    expect_answer(n++, "\"pong\":true");
    start(&s, STOCK_GET);
    expect_answer(n++, "\"code\":1006");
    start(&s, "{\"id\":1,\"method\":\"no.such\"}");
    expect_answer(n++, "\"code\":1006");
    start(&s, AUTH("tok-x"));
    expect_answer(n++, "\"code\":1006");
    assert_null(s.tenant);
    assert_false(s.authenticated);
    assert_int_equal(fake.calls, 0);

    start(&s, AUTH("tok-g"));
    expect_answer(n++, "\"result\":{\"authenticated\":true,\"tenant\":\"globex\"}");
    assert_ptr_equal(s.tenant, &ts.all[1]);
    /* Another tenant's token: 1006, and the connection stays globex's; a
     * wrong token changes nothing either; its own token again is fine. */
    start(&s, AUTH("tok-a"));
    expect_answer(n++, "\"code\":1006");
    assert_non_null(strstr(kernel.answer, "another tenant"));
    assert_ptr_equal(s.tenant, &ts.all[1]);
    start(&s, AUTH("nope"));
    expect_answer(n++, "\"code\":1006");
    assert_ptr_equal(s.tenant, &ts.all[1]);
    assert_true(s.authenticated);
    start(&s, AUTH("tok-g"));
    expect_answer(n++, "\"tenant\":\"globex\"");
    assert_int_equal(kernel.metrics.auth_failures, 3);

    /* Every key carries the tenant's tag. */
    start(&s, STOCK_GET);
    assert_true(fake.pending);
    for (int i = 0; i < fake.last.nkeys; i++)
        if (strncmp(fake_arg(i), "{globex}:", 9) != 0)
            fail_msg("key %d is %s", i, fake_arg(i));
    redisReply *r = fake_parse("[0]");
    fake_reply(r);
    fake_reply_free(r);
    expect_answer(n++, "\"result\"");
    /* Counted for the tenant: its auths and the stock.get. */
    assert_non_null(ts.all[1].requests);
    assert_int_equal(ts.all[1].requests[METHOD_STOCK_GET][E_NONE], 1);
    assert_int_equal(ts.all[1].requests[METHOD_AUTH][E_NONE], 2);
    assert_int_equal(ts.all[1].requests[METHOD_AUTH][E_UNAUTHORIZED], 2);
    assert_null(ts.all[0].requests);
}

static void test_request_keeps_its_tenant(void **state)
{
    (void)state;
    struct session s = {0};
    start(&s, AUTH("tok-a"));
    struct request *req = start(&s, RESERVE);
    assert_true(fake.pending);
    assert_ptr_equal(req->tenant, &ts.all[0]);
    int nkeys = fake.last.nkeys;
    for (int i = 0; i < nkeys; i++)
        if (strncmp(fake_arg(i), "{acme}:", 7) != 0)
            fail_msg("key %d is %s", i, fake_arg(i));
    /* The connection goes while Redis works: the request stays acme's. */
    req->session = NULL;
    req->owner = NULL;
    s.tenant = NULL;
    int n = kernel.answers;
    redisReply *r = fake_parse("[0 0 'RID' 'held' '' 1000 6000 '' 0 0 'A' 'L' 2 0]");
    fake_reply(r);
    fake_reply_free(r);
    expect_answer(n, "\"reservation_id\":\"RID\"");
    assert_int_equal(ts.all[0].requests[METHOD_RESERVE][E_NONE], 1);
    /* The hold was told, for acme, 5 s after the request started. */
    assert_int_equal(holds, 1);
    assert_ptr_equal(held_tenant, &ts.all[0]);
    uint64_t now_ms = metrics_now_ns() / 1000000u;
    assert_true(held_due <= now_ms + 5000 && held_due + 1000 > now_ms + 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_token_equal),
        cmocka_unit_test(test_counters),
        cmocka_unit_test_setup_teardown(test_auth_picks_the_tenant, kernel_setup, kernel_teardown),
        cmocka_unit_test_setup_teardown(test_request_keeps_its_tenant, kernel_setup,
                                        kernel_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
