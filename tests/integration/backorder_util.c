/* Calls and readings shared by the backorder tests: requests written with
 * ' for ", the expected-error checks, and the allocations, shortages, stock
 * rows and ledger entries rendered as short strings to compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backorder_util.h"

int conn(void)
{
    return harness_client(0);
}

/* Sends method with params written with ' for " (no identifier here holds a
 * quote), so that the requests stay readable. The caller frees the reply. */
static cJSON *vrpc(int fd, const char *method, const char *fmt, va_list ap)
{
    char params[8192];
    vsnprintf(params, sizeof params, fmt, ap);
    for (char *p = params; *p; p++)
        if (*p == '\'')
            *p = '"';
    return client_callf(fd, "{\"id\":1,\"method\":\"%s\",\"params\":%s}", method, params);
}

cJSON *rpc(const char *method, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cJSON *r = vrpc(conn(), method, fmt, ap);
    va_end(ap);
    return r;
}

cJSON *rpc_fd(int fd, const char *method, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cJSON *r = vrpc(fd, method, fmt, ap);
    va_end(ap);
    return r;
}

cJSON *must(cJSON *r)
{
    if (resp_error_code(r) != 0)
        fail_msg("unexpected error: %s", cJSON_PrintUnformatted(r));
    return r;
}

const cJSON *res(const cJSON *r)
{
    return resp_result(r);
}

const cJSON *edata(const cJSON *r)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "data");
}

void expect_err(cJSON *r, int code, const char *reason)
{
    if (resp_error_code(r) != code || (reason && strcmp(resp_error_reason(r), reason) != 0))
        fail_msg("want %d %s, got %s", code, reason ? reason : "", cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}

void expect_oos(cJSON *r, const char *sku, long long requested, long long available)
{
    const cJSON *d = edata(r);
    if (resp_error_code(r) != 1001 || strcmp(json_str(d, "sku"), sku) != 0 ||
        json_int(d, "requested") != requested || json_int(d, "available") != available)
        fail_msg("want 1001 %s requested %lld available %lld, got %s", sku, requested, available,
                 cJSON_PrintUnformatted(r));
    assert_string_equal(resp_error_reason(r), "out_of_stock");
    cJSON_Delete(r);
}

bool names_field(cJSON *r, const char *field, const char *what)
{
    bool good = resp_error_code(r) == -32602 && strcmp(json_str(edata(r), "field"), field) == 0;
    if (!good) {
        char *got = cJSON_PrintUnformatted(r);
        print_error("%s: want -32602 field %s, got %s\n", what, field, got);
        free(got);
    }
    cJSON_Delete(r);
    return good;
}

void expect_field(cJSON *r, const char *field, const char *what)
{
    if (!names_field(r, field, what))
        fail();
}

void channel(const char *name, const char *locations)
{
    cJSON_Delete(must(rpc("channel.set", "{'channel':'%s','locations':%s}", name, locations)));
}

void stock(const char *sku, const char *loc, long long on_hand, const char *extra)
{
    cJSON_Delete(must(rpc("stock.set", "{'sku':'%s','location':'%s','on_hand':%lld%s}", sku, loc,
                          on_hand, extra)));
}

cJSON *reserve_ok(char *id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cJSON *r = must(vrpc(conn(), "reserve", fmt, ap));
    va_end(ap);
    snprintf(id, 64, "%s", json_str(res(r), "reservation_id"));
    return r;
}

cJSON *get_res(const char *id)
{
    return must(rpc("reservation.get", "{'reservation_id':'%s'}", id));
}

cJSON *update(const char *id, const char *items)
{
    return rpc("reservation.update", "{'reservation_id':'%s','items':%s}", id, items);
}

cJSON *transfer(const char *id, const char *rest)
{
    return rpc("reservation.transfer", "{'reservation_id':'%s',%s}", id, rest);
}

bool changed(const cJSON *r)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(res(r), "changed");
    if (!cJSON_IsBool(c))
        fail_msg("no boolean changed in %s", cJSON_PrintUnformatted(r));
    return cJSON_IsTrue(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins n strings with sep into out, sorted first when asked. */
static const char *join(char **items, int n, const char *sep, bool sorted, char *out, size_t size)
{
    if (sorted)
        qsort(items, (size_t)n, sizeof *items, cmp_str);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i ? sep : "", items[i]);
        free(items[i]);
    }
    return out;
}

