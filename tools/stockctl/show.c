/* stockctl's human output: each result as a table or as aligned "key
 * value" lines on stdout (an out_of_stock's ranking on stderr); --json
 * bypasses all of this. Every function tolerates a member that is missing
 * or of the wrong type: it shows "?" or "-" rather than trusting the server
 * blindly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "ctl.h"

/* A text table: cells are collected first so that every column gets the
 * width of its widest cell. */
struct table {
    unsigned ncols;
    unsigned right; /* bit i: column i holds numbers, aligned right */
    char **cells;   /* owned, with owned strings: ncols per row, the heading first */
    size_t n, cap;
};

static void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_cell(struct table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xmalloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->cells = xrealloc(t->cells, t->cap * sizeof *t->cells);
    }
    t->cells[t->n++] = s;
}

static void table_init(struct table *t, unsigned ncols, unsigned right, const char *const *heads)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->right = right;
    for (unsigned i = 0; i < ncols; i++)
        table_cell(t, "%s", heads[i]);
}

/* Prints the table on f (two spaces between columns, no trailing blanks)
 * and frees it. A short last row leaves its last cells empty. */
static void table_flush(struct table *t, FILE *f)
{
    size_t width[10] = {0}; /* the widest table here, a stock row, has 9 columns */
    for (size_t i = 0; i < t->n; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > width[i % t->ncols])
            width[i % t->ncols] = len;
    }
    for (size_t row = 0; row * t->ncols < t->n; row++) {
        struct buf line;
        buf_init(&line);
        for (unsigned c = 0; c < t->ncols && row * t->ncols + c < t->n; c++) {
            const char *s = t->cells[row * t->ncols + c];
            size_t pad = width[c] - strlen(s);
            if (c > 0)
                buf_appends(&line, "  ");
            bool right = (t->right >> c) & 1u;
            for (size_t k = 0; right && k < pad; k++)
                buf_appendc(&line, ' ');
            buf_appends(&line, s);
            for (size_t k = 0; !right && k < pad; k++)
                buf_appendc(&line, ' ');
        }
        while (line.len > 0 && line.data[line.len - 1] == ' ')
            line.len--;
        fprintf(f, "%s\n", buf_cstr(&line));
        buf_free(&line);
    }
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* A number member as the shortest decimal that reads back the same
 * (coordinates come back as given: 52.52 stays 52.52), or "-" when absent. */
static void number_text(const cJSON *o, const char *name, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(v))
        format_number(v->valuedouble, out, n);
    else
        snprintf(out, n, "-");
}

/* The strings of an array member joined with sep into out (reset first),
 * or "-" when the array is absent or empty. Returns out's text. */
static const char *joined(const cJSON *o, const char *name, const char *sep, struct buf *out)
{
    buf_reset(out);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
    for (const cJSON *e = cJSON_IsArray(a) ? a->child : NULL; e != NULL; e = e->next) {
        buf_appends(out, out->len ? sep : "");
        buf_appends(out, cJSON_IsString(e) ? e->valuestring : "?");
    }
    return out->len ? buf_cstr(out) : "-";
}

/* Milliseconds since the epoch as ISO-8601 UTC, e.g. 2026-11-27T10:00:53.923Z. */
static void iso_time(long long ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || gmtime_r(&s, &tm) == NULL) {
        snprintf(out, n, "-");
        return;
    }
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03lldZ", date, ms % 1000);
}

void show_pong(const cJSON *result)
{
    const char *redis = str_of(result, "redis");
    printf("pong: redis %s\n", redis ? redis : "?");
}

int redis_verdict(const cJSON *result)
{
    const char *redis = str_of(result, "redis");
    return redis && strcmp(redis, "up") == 0 ? CTL_EXIT_OK : CTL_EXIT_RETRYABLE;
}

/* A stock row's columns: the first six always, then one per bit of
 * row_extras when some row of the table has something to say there (a
 * backorder limit, a low-stock threshold, units backordered), so that a
 * store that uses none of them reads as it always did. */
static const char *const row_heads[] = {"SKU",        "LOCATION", "ON_HAND",         "RESERVED",
                                        "AVAILABLE",  "SAFETY",   "BACKORDER_LIMIT", "LOW_STOCK",
                                        "BACKORDERED"};
#define ROW_BASE 6
#define ROW_EXTRA_LIMIT 0x1u
#define ROW_EXTRA_THRESHOLD 0x2u
#define ROW_EXTRA_BACKORDERED 0x4u

