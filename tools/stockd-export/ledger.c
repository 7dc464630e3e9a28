/* The ledger as the exporter reads it (see ledger.h). */
#include "ledger.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const field_names[LF_COUNT] = {
#define X(name, text) text,
    LEDGER_FIELDS(X)
#undef X
};

const char *ledger_field_name(enum ledger_field f)
{
    assert(f < LF_COUNT);
    return field_names[f];
}

/* A decimal uint64 of s[0..n): digits only, no overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool stream_id_parse(const char *s, size_t n, struct stream_id *out)
{
    const char *dash = s ? memchr(s, '-', n) : NULL;
    if (dash == NULL)
        return false;
    size_t ms_len = (size_t)(dash - s);
    return parse_u64(s, ms_len, &out->ms) && parse_u64(dash + 1, n - ms_len - 1, &out->seq);
}

char *stream_id_format(struct stream_id id, char *out)
{
    snprintf(out, STREAM_ID_MAX, "%llu-%llu", (unsigned long long)id.ms,
             (unsigned long long)id.seq);
    return out;
}

int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

struct stream_id stream_id_prev(struct stream_id id)
{
    assert(id.ms != 0 || id.seq != 0);
    if (id.seq > 0)
        return (struct stream_id){id.ms, id.seq - 1};
    return (struct stream_id){id.ms - 1, UINT64_MAX};
}

/* A signed decimal in bigint's range, the whole of s[0..n). */
static bool parse_i64(struct str v, long long *out)
{
    char tmp[24];
    if (v.n == 0 || v.n >= sizeof tmp)
        return false;
    memcpy(tmp, v.p, v.n);
    tmp[v.n] = '\0';
    const char *digits = tmp[0] == '-' ? tmp + 1 : tmp;
    if (digits[0] < '0' || digits[0] > '9')
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (*end != '\0' || errno != 0)
        return false;
    *out = x;
    return true;
}

/* Text PostgreSQL takes: valid UTF-8 without NUL bytes. */
static bool storable_text(struct str v)
{
    return memchr(v.p, '\0', v.n) == NULL && utf8_valid((const unsigned char *)v.p, v.n);
}

bool ledger_row_read(struct ledger_row *row, struct str id, const struct str *pairs, size_t n_pairs)
{
    memset(row, 0, sizeof *row);
    if (!stream_id_parse(id.p, id.n, &row->id))
        return false;
    stream_id_format(row->id, row->id_text);
    if (row->id.ms > INT64_MAX || row->id.seq > INT64_MAX)
        row->problems |= ROW_BIG_ID;
    bool seen[LF_COUNT] = {false};
    for (size_t i = 0; i + 1 < n_pairs; i += 2) {
        struct str name = pairs[i], value = pairs[i + 1];
        enum ledger_field f = LF_COUNT;
        for (int k = 0; k < LF_COUNT && f == LF_COUNT; k++)
            if (name.n == strlen(field_names[k]) && memcmp(name.p, field_names[k], name.n) == 0)
                f = (enum ledger_field)k;
        if (f == LF_COUNT) {
            row->problems |= ROW_UNKNOWN_FIELD;
            continue;
        }
        if (seen[f]) {
            row->problems |= ROW_DUPLICATE_FIELD;
            continue;
        }
        seen[f] = true;
        if (value.p == NULL) { /* cannot come from Redis; keep NULL */
            row->problems |= ROW_MISSING_FIELD;
            continue;
        }
        if (f == LF_QUANTITY) {
            if (parse_i64(value, &row->quantity))
                row->value[f] = value;
            else
                row->problems |= ROW_BAD_QUANTITY;
            continue;
        }
        if (!storable_text(value)) {
            row->problems |= ROW_BAD_TEXT;
            continue;
        }
        /* '' is how the ledger says "none" for these two. */
        if (value.n == 0 && (f == LF_RESERVATION || f == LF_REASON))
            continue;
        row->value[f] = value;
    }
    for (int k = 0; k < LF_COUNT; k++)
        if (!seen[k])
            row->problems |= ROW_MISSING_FIELD;
    if (n_pairs % 2 != 0)
        row->problems |= ROW_MISSING_FIELD;
    return true;
}

bool ledger_gap_find(const struct stream_info *s, const struct group_info *g,
                     struct ledger_gap *gap, bool *countable)
{
    memset(gap, 0, sizeof *gap);
    *countable = g->lag_known;
    if (!g->lag_known)
        return false;
    long long present;
    if (!s->has_first) {
        present = 0; /* nothing after last_delivered is left */
    } else if (stream_id_cmp(s->first, g->last_delivered) > 0) {
        present = s->length; /* every entry left is after it */
        gap->before_known = true;
        gap->before = s->first;
    } else {
        /* Trimming removes from the head: it has not reached past
         * last_delivered, so everything after it is still there. */
        return false;
    }
    gap->missing = g->lag - present;
    gap->after = g->last_delivered;
    return gap->missing > 0;
}

void ledger_gap_repair(const struct stream_info *s, struct stream_id last_read, long long n_read,
                       struct stream_id *id, long long *entries_read)
{
    if (n_read == 0) {
        *id = s->last_generated;
        *entries_read = s->entries_added;
        return;
    }
    *id = last_read;
    *entries_read = s->entries_added - s->length + n_read;
}

void ledger_time_text(uint64_t ms, char *out, size_t n)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    /* An id written by hand may lie beyond what a calendar shows. */
    if (ms / 1000 > 253402300799ULL || gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, n, "infinity");
        return;
    }
    size_t k = strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03u+00", (unsigned)(ms % 1000));
}
