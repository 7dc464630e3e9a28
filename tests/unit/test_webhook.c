/* Unit tests of the pure pieces of webhook delivery (webhook_event.h,
 * webhook_queue.h): stream ids, reading an event's fields, the JSON body
 * with its escaping, the HMAC-SHA256 signature against RFC 4231's vectors,
 * the group name of a URL, the bounds of the retry delays, and the order
 * in which held entries may go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "webhook_event.h"
#include "webhook_queue.h"

static struct str S(const char *s) {
    return (struct str){s, strlen(s)};
}

/* ---- stream ids ---- */

static const struct id_case {
    const char *text;
    bool ok;
    uint64_t ms, seq;
} id_cases[] = {
    {"0-0", true, 0, 0},
    {"1700000000000-0", true, 1700000000000ull, 0},
    {"1700000000000-17", true, 1700000000000ull, 17},
    {"18446744073709551615-18446744073709551615", true, UINT64_MAX, UINT64_MAX},
    {"18446744073709551616-0", false, 0, 0}, /* past 64 bits */
    {"", false, 0, 0},
    {"-", false, 0, 0},
    {"12", false, 0, 0},
    {"12-", false, 0, 0},
    {"-3", false, 0, 0},
    {"1-2-3", false, 0, 0},
    {"+1-2", false, 0, 0},
    {"1 -2", false, 0, 0},
    {"a-1", false, 0, 0},
    {"123456789012345678901-0", false, 0, 0},
};

static void test_id_parse_and_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof id_cases / sizeof id_cases[0]; i++) {
        const struct id_case *tc = &id_cases[i];
        struct webhook_id id = {42, 42};
        bool ok = webhook_id_parse(S(tc->text), &id);
        if (ok != tc->ok)
            fail_msg("'%s': parse gave %d, expected %d", tc->text, ok, tc->ok);
        if (!ok)
            continue;
        if (id.ms != tc->ms || id.seq != tc->seq)
            fail_msg("'%s': parsed to %llu-%llu", tc->text, (unsigned long long)id.ms,
                     (unsigned long long)id.seq);
        char back[WEBHOOK_ID_TEXT];
        size_t n = webhook_id_format(id, back);
        assert_int_equal(n, strlen(tc->text));
        assert_string_equal(back, tc->text);
    }
}

static void test_id_order(void **state)
{
    (void)state;
    static const char *const ordered[] = {
        "0-0", "0-1", "1-0", "9-5", "10-0", "10-2", "1700000000000-0", "1700000000001-0"};
    size_t n = sizeof ordered / sizeof ordered[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            struct webhook_id a, b;
            assert_true(webhook_id_parse(S(ordered[i]), &a));
            assert_true(webhook_id_parse(S(ordered[j]), &b));
            int c = webhook_id_cmp(a, b);
            int want = (i > j) - (i < j);
            if ((c > 0) - (c < 0) != want)
                fail_msg("cmp(%s, %s) = %d", ordered[i], ordered[j], c);
        }
}

/* ---- reading an event ---- */

#define MAX_FV 20