static unsigned row_extras(const cJSON *row)
{
    unsigned x = 0;
    if (num_of(row, "backorder_limit") > 0)
        x |= ROW_EXTRA_LIMIT;
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(row, "low_stock_threshold")))
        x |= ROW_EXTRA_THRESHOLD;
    if (num_of(row, "backordered") > 0)
        x |= ROW_EXTRA_BACKORDERED;
    return x;
}

/* Starts a table of stock rows: with or without the SKU column, with the
 * extra columns of extras; every column but the names holds numbers. */
static void row_table(struct table *t, bool with_sku, unsigned extras)
{
    const char *heads[sizeof row_heads / sizeof row_heads[0]];
    unsigned n = 0, right = 0;
    for (unsigned i = with_sku ? 0 : 1; i < sizeof row_heads / sizeof row_heads[0]; i++) {
        if (i >= ROW_BASE && !(extras & (1u << (i - ROW_BASE))))
            continue;
        if (i >= 2)
            right |= 1u << n;
        heads[n++] = row_heads[i];
    }
    table_init(t, n, right, heads);
}

static void row_cells(struct table *t, const cJSON *row, bool with_sku, unsigned extras)
{
    if (with_sku)
        table_cell(t, "%s", str_of(row, "sku") ? str_of(row, "sku") : "");
    table_cell(t, "%s", str_of(row, "location") ? str_of(row, "location") : "");
    table_cell(t, "%lld", num_of(row, "on_hand"));
    table_cell(t, "%lld", num_of(row, "reserved"));
    table_cell(t, "%lld", num_of(row, "available"));
    table_cell(t, "%lld", num_of(row, "safety_stock"));
    if (extras & ROW_EXTRA_LIMIT)
        table_cell(t, "%lld", num_of(row, "backorder_limit"));
    if (extras & ROW_EXTRA_THRESHOLD) {
        /* null: this row has no threshold. */
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "low_stock_threshold");
        if (cJSON_IsNumber(v))
            table_cell(t, "%lld", (long long)v->valuedouble);
        else
            table_cell(t, "-");
    }
    if (extras & ROW_EXTRA_BACKORDERED)
        table_cell(t, "%lld", num_of(row, "backordered"));
}

void show_row(const cJSON *result)
{
    struct table t;
    unsigned extras = row_extras(result);
    row_table(&t, true, extras);
    row_cells(&t, result, true, extras);
    table_flush(&t, stdout);
}

void show_stock(const cJSON *result)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(result, "locations");
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(result, "totals");
    const char *sku = str_of(result, "sku");
    if (cJSON_GetArraySize(rows) == 0) {
        printf("sku %s: no stock recorded\n", sku ? sku : "?");
        return;
    }
    printf("sku %s\n", sku ? sku : "?");
    unsigned extras = 0;
    for (const cJSON *row = rows->child; row != NULL; row = row->next)
        extras |= row_extras(row);
    struct table t;
    row_table(&t, false, extras);
    for (const cJSON *row = rows->child; row != NULL; row = row->next)
        row_cells(&t, row, false, extras);
    /* Parentheses cannot occur in a location name, so the totals line
     * cannot be mistaken for a location. Totals have no safety stock, limit
     * or threshold, only units backordered. */
    table_cell(&t, "(total)");
    table_cell(&t, "%lld", num_of(totals, "on_hand"));
    table_cell(&t, "%lld", num_of(totals, "reserved"));
    table_cell(&t, "%lld", num_of(totals, "available"));
    if (extras & ROW_EXTRA_BACKORDERED) {
        table_cell(&t, "%s", "");
        if (extras & ROW_EXTRA_LIMIT)
            table_cell(&t, "%s", "");
        if (extras & ROW_EXTRA_THRESHOLD)
            table_cell(&t, "%s", "");
        table_cell(&t, "%lld", num_of(totals, "backordered"));
    }
    table_flush(&t, stdout);
}

void show_channel(const cJSON *result)
{
    const char *channel = str_of(result, "channel");
    printf("channel %s\n", channel ? channel : "?");
    /* The ranking rules, first rule first; a stockd before routing sends
     * none, and the order is then the channel's. */
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(result, "rules"))) {
        struct buf rules;
        buf_init(&rules);
        printf("rules: %s\n", joined(result, "rules", ", ", &rules));
        buf_free(&rules);
    }
    struct table t;
    table_init(&t, 2, 0x1u, (const char *const[]){"#", "LOCATION"});
    int i = 1;
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(result, "locations");
    for (const cJSON *l = locs ? locs->child : NULL; l != NULL; l = l->next, i++) {
        table_cell(&t, "%d", i);
        table_cell(&t, "%s", cJSON_IsString(l) ? l->valuestring : "?");
    }
    table_flush(&t, stdout);
}