const char *allocs_as(const cJSON *result, bool sorted)
{
    static char out[2048];
    char *items[64];
    int n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(result, "allocations"))
    {
        char one[256];
        int len = snprintf(one, sizeof one, "%s@%s=%lld", json_str(a, "sku"),
                           json_str(a, "location"), json_int(a, "quantity"));
        if (cJSON_GetObjectItemCaseSensitive(a, "backordered"))
            snprintf(one + len, sizeof one - (size_t)len, "(bo%lld)", json_int(a, "backordered"));
        if (n < 64)
            items[n++] = strdup(one);
    }
    return join(items, n, ",", sorted, out, sizeof out);
}

const char *allocs(const cJSON *result)
{
    return allocs_as(result, false);
}

const char *shortages(const cJSON *result)
{
    static char out[1024];
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(result, "shortages");
    if (list == NULL)
        return "none";
    char *items[64];
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, list)
    {
        char one[256];
        snprintf(one, sizeof one, "%s %lld/%lld", json_str(s, "sku"), json_int(s, "requested"),
                 json_int(s, "allocated"));
        if (n < 64)
            items[n++] = strdup(one);
    }
    return join(items, n, ",", false, out, sizeof out);
}

const char *rowfmt(const cJSON *row)
{
    static char out[256];
    snprintf(out, sizeof out, "oh=%lld res=%lld av=%lld bo=%lld lim=%lld", json_int(row, "on_hand"),
             json_int(row, "reserved"), json_int(row, "available"), json_int(row, "backordered"),
             json_int(row, "backorder_limit"));
    return out;
}

const char *rowstr(const char *sku, const char *loc)
{
    cJSON *r = must(rpc("stock.get", "{'sku':'%s','locations':['%s']}", sku, loc));
    const char *s =
        rowfmt(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res(r), "locations"), 0));
    cJSON_Delete(r);
    return s;
}

long long ledger_len(const char *ns)
{
    redisReply *r = harness_redis(&H, "XLEN {%s}:events", ns);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

const char *ledger_tail(const char *ns, long long from, const char *id)
{
    static char out[4096];
    char *items[64];
    int n = 0;
    redisReply *x = harness_redis(&H, "XRANGE {%s}:events - +", ns);
    for (size_t i = (size_t)from; i < x->elements; i++) {
        const redisReply *f = x->element[i]->element[1];
        const char *v[6] = {"", "", "", "", "", ""};
        static const char *const names[6] = {"type",     "sku",         "location",
                                             "quantity", "reservation", "reason"};
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            for (int j = 0; j < 6; j++)
                if (strcmp(f->element[k]->str, names[j]) == 0)
                    v[j] = f->element[k + 1]->str;
        if (strcmp(v[4], id) != 0)
            fail_msg("ledger entry %s of %s, not of %s", v[0], v[4], id);
        char one[512];
        snprintf(one, sizeof one, "%s %s@%s %s %s", v[0], v[1], v[2], v[3], v[5]);
        if (n < 64)
            items[n++] = strdup(one);
    }
    freeReplyObject(x);
    return join(items, n, "; ", true, out, sizeof out);
}

char *world(const char *id, const char *skus)
{
    size_t size = 65536, len = 0;
    char *out = malloc(size);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", skus);
    out[0] = '\0';
    for (char *save = NULL, *sku = strtok_r(copy, " ", &save); sku;
         sku = strtok_r(NULL, " ", &save)) {
        cJSON *r = must(rpc("stock.get", "{'sku':'%s'}", sku));
        char *s = cJSON_PrintUnformatted(res(r));
        len += (size_t)snprintf(out + len, size - len, "%s\n", s);
        free(s);
        cJSON_Delete(r);
    }
    if (id) {
        cJSON *r = get_res(id);
        char *s = cJSON_PrintUnformatted(res(r));
        len += (size_t)snprintf(out + len, size - len, "%s\n", s);
        free(s);
        cJSON_Delete(r);
    }
    snprintf(out + len, size - len, "ledger %lld holds %lld", ledger_len("inv"),
             harness_holds_left());
    return out;
}

void same_world(char *before, const char *id, const char *skus)
{
    char *after = world(id, skus);
    assert_string_equal(after, before);
    free(after);
    free(before);
}

void audit_ok_on(int fd)
{
    cJSON *r = must(rpc_fd(fd, "stock.audit", "{}"));
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res(r), "ok")))
        fail_msg("audit: %s", cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}

void expect_ledger_prefix(const char *tail, const char *prefix)
{
    if (strncmp(tail, prefix, strlen(prefix)) != 0 || strchr(tail, ';') != NULL)
        fail_msg("ledger: want one \"%s ...\", got \"%s\"", prefix, tail);
}

void expect_not_held(cJSON *r, const char *status)
{
    if (strcmp(json_str(edata(r), "status"), status) != 0)
        fail_msg("want status %s: %s", status, cJSON_PrintUnformatted(r));
    expect_err(r, 1003, "not_held");
}