static const struct parse_case {
    const char *name;
    const char *fv[MAX_FV]; /* field, value, ..., NULL */
    const char *error;      /* a word of the error, or NULL for a good event */
} parse_cases[] = {
    {"a whole event",
     {"type", "low_stock", "sku", "A", "location", "L1", "available", "3", "threshold", "5",
      "cause", "reserve", "reservation", "r1", "prev", "1-0", NULL},
     NULL},
    {"no reservation, no prev",
     {"type", "back_in_stock", "sku", "A", "location", "L1", "available", "1", "threshold", "0",
      "cause", "release", NULL},
     NULL},
    {"empty reservation and prev",
     {"type", "out_of_stock", "sku", "A", "location", "L1", "available", "-4", "threshold", "0",
      "cause", "commit", "reservation", "", "prev", "", NULL},
     NULL},
    {"unknown fields are ignored",
     {"extra", "x", "type", "out_of_stock", "sku", "A", "location", "L1", "available", "0",
      "threshold", "0", "cause", "set", NULL},
     NULL},
    {"no type",
     {"sku", "A", "location", "L1", "available", "0", "threshold", "0", "cause", "set", NULL},
     "missing"},
    {"empty sku",
     {"type", "t", "sku", "", "location", "L1", "available", "0", "threshold", "0", "cause", "set",
      NULL},
     "missing"},
    {"no cause",
     {"type", "t", "sku", "A", "location", "L1", "available", "0", "threshold", "0", NULL},
     "missing"},
    {"available not a number",
     {"type", "t", "sku", "A", "location", "L1", "available", "3.5", "threshold", "0", "cause",
      "set", NULL},
     "whole"},
    {"threshold missing",
     {"type", "t", "sku", "A", "location", "L1", "available", "3", "cause", "set", NULL},
     "whole"},
    {"available too long",
     {"type", "t", "sku", "A", "location", "L1", "available", "12345678901234567", "threshold", "0",
      "cause", "set", NULL},
     "whole"},
    {"a control byte",
     {"type", "t", "sku", "A\x01", "location", "L1", "available", "3", "threshold", "0", "cause",
      "set", NULL},
     "control"},
    {"bad UTF-8",
     {"type", "t", "sku", "A", "location", "L\xff", "available", "3", "threshold", "0", "cause",
      "set", NULL},
     "UTF-8"},
    {"prev not an id",
     {"type", "t", "sku", "A", "location", "L1", "available", "3", "threshold", "0", "cause", "set",
      "prev", "yesterday", NULL},
     "prev"},
};

static size_t load_fv(const char *const *in, struct str *fv)
{
    size_t n = 0;
    while (in[n] != NULL) {
        fv[n] = S(in[n]);
        n++;
    }
    return n / 2;
}

static void test_event_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *tc = &parse_cases[i];
        struct str fv[MAX_FV];
        size_t n = load_fv(tc->fv, fv);
        struct webhook_event ev;
        const char *err = webhook_event_parse(fv, n, &ev);
        if (tc->error == NULL && err != NULL)
            fail_msg("%s: refused: %s", tc->name, err);
        if (tc->error != NULL && (err == NULL || strstr(err, tc->error) == NULL))
            fail_msg("%s: expected an error about '%s', got %s", tc->name, tc->error,
                     err ? err : "none");
    }
    /* The values of the first case. */
    struct str fv[MAX_FV];
    size_t n = load_fv(parse_cases[0].fv, fv);
    struct webhook_event ev;
    assert_null(webhook_event_parse(fv, n, &ev));
    assert_true(str_eq(ev.type, S("low_stock")));
    assert_true(str_eq(ev.sku, S("A")));
    assert_true(str_eq(ev.location, S("L1")));
    assert_true(str_eq(ev.cause, S("reserve")));
    assert_true(str_eq(ev.reservation, S("r1")));
    assert_int_equal(ev.available, 3);
    assert_int_equal(ev.threshold, 5);
    assert_true(ev.has_prev);
    assert_int_equal(ev.prev.ms, 1);
    assert_int_equal(ev.prev.seq, 0);
    n = load_fv(parse_cases[2].fv, fv);
    assert_null(webhook_event_parse(fv, n, &ev));
    assert_false(ev.has_prev);
    assert_int_equal(ev.available, -4);
    assert_int_equal(ev.reservation.n, 0);
}

/* ---- the body ---- */