/* A hold's allocations; a BACKORDERED column when the hold was made with
 * --allow-backorder (only then do allocations carry the member). */
static void show_allocations(const cJSON *allocs)
{
    bool backorder = false;
    for (const cJSON *a = cJSON_IsArray(allocs) ? allocs->child : NULL; a != NULL; a = a->next)
        backorder = backorder || cJSON_GetObjectItemCaseSensitive(a, "backordered") != NULL;
    struct table t;
    table_init(&t, backorder ? 4 : 3, 0xcu,
               (const char *const[]){"SKU", "LOCATION", "QUANTITY", "BACKORDERED"});
    for (const cJSON *a = cJSON_IsArray(allocs) ? allocs->child : NULL; a != NULL; a = a->next) {
        table_cell(&t, "%s", str_of(a, "sku") ? str_of(a, "sku") : "?");
        table_cell(&t, "%s", str_of(a, "location") ? str_of(a, "location") : "?");
        table_cell(&t, "%lld", num_of(a, "quantity"));
        if (backorder)
            table_cell(&t, "%lld", num_of(a, "backordered"));
    }
    table_flush(&t, stdout);
}

/* A partial hold's lines that were not filled completely. */
static void show_shortages(const cJSON *shortages)
{
    if (cJSON_GetArraySize(shortages) == 0) {
        printf("shortages: none, every line is filled\n");
        return;
    }
    printf("shortages: the lines not filled completely\n");
    struct table t;
    table_init(&t, 4, 0xeu, (const char *const[]){"SKU", "REQUESTED", "ALLOCATED", "SHORT"});
    for (const cJSON *s = shortages->child; s != NULL; s = s->next) {
        table_cell(&t, "%s", str_of(s, "sku") ? str_of(s, "sku") : "?");
        table_cell(&t, "%lld", num_of(s, "requested"));
        table_cell(&t, "%lld", num_of(s, "allocated"));
        table_cell(&t, "%lld", num_of(s, "requested") - num_of(s, "allocated"));
    }
    table_flush(&t, stdout);
}

void show_reservation(const cJSON *result)
{
    char created[40], expires[40];
    iso_time(num_of(result, "created_at"), created, sizeof created);
    iso_time(num_of(result, "expires_at"), expires, sizeof expires);
    const char *order = str_of(result, "order_id");
    const char *reason = str_of(result, "reason");
    const cJSON *replayed = cJSON_GetObjectItemCaseSensitive(result, "replayed");
    const cJSON *changed = cJSON_GetObjectItemCaseSensitive(result, "changed");
    printf("reservation  %s\n",
           str_of(result, "reservation_id") ? str_of(result, "reservation_id") : "?");
    printf("status       %s\n", str_of(result, "status") ? str_of(result, "status") : "?");
    printf("order        %s\n", order ? order : "-");
    printf("created      %s\n", created);
    printf("expires      %s\n", expires);
    if (reason != NULL)
        printf("reason       %s\n", reason);
    if (cJSON_IsBool(replayed))
        printf("replayed     %s\n", cJSON_IsTrue(replayed) ? "yes (the hold made earlier)" : "no");
    /* update and transfer: false when the hold was that way already. */
    if (cJSON_IsBool(changed))
        printf("changed      %s\n", cJSON_IsTrue(changed) ? "yes" : "no (it was so already)");
    printf("\n");
    show_allocations(cJSON_GetObjectItemCaseSensitive(result, "allocations"));
    /* Only a hold made with --allow-partial has the list (empty when every
     * line was filled). */
    const cJSON *shortages = cJSON_GetObjectItemCaseSensitive(result, "shortages");
    if (cJSON_IsArray(shortages)) {
        printf("\n");
        show_shortages(shortages);
    }
    /* Only a new hold asked for with --explain has the list. */
    const cJSON *explain = cJSON_GetObjectItemCaseSensitive(result, "explain");
    if (cJSON_IsArray(explain)) {
        printf("\n");
        show_explain(explain, stdout);
    }
}

