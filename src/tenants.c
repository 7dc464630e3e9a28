/* Tenants: the file, token look-up and per-tenant request counters (see
 * tenants.h). */
#include "tenants.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "prom.h"

/* --- parsing ------------------------------------------------------------ */

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static int fail(struct tenants *ts, char *err, size_t errlen, const char *fmt, ...)
    LOG_PRINTF(4, 5);

static int fail(struct tenants *ts, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    tenants_free(ts);
    return -1;
}

/* The fields of one line: up to 3 runs of non-blank bytes (a third means
 * the line is wrong). Returns how many were found. */
static int fields(const char *p, size_t n, struct str f[3])
{
    int k = 0;
    size_t i = 0;
    while (k < 3) {
        while (i < n && blank(p[i]))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && !blank(p[i]))
            i++;
        f[k++] = (struct str){p + start, i - start};
    }
    return k;
}

/* A token: UTF-8, no white space, no control byte (0x00-0x20, 0x7f). */
static bool token_ok(struct str t)
{
    for (size_t i = 0; i < t.n; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return utf8_valid((const unsigned char *)t.p, t.n);
}

/* Adds one line's tenant, checked; returns 0 or -1 with err. */
static int add_line(struct tenants *ts, size_t *cap, const char *file, unsigned line,
                    struct str f[2], char *err, size_t errlen)
{
    struct ident id;
    if (f[0].n > TENANT_NAME_MAX || !ident_check(f[0].p, f[0].n, &id))
        return fail(ts, err, errlen,
                    "%s:%u: the tenant must be an identifier of 1 to %d bytes of "
                    "[A-Za-z0-9._~@/+=-]",
                    file, line, TENANT_NAME_MAX);
    if (f[1].n > TOKEN_MAX)
        return fail(ts, err, errlen, "%s:%u: the token of tenant '%.*s' is longer than %d bytes",
                    file, line, (int)f[0].n, f[0].p, TOKEN_MAX);
    if (!token_ok(f[1]))
        return fail(ts, err, errlen,
                    "%s:%u: the token of tenant '%.*s' must be UTF-8 without control bytes",
                    file, line, (int)f[0].n, f[0].p);
    ts->all = xgrow(ts->all, cap, ts->n + 1, sizeof *ts->all);
    struct tenant *t = &ts->all[ts->n];
    memset(t, 0, sizeof *t);
    memcpy(t->name, f[0].p, f[0].n); /* ident is set once the array stops moving */
    t->token = xmalloc(f[1].n + 1);
    memcpy(t->token, f[1].p, f[1].n);
    t->token[f[1].n] = '\0';
    t->token_len = f[1].n;
    t->line = line;
    t->index = ts->n++;
    return 0;
}

/* Orders tenants (by pointer) by name, or by token, then by line. */
static int by_name(const void *a, const void *b)
{
    const struct tenant *x = *(const struct tenant *const *)a, *y = *(const struct tenant *const *)b;
    int c = str_cmp(x->ident.s, y->ident.s);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int by_token(const void *a, const void *b)
{
    const struct tenant *x = *(const struct tenant *const *)a, *y = *(const struct tenant *const *)b;
    int c = str_cmp((struct str){x->token, x->token_len}, (struct str){y->token, y->token_len});
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* The first line (in the file's order) that repeats an earlier one: sorted
 * by cmp (the key, then the line), the second of each run of equal keys is
 * its first repeat. Sets *first to the line it repeats; NULL when no key
 * repeats. */
static const struct tenant *first_repeat(struct tenant **sorted, size_t n,
                                         int (*cmp)(const void *, const void *),
                                         const struct tenant **first)
{
    qsort(sorted, n, sizeof *sorted, cmp);
    const struct tenant *found = NULL;
    for (size_t i = 1, g = 0; i < n; i++) {
        const struct tenant *a = sorted[g], *b = sorted[i];
        bool same = cmp == by_name ? str_eq(a->ident.s, b->ident.s)
                                   : a->token_len == b->token_len &&
                                         memcmp(a->token, b->token, a->token_len) == 0;
        if (!same) {
            g = i; /* a new run starts */
        } else if (i == g + 1 && (found == NULL || b->line < found->line)) {
            found = b;
            *first = a;
        }
    }
    return found;
}

/* Every name and every token once. */
static int check_unique(struct tenants *ts, const char *file, char *err, size_t errlen)
{
    struct tenant **sorted = xcalloc(ts->n, sizeof *sorted);
    for (size_t i = 0; i < ts->n; i++)
        sorted[i] = &ts->all[i];
    const struct tenant *first = NULL;
    const struct tenant *dup = first_repeat(sorted, ts->n, by_name, &first);
    int rc = 0;
    if (dup != NULL) {
        rc = fail(ts, err, errlen, "%s:%u: tenant '%s' is declared already on line %u", file,
                  dup->line, dup->name, first->line);
    } else if ((dup = first_repeat(sorted, ts->n, by_token, &first)) != NULL) {
        rc = fail(ts, err, errlen,
                  "%s:%u: tenant '%s' has the token of tenant '%s' (line %u): each tenant needs "
                  "its own",
                  file, dup->line, dup->name, first->name, first->line);
    }
    free(sorted);
    return rc;
}

int tenants_parse(struct tenants *ts, const char *file, const char *text, size_t len, char *err,
                  size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    size_t cap = 0;
    unsigned line = 0;
    for (size_t at = 0; at < len;) {
        const char *p = text + at;
        const char *nl = memchr(p, '\n', len - at);
        size_t n = nl ? (size_t)(nl - p) : len - at;
        at += n + (nl != NULL);
        line++;
        if (memchr(p, '\0', n) != NULL)
            return fail(ts, err, errlen, "%s:%u: the line holds a NUL byte", file, line);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        struct str f[3];
        int k = fields(p, n, f);
        if (k == 0 || f[0].p[0] == '#')
            continue;
        if (k != 2)
            return fail(ts, err, errlen,
                        "%s:%u: expected '<tenant> <token>' (two fields separated by blanks), "
                        "found %s",
                        file, line, k == 1 ? "one field" : "more than two");
        if (add_line(ts, &cap, file, line, f, err, errlen) != 0)
            return -1;
    }
    if (ts->n == 0)
        return fail(ts, err, errlen, "%s: no tenant in the file (only blank lines and comments)",
                    file);
    for (size_t i = 0; i < ts->n; i++)
        ident_check(ts->all[i].name, strlen(ts->all[i].name), &ts->all[i].ident); /* checked */
    return check_unique(ts, file, err, errlen);
}

int tenants_load(struct tenants *ts, const char *path, char *err, size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct buf text;
    buf_init(&text);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&text, chunk, n);
    bool failed = ferror(f) != 0;
    int read_errno = errno;
    fclose(f);
    int rc;
    if (failed) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(read_errno));
        rc = -1;
    } else {
        rc = tenants_parse(ts, path, text.data ? text.data : "", text.len, err, errlen);
    }
    memset(chunk, 0, sizeof chunk);
    if (text.data != NULL)
        memset(text.data, 0, text.cap);
    buf_free(&text);
    return rc;
}

void tenants_free(struct tenants *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        memset(ts->all[i].token, 0, ts->all[i].token_len);
        free(ts->all[i].token);
        free(ts->all[i].requests);
    }
    free(ts->all);
    memset(ts, 0, sizeof *ts);
}