static void test_body_exact(void **state)
{
    (void)state;
    static const char *const in[] = {"type",  "low_stock", "sku",         "SKU-1",     "location",
                                     "DC/1",  "available", "-2",          "threshold", "10",
                                     "cause", "reserve",   "reservation", "R42",       NULL};
    struct str fv[MAX_FV];
    struct webhook_event ev;
    assert_null(webhook_event_parse(fv, load_fv(in, fv), &ev));
    struct webhook_id id = {1700000000123ull, 7};
    struct buf b;
    buf_init(&b);
    webhook_body(&b, id, &ev);
    assert_string_equal(buf_cstr(&b),
                        "{\"id\":\"1700000000123-7\",\"type\":\"low_stock\",\"sku\":\"SKU-1\","
                        "\"location\":\"DC/1\",\"available\":-2,\"threshold\":10,\"cause\":"
                        "\"reserve\",\"reservation\":\"R42\",\"at\":1700000000123}");
    buf_free(&b);
}

/* Text with quotes, backslashes and non-ASCII comes back whole through a
 * JSON parser. */
static void test_body_escaping(void **state)
{
    (void)state;
    static const char *const texts[] = {"a\"b",      "back\\slash", "caf\xc3\xa9",
                                        "tab\there", "</script>",   "\xe2\x82\xac 5"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *in[] = {"type",   "low_stock", "sku",         texts[i],    "location",
                            texts[i], "available", "1",           "threshold", "0",
                            "cause",  texts[i],    "reservation", texts[i],    NULL};
        struct str fv[MAX_FV];
        struct webhook_event ev;
        const char *err = webhook_event_parse(fv, load_fv(in, fv), &ev);
        if (strchr(texts[i], '\t') != NULL) {
            assert_non_null(err); /* a control byte: never sent */
            continue;
        }
        assert_null(err);
        struct buf b;
        buf_init(&b);
        webhook_body(&b, (struct webhook_id){5, 0}, &ev);
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        if (j == NULL)
            fail_msg("not JSON: %s", buf_cstr(&b));
        static const char *const names[] = {"sku", "location", "cause", "reservation"};
        for (size_t k = 0; k < 4; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, names[k]);
            assert_true(cJSON_IsString(v));
            assert_string_equal(v->valuestring, texts[i]);
        }
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring, "5-0");
        assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "at")->valuedouble, 5);
        cJSON_Delete(j);
        buf_free(&b);
    }
}

/* ---- the signature: RFC 4231's HMAC-SHA256 vectors ---- */

