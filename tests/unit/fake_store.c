/* The fake store (see fake_store.h). */
#include "fake_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dispatch.h"
#include "log.h"

struct fake_store fake;

void fake_reset(void)
{
    args_free(&fake.last.args);
    memset(&fake, 0, sizeof fake);
    args_init(&fake.last.args);
    fake.health = STORE_UP;
}

static int record(int script, int nkeys, const struct args *a, store_fn fn, void *data)
{
    if (fake.down)
        return -1;
    if (fake.pending)
        fail_msg("a second call was made while the first one waits");
    fake.calls++;
    fake.pending = true;
    fake.last.script = script;
    fake.last.nkeys = nkeys;
    args_reset(&fake.last.args);
    for (int i = 0; i < a->n; i++)
        args_add_str(&fake.last.args, args_get(a, i));
    fake.last.fn = fn;
    fake.last.data = data;
    return 0;
}

int store_eval(struct store *s, enum script_id id, int nkeys, const struct args *a,
               uint64_t deadline, store_fn fn, void *data)
{
    (void)s;
    (void)deadline;
    return record((int)id, nkeys, a, fn, data);
}

/* A batch of one: the fake answers each call with its own reply. */
int store_eval_batched(struct store *s, enum script_id id, int nkeys, int head_keys, int head_argv,
                       const struct args *a, uint64_t deadline, store_fn fn, void *data)
{
    (void)s;
    (void)deadline;
    (void)head_keys;
    (void)head_argv;
    return record((int)id, nkeys, a, fn, data);
}

int store_command(struct store *s, const struct args *a, uint64_t deadline, store_fn fn,
                  void *data)
{
    (void)s;
    (void)deadline;
    return record(-1, 0, a, fn, data);
}

uint64_t store_now(const struct store *s)
{
    (void)s;
    return 1000;
}

enum store_health store_health(const struct store *s)
{
    (void)s;
    return fake.health;
}

void fake_reply(const redisReply *reply)
{
    assert_true(fake.pending);
    fake.pending = false;
    fake.last.fn(fake.last.data, reply, STORE_REPLY);
}

void fake_outcome(enum store_outcome outcome)
{
    assert_true(fake.pending);
    fake.pending = false;
    fake.last.fn(fake.last.data, NULL, outcome);
}

const char *fake_arg(int i)
{
    static char copy[4096];
    assert_true(i >= 0 && i < fake.last.args.n);
    struct str s = args_get(&fake.last.args, i);
    assert_true(s.n < sizeof copy);
    memcpy(copy, s.p, s.n);
    copy[s.n] = '\0';
    return copy;
}

/* --- canned replies -------------------------------------------------------- */

static redisReply *parse_one(const char **p);

static void skip_space(const char **p)
{
    while (**p == ' ')
        (*p)++;
}

static redisReply *new_reply(int type)
{
    redisReply *r = xcalloc(1, sizeof *r);
    r->type = type;
    return r;
}

static redisReply *parse_one(const char **p)
{
    skip_space(p);
    const char *s = *p;
    if (*s == '[') {
        redisReply *r = new_reply(REDIS_REPLY_ARRAY);
        size_t cap = 0;
        *p = s + 1;
        for (;;) {
            skip_space(p);
            if (**p == ']') {
                (*p)++;
                return r;
            }
            assert_true(**p != '\0');
            r->element = xgrow(r->element, &cap, r->elements + 1, sizeof *r->element);
            r->element[r->elements++] = parse_one(p);
        }
    }
    if (*s == '\'') {
        const char *end = strchr(s + 1, '\'');
        assert_non_null(end);
        redisReply *r = new_reply(REDIS_REPLY_STRING);
        r->len = (size_t)(end - s - 1);
        r->str = xmalloc(r->len + 1);
        memcpy(r->str, s + 1, r->len);
        r->str[r->len] = '\0';
        *p = end + 1;
        return r;
    }
    if (*s == '!' || *s == '+') {
        redisReply *r = new_reply(*s == '!' ? REDIS_REPLY_ERROR : REDIS_REPLY_STATUS);
        r->len = strlen(s + 1);
        r->str = xmalloc(r->len + 1);
        memcpy(r->str, s + 1, r->len + 1);
        *p = s + strlen(s);
        return r;
    }
    if (strncmp(s, "nil", 3) == 0) {
        *p = s + 3;
        return new_reply(REDIS_REPLY_NIL);
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    assert_true(end != s);
    redisReply *r = new_reply(REDIS_REPLY_INTEGER);
    r->integer = v;
    *p = end;
    return r;
}

redisReply *fake_parse(const char *text)
{
    const char *p = text;
    redisReply *r = parse_one(&p);
    skip_space(&p);
    assert_true(*p == '\0');
    return r;
}

void fake_reply_free(redisReply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->elements; i++)
        fake_reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* ---- the request kernel -------------------------------------------------- */

struct fake_kernel kernel;

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

void fake_kernel_setup(void)
{
    char *argv[] = {"stockd", NULL};
    char err[256];
    log_setup((enum log_level)(LOG_ERROR + 1), LOG_TEXT);
    memset(&kernel, 0, sizeof kernel);
    if (config_parse(&kernel.cfg, 1, argv, no_env, NULL, err, sizeof err) != CONFIG_OK)
        fail_msg("stockd's defaults: %s", err);
    metrics_init(&kernel.metrics);
    fake_reset();
    kernel.pool = request_pool_new(NULL, &kernel.cfg, &kernel.metrics, dispatch_handlers);
}

void fake_kernel_teardown(void)
{
    request_pool_free(kernel.pool);
    kernel.pool = NULL;
    fake_reset();
}

static void on_done(struct request *req)
{
    kernel.answers++;
    size_t n = req->out.len < sizeof kernel.answer - 1 ? req->out.len : sizeof kernel.answer - 1;
    memcpy(kernel.answer, req->out.data, n);
    kernel.answer[n] = '\0';
    request_put(req);
}

struct request *fake_start(struct session *s, const char *line)
{
    struct request *req = request_get(kernel.pool, NULL, on_done);
    request_start(req, s, line, strlen(line));
    return req;
}

cJSON *fake_answer(const char *name, int *code)
{
    cJSON *resp = cJSON_Parse(kernel.answer);
    if (resp == NULL)
        fail_msg("%s: the answer is not JSON: %s", name, kernel.answer);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(error, "code");
    if (error != NULL && !cJSON_IsNumber(c))
        fail_msg("%s: an error without a numeric code: %s", name, kernel.answer);
    *code = error != NULL ? c->valueint : 0;
    return resp;
}
