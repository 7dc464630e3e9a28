/* The pure pieces of webhook delivery (see webhook_event.h). */
#include "webhook_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "jsonstr.h"

static const char hex_digits[] = "0123456789abcdef";

/* A decimal number of 1..20 digits that fits 64 bits. */
static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool webhook_id_parse(struct str s, struct webhook_id *out)
{
    const char *dash = s.n ? memchr(s.p, '-', s.n) : NULL;
    if (dash == NULL)
        return false;
    size_t left = (size_t)(dash - s.p);
    return parse_u64(s.p, left, &out->ms) && parse_u64(dash + 1, s.n - left - 1, &out->seq);
}

int webhook_id_cmp(struct webhook_id a, struct webhook_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return (a.seq > b.seq) - (a.seq < b.seq);
}

size_t webhook_id_format(struct webhook_id id, char *out)
{
    int n = snprintf(out, WEBHOOK_ID_TEXT, "%llu-%llu", (unsigned long long)id.ms,
                     (unsigned long long)id.seq);
    return (size_t)n;
}

/* A whole number as the scripts write it: an optional '-', then 1..16
 * digits (every stock quantity is below 2^53). */
static bool parse_whole(struct str s, long long *out)
{
    size_t i = s.n > 0 && s.p[0] == '-' ? 1 : 0;
    uint64_t v;
    if (s.n - i > 16 || !parse_u64(s.p + i, s.n - i, &v))
        return false;
    *out = i ? -(long long)v : (long long)v;
    return true;
}

static const struct str *field(const struct str *fv, size_t n, const char *name)
{
    struct str want = {name, strlen(name)};
    for (size_t i = 0; i < n; i++)
        if (str_eq(fv[2 * i], want))
            return &fv[2 * i + 1];
    return NULL;
}

const char *webhook_event_parse(const struct str *fv, size_t n, struct webhook_event *out)
{
    memset(out, 0, sizeof *out);
    static const struct {
        const char *name;
        size_t at;
        bool may_be_empty;
    } texts[] = {
        {"type", offsetof(struct webhook_event, type), false},
        {"sku", offsetof(struct webhook_event, sku), false},
        {"location", offsetof(struct webhook_event, location), false},
        {"cause", offsetof(struct webhook_event, cause), false},
        {"reservation", offsetof(struct webhook_event, reservation), true},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const struct str *v = field(fv, n, texts[i].name);
        struct str *dst = (struct str *)(void *)((char *)out + texts[i].at);
        if (v == NULL && texts[i].may_be_empty) {
            *dst = (struct str){"", 0};
            continue;
        }
        if (v == NULL || (v->n == 0 && !texts[i].may_be_empty))
            return "a field is missing (type, sku, location and cause are required)";
        if (!text_check((const unsigned char *)v->p, v->n))
            return "a text field is not UTF-8 or holds control bytes";
        *dst = *v;
    }
    const struct str *avail = field(fv, n, "available");
    const struct str *thr = field(fv, n, "threshold");
    if (avail == NULL || !parse_whole(*avail, &out->available) || thr == NULL ||
        !parse_whole(*thr, &out->threshold))
        return "available or threshold is not a whole number";
    const struct str *prev = field(fv, n, "prev");
    if (prev != NULL && prev->n > 0) {
        if (!webhook_id_parse(*prev, &out->prev))
            return "prev is not a stream id";
        out->has_prev = true;
    }
    return NULL;
}

static void member(struct buf *out, const char *name, struct str value, bool first)
{
    if (!first)
        buf_appendc(out, ',');
    json_write_string(out, name, strlen(name));
    buf_appendc(out, ':');
    json_write_string(out, value.p, value.n);
}

void webhook_body(struct buf *out, struct webhook_id id, const struct webhook_event *ev)
{
    char idt[WEBHOOK_ID_TEXT];
    size_t idn = webhook_id_format(id, idt);
    buf_appendc(out, '{');
    member(out, "id", (struct str){idt, idn}, true);
    member(out, "type", ev->type, false);
    member(out, "sku", ev->sku, false);
    member(out, "location", ev->location, false);
    buf_appends(out, ",\"available\":");
    buf_append_int(out, ev->available);
    buf_appends(out, ",\"threshold\":");
    buf_append_int(out, ev->threshold);
    member(out, "cause", ev->cause, false);
    member(out, "reservation", ev->reservation, false);
    char at[24];
    snprintf(at, sizeof at, "%llu", (unsigned long long)id.ms);
    buf_appends(out, ",\"at\":");
    buf_appends(out, at);
    buf_appendc(out, '}');
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void webhook_sign(const void *secret, size_t secret_len, const void *body, size_t n, char *out)
{
    unsigned char md[32];
    unsigned int md_len = 0;
    /* HMAC of an empty key is still an HMAC: OpenSSL wants a non-NULL pointer. */
    static const unsigned char empty = 0;
    if (HMAC(EVP_sha256(), secret_len ? secret : &empty, (int)secret_len, body, n, md, &md_len) ==
            NULL ||
        md_len != sizeof md) {
        /* Only an OpenSSL without SHA-256 gets here: never sign wrongly. */
        fprintf(stderr, "stockd: HMAC-SHA256 is not available\n");
        abort();
    }
    memcpy(out, "sha256=", 7);
    to_hex(md, sizeof md, out + 7);
}

void webhook_group_name(const char *url, char *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)url, strlen(url), md);
    memcpy(out, "webhook:", 8);
    to_hex(md, 8, out + 8);
}

uint64_t webhook_backoff_ceiling(unsigned failures, uint64_t start_ms, uint64_t cap_ms)
{
    uint64_t d = start_ms;
    for (unsigned i = 1; i < failures && d < cap_ms; i++)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    return d < cap_ms ? d : cap_ms;
}

uint64_t webhook_backoff_ms(unsigned failures, uint64_t start_ms, uint64_t cap_ms, uint64_t r)
{
    uint64_t ceiling = webhook_backoff_ceiling(failures, start_ms, cap_ms);
    return ceiling == UINT64_MAX ? r : r % (ceiling + 1);
}