static void test_signature_rfc4231(void **state)
{
    (void)state;
    unsigned char key1[20], key6[131];
    memset(key1, 0x0b, sizeof key1);
    memset(key6, 0xaa, sizeof key6);
    static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    const struct {
        const void *key;
        size_t key_len;
        const char *data;
        const char *hex;
    } cases[] = {
        {key1, sizeof key1, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {key6, sizeof key6, data6,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sig[WEBHOOK_SIGNATURE_TEXT], want[WEBHOOK_SIGNATURE_TEXT];
        webhook_sign(cases[i].key, cases[i].key_len, cases[i].data, strlen(cases[i].data), sig);
        snprintf(want, sizeof want, "sha256=%s", cases[i].hex);
        assert_string_equal(sig, want);
    }
}

/* ---- the group of a URL ---- */

static void test_group_name(void **state)
{
    (void)state;
    char g[WEBHOOK_GROUP_TEXT];
    /* The first 16 hex digits of the SHA-256 of the URL (sha256sum agrees). */
    webhook_group_name("http://127.0.0.1:18080/hook", g);
    assert_string_equal(g, "webhook:4c4daa2f8b78e5fd");
    webhook_group_name("https://example.com/hooks/stock", g);
    assert_string_equal(g, "webhook:a15e431e272ecd03");
}

/* ---- retry delays ---- */

static void test_backoff_bounds(void **state)
{
    (void)state;
    static const struct {
        unsigned failures;
        uint64_t start, cap, ceiling;
    } cases[] = {
        {1, 1000, 300000, 1000},   {2, 1000, 300000, 2000},    {3, 1000, 300000, 4000},
        {9, 1000, 300000, 256000}, {10, 1000, 300000, 300000}, {200, 1000, 300000, 300000},
        {1, 50, 50, 50},           {5, 1, 86400000, 16},       {64, 3600000, 86400000, 86400000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t c = webhook_backoff_ceiling(cases[i].failures, cases[i].start, cases[i].cap);
        if (c != cases[i].ceiling)
            fail_msg("ceiling(%u, %llu, %llu) = %llu", cases[i].failures,
                     (unsigned long long)cases[i].start, (unsigned long long)cases[i].cap,
                     (unsigned long long)c);
        /* Full jitter: every draw within [0, ceiling], both ends reachable. */
        assert_int_equal(webhook_backoff_ms(cases[i].failures, cases[i].start, cases[i].cap, 0), 0);
        assert_int_equal(webhook_backoff_ms(cases[i].failures, cases[i].start, cases[i].cap, c), c);
        uint64_t r = 0x9e3779b97f4a7c15ull * (i + 1);
        for (int k = 0; k < 1000; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t d = webhook_backoff_ms(cases[i].failures, cases[i].start, cases[i].cap, r);
            if (d > c)
                fail_msg("a draw of %llu past the ceiling %llu", (unsigned long long)d,
                         (unsigned long long)c);
        }
    }
}

/* ---- the order of held entries ---- */

struct fixture {
    struct wq q;
    struct webhook_entry e[8];
};

static void entry(struct fixture *f, int i, uint64_t ms, uint64_t prev_ms)
{
    memset(&f->e[i], 0, sizeof f->e[i]);
    f->e[i].id = (struct webhook_id){ms, 0};
    f->e[i].has_prev = prev_ms != 0;
    f->e[i].prev = (struct webhook_id){prev_ms, 0};
}

static int count(const struct queue *q)
{
    int n = 0;
    struct queue *x;
    queue_foreach(x, q) n++;
    return n;
}

/* The end of a fixture's test: nothing woken, nothing held; frees f's table. */
static void fixture_done(struct fixture *f, const struct queue *woken)
{
    assert_true(queue_empty(woken));
    assert_int_equal(f->q.n, 0);
    wq_free(&f->q);
}

/* A chain of one (sku, location) read in order: each waits for the one
 * before it, and is woken when that one finishes, not before. */
static void test_queue_local_chain(void **state)
{
    (void)state;
    struct fixture f;
    wq_init(&f.q, 4);
    entry(&f, 0, 10, 0);
    entry(&f, 1, 11, 10);
    entry(&f, 2, 12, 11);
    entry(&f, 3, 13, 0); /* another chain */
    for (int i = 0; i < 4; i++)
        assert_true(wq_add(&f.q, &f.e[i]));
    assert_int_equal(wq_resolve(&f.q, &f.e[0]), WQ_FREE);
    assert_int_equal(wq_resolve(&f.q, &f.e[1]), WQ_LOCAL);
    assert_ptr_equal(f.e[1].after, &f.e[0]);
    assert_int_equal(wq_resolve(&f.q, &f.e[2]), WQ_LOCAL);
    assert_ptr_equal(f.e[2].after, &f.e[1]);
    assert_int_equal(wq_resolve(&f.q, &f.e[3]), WQ_FREE);
    assert_int_equal(f.q.n, 4);

    struct queue woken;
    queue_init(&woken);
    wq_remove(&f.q, &f.e[3], true, &woken); /* the other chain wakes no one */
    assert_true(queue_empty(&woken));
    wq_remove(&f.q, &f.e[0], true, &woken);
    assert_int_equal(count(&woken), 1);
    assert_ptr_equal(queue_data(queue_first(&woken), struct webhook_entry, wnode), &f.e[1]);
    assert_null(f.e[1].after);
    assert_ptr_equal(f.e[2].after, &f.e[1]); /* still waits */
    queue_remove(queue_first(&woken));
    wq_remove(&f.q, &f.e[1], true, &woken);
    assert_ptr_equal(queue_data(queue_first(&woken), struct webhook_entry, wnode), &f.e[2]);
    queue_remove(queue_first(&woken));
    wq_remove(&f.q, &f.e[2], true, &woken);
    fixture_done(&f, &woken);
}

/* A prev not held here must be asked about; one held and lost to another
 * replica too; an id held twice is refused. */
static void test_queue_remote_and_lost(void **state)
{
    (void)state;
    struct fixture f;
    wq_init(&f.q, 4);
    entry(&f, 0, 20, 5); /* prev 5 was read elsewhere */
    entry(&f, 1, 21, 20);
    entry(&f, 2, 20, 0); /* the same id again */
    assert_true(wq_add(&f.q, &f.e[0]));
    assert_true(wq_add(&f.q, &f.e[1]));
    assert_false(wq_add(&f.q, &f.e[2]));
    assert_int_equal(f.q.n, 2);
    assert_int_equal(wq_resolve(&f.q, &f.e[0]), WQ_REMOTE);
    assert_null(f.e[0].after);
    assert_int_equal(wq_resolve(&f.q, &f.e[1]), WQ_LOCAL);
    assert_ptr_equal(wq_find(&f.q, (struct webhook_id){21, 0}), &f.e[1]);
    assert_null(wq_find(&f.q, (struct webhook_id){5, 0}));

    /* 20 is lost: 21 is unlinked and must ask, and a lost entry is never
     * waited for. */
    struct queue woken;
    queue_init(&woken);
    f.e[0].lost = true;
    wq_remove(&f.q, &f.e[0], false, &woken);
    assert_int_equal(count(&woken), 1);
    assert_null(f.e[1].after);
    queue_remove(queue_first(&woken));
    assert_int_equal(wq_resolve(&f.q, &f.e[1]), WQ_REMOTE);

    /* A held entry marked lost is not waited for either. */
    entry(&f, 3, 30, 0);
    entry(&f, 4, 31, 30);
    assert_true(wq_add(&f.q, &f.e[3]));
    assert_true(wq_add(&f.q, &f.e[4]));
    f.e[3].lost = true;
    assert_int_equal(wq_resolve(&f.q, &f.e[4]), WQ_REMOTE);
    wq_remove(&f.q, &f.e[4], false, &woken);
    wq_remove(&f.q, &f.e[3], false, &woken);
    wq_remove(&f.q, &f.e[1], false, &woken);
    fixture_done(&f, &woken);
}

/* Many entries in a small table: every one is found, whatever the chains. */
static void test_queue_many(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct wq q;
    wq_init(&q, 16);
    struct webhook_entry *e = calloc(N, sizeof *e);
    assert_non_null(e);
    for (int i = 0; i < N; i++) {
        e[i].id = (struct webhook_id){1700000000000ull + (uint64_t)i / 3, (uint64_t)i % 3};
        assert_true(wq_add(&q, &e[i]));
    }
    for (int i = 0; i < N; i++)
        assert_ptr_equal(wq_find(&q, e[i].id), &e[i]);
    struct queue woken;
    queue_init(&woken);
    for (int i = 0; i < N; i += 2)
        wq_remove(&q, &e[i], true, &woken);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(wq_find(&q, e[i].id), i % 2 ? &e[i] : NULL);
    for (int i = 1; i < N; i += 2)
        wq_remove(&q, &e[i], true, &woken);
    assert_int_equal(q.n, 0);
    wq_free(&q);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_parse_and_format), cmocka_unit_test(test_id_order),
        cmocka_unit_test(test_event_parse),         cmocka_unit_test(test_body_exact),
        cmocka_unit_test(test_body_escaping),       cmocka_unit_test(test_signature_rfc4231),
        cmocka_unit_test(test_group_name),          cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_queue_local_chain),   cmocka_unit_test(test_queue_remote_and_lost),
        cmocka_unit_test(test_queue_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