void show_explain(const cJSON *explain, FILE *f)
{
    if (cJSON_GetArraySize(explain) == 0) {
        fprintf(f, "ranking: no candidate location left\n");
        return;
    }
    fprintf(f, "ranking: the candidate locations, most preferred first\n");
    struct table t;
    table_init(&t, 5, 0x15u,
               (const char *const[]){"RANK", "LOCATION", "DISTANCE_KM", "ZONE", "PRIORITY"});
    int rank = 1;
    for (const cJSON *e = explain->child; e != NULL; e = e->next, rank++) {
        /* stockd sends up to 4 decimals; all 4 keep the column aligned. */
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "distance_km");
        char km[40];
        if (cJSON_IsNumber(d))
            snprintf(km, sizeof km, "%.4f", d->valuedouble);
        else
            snprintf(km, sizeof km, "-");
        table_cell(&t, "%d", rank);
        table_cell(&t, "%s", str_of(e, "location") ? str_of(e, "location") : "?");
        table_cell(&t, "%s", km);
        table_cell(&t, "%s", str_of(e, "zone") ? str_of(e, "zone") : "-");
        table_cell(&t, "%lld", num_of(e, "priority"));
    }
    table_flush(&t, f);
}

void show_location(const cJSON *result)
{
    char lat[40], lng[40];
    number_text(result, "lat", lat, sizeof lat);
    number_text(result, "lng", lng, sizeof lng);
    const char *zone = str_of(result, "zone");
    struct buf tags;
    buf_init(&tags);
    printf("location     %s\n", str_of(result, "location") ? str_of(result, "location") : "?");
    if (strcmp(lat, "-") == 0)
        printf("coordinates  -\n");
    else
        printf("coordinates  %s, %s\n", lat, lng);
    printf("zone         %s\n", zone ? zone : "-");
    printf("priority     %lld\n", num_of(result, "priority"));
    printf("tags         %s\n", joined(result, "tags", ", ", &tags));
    buf_free(&tags);
}

void show_locations(const cJSON *result)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(result, "locations");
    if (cJSON_GetArraySize(list) == 0) {
        printf("no locations recorded\n");
        return;
    }
    struct table t;
    struct buf tags;
    buf_init(&tags);
    table_init(&t, 6, 0x16u,
               (const char *const[]){"LOCATION", "LAT", "LNG", "ZONE", "PRIORITY", "TAGS"});
    for (const cJSON *l = list->child; l != NULL; l = l->next) {
        char lat[40], lng[40];
        number_text(l, "lat", lat, sizeof lat);
        number_text(l, "lng", lng, sizeof lng);
        table_cell(&t, "%s", str_of(l, "location") ? str_of(l, "location") : "?");
        table_cell(&t, "%s", lat);
        table_cell(&t, "%s", lng);
        table_cell(&t, "%s", str_of(l, "zone") ? str_of(l, "zone") : "-");
        table_cell(&t, "%lld", num_of(l, "priority"));
        table_cell(&t, "%s", joined(l, "tags", ",", &tags));
    }
    table_flush(&t, stdout);
    buf_free(&tags);
}

void show_audit(const cJSON *result)
{
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok"));
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(result, "differences");
    const cJSON *stale = cJSON_GetObjectItemCaseSensitive(result, "stale_index");
    printf("audit %s: %lld skus checked, %lld live holds, %d differences, %d stale index entries\n",
           ok ? "ok" : "FAILED", num_of(result, "skus_checked"), num_of(result, "holds"),
           cJSON_GetArraySize(diffs), cJSON_GetArraySize(stale));
    if (cJSON_GetArraySize(diffs) > 0) {
        struct table t;
        printf("\n");
        table_init(&t, 4, 0xcu, (const char *const[]){"SKU", "LOCATION", "RESERVED", "EXPECTED"});
        for (const cJSON *d = diffs->child; d != NULL; d = d->next) {
            table_cell(&t, "%s", str_of(d, "sku") ? str_of(d, "sku") : "?");
            table_cell(&t, "%s", str_of(d, "location") ? str_of(d, "location") : "?");
            table_cell(&t, "%lld", num_of(d, "reserved"));
            table_cell(&t, "%lld", num_of(d, "expected"));
        }
        table_flush(&t, stdout);
    }
    if (cJSON_GetArraySize(stale) > 0) {
        struct table t;
        printf("\n");
        table_init(&t, 2, 0, (const char *const[]){"STALE_RESERVATION", "STATUS"});
        for (const cJSON *s = stale->child; s != NULL; s = s->next) {
            table_cell(&t, "%s", str_of(s, "reservation_id") ? str_of(s, "reservation_id") : "?");
            table_cell(&t, "%s", str_of(s, "status") ? str_of(s, "status") : "?");
        }
        table_flush(&t, stdout);
    }
}

int audit_verdict(const cJSON *result)
{
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok"));
    return ok ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
}