/* --- look-up ------------------------------------------------------------ */

bool token_equal(const char *want, size_t want_n, const char *got, size_t got_n)
{
    unsigned char diff = want_n != got_n;
    for (size_t i = 0; i < want_n; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < got_n ? got[i] : 0);
    return diff == 0;
}

struct tenant *tenants_find(const struct tenants *ts, const char *token, size_t n)
{
    /* Every token is compared, and the match is picked without a branch
     * on the bytes: tokens are unique, so at most one matches. */
    size_t found = 0; /* index + 1 */
    for (size_t i = 0; i < ts->n; i++) {
        size_t match = (size_t)token_equal(ts->all[i].token, ts->all[i].token_len, token, n);
        found |= (i + 1) & ((size_t)0 - match);
    }
    return found ? &ts->all[found - 1] : NULL;
}

/* --- counters ------------------------------------------------------------- */

void tenants_count(struct tenant *t, enum method_id method, enum error_id e)
{
    if (method < 0 || method > METHOD_COUNT)
        method = METHOD_COUNT;
    if (e < E_NONE || e >= E_COUNT)
        e = E_INTERNAL;
    if (t->requests == NULL)
        t->requests = xcalloc(METRICS_METHODS, sizeof *t->requests);
    t->requests[method][e]++;
}

void tenants_render(const struct tenants *ts, struct buf *out)
{
    prom_head(out, "stockd_tenant_requests_total", "counter",
              "Requests answered per tenant, by method and code (0: a result).");
    char labels[256];
    for (size_t i = 0; i < ts->n; i++) {
        const struct tenant *t = &ts->all[i];
        if (t->requests == NULL)
            continue;
        for (int m = 0; m < METRICS_METHODS; m++)
            for (int e = 0; e < E_COUNT; e++) {
                /* One sample per code: errors that share a code are summed,
                 * each code once, at its first error. */
                int code = error_code((enum error_id)e);
                bool first = true;
                uint64_t sum = 0;
                for (int o = 0; o < E_COUNT; o++)
                    if (error_code((enum error_id)o) == code) {
                        if (o < e)
                            first = false;
                        sum += t->requests[m][o];
                    }
                if (!first || sum == 0)
                    continue;
                snprintf(labels, sizeof labels, "{tenant=\"%s\",method=\"%s\",code=\"%d\"}",
                         t->name, method_name((enum method_id)m), code);
                prom_sample_u(out, "stockd_tenant_requests_total", labels, sum);
            }
    }
}
