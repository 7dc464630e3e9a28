/* stockctl top's frame: the text of one view, built from the status page's
 * JSON (GET /ui/api/overview's result, and ui.holds's from GET
 * /ui/api/holds). No socket and no terminal here: top.c fetches the JSON
 * and draws the lines. Every member is read tolerantly: one that is
 * missing or of the wrong type shows as "?" (null as "-"). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "top.h"

#define LINE_BYTES 400 /* a frame line before it is cut to the terminal's width */
#define FIELD 48       /* one number or duration as text */

/* Appends one line to the frame. Everything stockd sent goes through
 * here, so a byte that is not printable ASCII (an escape sequence, a
 * control byte, UTF-8) is shown as '?' and never reaches the terminal. */
static void line(struct buf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct buf *f, const char *fmt, ...)
{
    char s[LINE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof s ? (size_t)n : sizeof s - 1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            s[i] = '?';
    while (len > 0 && s[len - 1] == ' ')
        len--;
    buf_append(f, s, len);
    buf_appendc(f, '\n');
}

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = get(o, name);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

static double number(const cJSON *o, const char *name, double missing)
{
    const cJSON *v = get(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : missing;
}

/* A member as text by a printf format with one double: "-" when it is
 * null, "?" when it is missing or not a number. Returns out. */
static const char *num(char *out, const cJSON *o, const char *name, const char *fmt)
{
    const cJSON *v = get(o, name);
    if (cJSON_IsNumber(v))
        snprintf(out, FIELD, fmt, v->valuedouble);
    else
        snprintf(out, FIELD, "%s", cJSON_IsNull(v) ? "-" : "?");
    return out;
}

/* Milliseconds with three significant digits or so. */
static const char *ms(char *out, const cJSON *o, const char *name)
{
    double v = number(o, name, 0);
    return num(out, o, name, v < 10 ? "%.3f" : v < 100 ? "%.2f" : v < 1000 ? "%.1f" : "%.0f");
}

/* Seconds as "4.2 s", "12m05s", "3h07m" or "2d04h". */
static const char *duration(char *out, double s)
{
    if (!(s >= 0))
        s = 0; /* and NaN */
    if (s > 1e12)
        s = 1e12;
    long long whole = (long long)s;
    if (s < 59.95) /* what rounds to 60.0 is a minute */
        snprintf(out, FIELD, "%.1f s", s);
    else if (s < 3600)
        snprintf(out, FIELD, "%lldm%02llds", whole / 60, whole % 60);
    else if (s < 86400)
        snprintf(out, FIELD, "%lldh%02lldm", whole / 3600, whole / 60 % 60);
    else
        snprintf(out, FIELD, "%lldd%02lldh", whole / 86400, whole / 3600 % 24);
    return out;
}

/* A member in seconds as a duration; "-" when null, "?" when missing. */
static const char *age(char *out, const cJSON *o, const char *name)
{
    const cJSON *v = get(o, name);
    if (cJSON_IsNumber(v))
        return duration(out, v->valuedouble);
    snprintf(out, FIELD, "%s", cJSON_IsNull(v) ? "-" : "?");
    return out;
}

/* The span a figure covers: "over the last 10 s", or "(measuring)" just
 * after stockd started. Returns out. */
static const char *span(char *out, const cJSON *o, const char *name)
{
    double s = number(o, name, 0);
    snprintf(out, FIELD, s > 0 ? "over the last %.0f s" : "(measuring)", s);
    return out;
}

static void frame_header(struct buf *f, const cJSON *ov, const char *http)
{
    char up[FIELD];
    const cJSON *ready = get(ov, "ready");
    bool ok = cJSON_IsTrue(get(ready, "ok"));
    line(f, "stockd %s at %s   up %s   %s%s", str(ov, "version"), http, age(up, ov, "uptime_s"),
         ok ? "" : "NOT READY: ", str(ready, "text"));
}

static void frame_redis(struct buf *f, const cJSON *ov)
{
    char a[FIELD], b[FIELD], c[FIELD], extra[160] = "";
    const cJSON *redis = get(ov, "redis");
    const cJSON *cluster = get(redis, "cluster");
    const cJSON *durability = get(redis, "durability");
    size_t n = 0;
    if (cJSON_IsObject(cluster))
        n += (size_t)snprintf(extra + n, sizeof extra - n, "   cluster masters %s/%s up",
                              num(a, cluster, "masters_up", "%.0f"),
                              num(b, cluster, "masters", "%.0f"));
    if (number(durability, "required", 0) > 0 && n < sizeof extra)
        n += (size_t)snprintf(extra + n, sizeof extra - n, "   replicas required %s, %s failed",
                              num(a, durability, "required", "%.0f"),
                              num(b, durability, "failures", "%.0f"));
    if (cJSON_IsTrue(get(redis, "out_of_memory")) && n < sizeof extra)
        snprintf(extra + n, sizeof extra - n, "   OUT OF MEMORY");
    const char *master = str(redis, "master");
    line(f, "redis       %s   %s   master %s   failovers %s%s",
         cJSON_IsTrue(get(redis, "up")) ? "up" : "DOWN", str(redis, "mode"),
         master[0] != '\0' ? master : "-", num(c, redis, "failovers", "%.0f"), extra);
}

static void frame_rates(struct buf *f, const cJSON *ov)
{
    char a[FIELD], b[FIELD], c[FIELD], w[FIELD];
    const cJSON *rates = get(ov, "rates");
    line(f, "requests/s  %10s   errors/s %8s   %s", num(a, rates, "requests", "%.1f"),
         num(b, rates, "errors", "%.1f"), span(w, ov, "window_s"));
    line(f, "reserves/s  %10s   held/s   %8s", num(a, rates, "reserves", "%.1f"),
         num(b, rates, "reserves_held", "%.1f"));
    const cJSON *errors = get(ov, "errors");
    const cJSON *e;
    bool first = true;
    cJSON_ArrayForEach(e, errors)
    {
        line(f, "%-12s%-5s %-24s %8s/s %10s total", first ? "errors" : "",
             num(a, e, "code", "%.0f"), str(e, "reason"), num(b, e, "per_s", "%.1f"),
             num(c, e, "total", "%.0f"));
        first = false;
    }
    if (first)
        line(f, "errors      none");
}

static void frame_latency(struct buf *f, const cJSON *ov)
{
    char a[FIELD], b[FIELD], c[FIELD], d[FIELD];
    const cJSON *latency = get(ov, "latency");
    line(f, "latency ms  %10s %10s %10s %10s   %s", "p50", "p90", "p99", "count",
         span(a, latency, "window_s"));
    static const char *const kinds[] = {"all", "reserve"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const cJSON *k = get(latency, kinds[i]);
        line(f, "  %-10s%10s %10s %10s %10s", kinds[i], ms(a, k, "p50_ms"), ms(b, k, "p90_ms"),
             ms(c, k, "p99_ms"), num(d, k, "count", "%.0f"));
    }
}

static void frame_process(struct buf *f, const cJSON *ov)
{
    char a[FIELD], b[FIELD], c[FIELD] = "";
    double rss = number(ov, "rss_bytes", -1);
    if (rss >= 0)
        snprintf(c, sizeof c, "   memory %.1f MiB", rss / (1024.0 * 1024.0));
    line(f, "in flight   %s   connections %s%s", num(a, ov, "inflight", "%.0f"),
         num(b, ov, "connections", "%.0f"), c);

    char d[FIELD], e[FIELD], g[FIELD], q[80] = "";
    const cJSON *sw = get(ov, "sweeper");
    const cJSON *runs = get(sw, "runs");
    if (number(sw, "quarantined_total", 0) > 0)
        snprintf(q, sizeof q, ", %s quarantined", num(a, sw, "quarantined_total", "%.0f"));
    char last[FIELD + 16];
    if (cJSON_IsNumber(get(sw, "last_done_age_s")))
        snprintf(last, sizeof last, "last done %s ago", age(a, sw, "last_done_age_s"));
    else
        snprintf(last, sizeof last, "none done yet");
    line(f, "sweeper     expired/s %s (%s total%s)   runs %s done, %s cut, %s failed   %s",
         num(b, sw, "expired_per_s", "%.1f"), num(c, sw, "expired_total", "%.0f"), q,
         num(d, runs, "done", "%.0f"), num(e, runs, "cut", "%.0f"), num(g, runs, "failed", "%.0f"),
         last);
}

/* holds is ui.holds's result, or NULL with why (no token: why NULL). */
static void frame_holds(struct buf *f, const cJSON *holds, const char *why)
{
    if (holds == NULL) {
        if (why == NULL)
            line(f, "holds       give --token to see them");
        else
            line(f, "holds       %s", why);
        return;
    }
    char a[FIELD], b[FIELD], c[FIELD];
    if (cJSON_IsFalse(get(holds, "complete")))
        line(f, "holds       at least %s live in %s skus (the first 1000 skus counted)",
             num(a, holds, "holds", "%.0f"), num(b, holds, "skus", "%.0f"));
    else
        line(f, "holds       %s live in %s skus", num(a, holds, "holds", "%.0f"),
             num(b, holds, "skus", "%.0f"));
    const cJSON *next = get(holds, "next");
    if (!cJSON_IsObject(next))
        return;
    double now = number(holds, "now", 0), deadline = number(next, "deadline", 0);
    const cJSON *created = get(next, "created_at");
    if (cJSON_IsNumber(created))
        duration(a, (now - created->valuedouble) / 1000.0);
    else
        snprintf(a, sizeof a, "?");
    duration(b, (now > deadline ? now - deadline : deadline - now) / 1000.0);
    line(f, "  oldest    %s old, %s %s   %s  %s at %s x%s", a,
         now > deadline ? "OVERDUE by" : "due in", b, str(next, "reservation_id"), str(next, "sku"),
         str(next, "location"), num(c, next, "quantity", "%.0f"));
}

static void frame_webhooks(struct buf *f, const cJSON *ov)
{
    char a[FIELD], b[FIELD], c[FIELD], d[FIELD], e[FIELD];
    const cJSON *w;
    bool first = true;
    cJSON_ArrayForEach(w, get(ov, "webhooks"))
    {
        line(f, "%-12s#%s %s: %s delivered, %s undelivered, oldest %s, %s failing",
             first ? "webhooks" : "", num(a, w, "index", "%.0f"), str(w, "group"),
             num(b, w, "delivered", "%.0f"), num(c, w, "undelivered", "%.0f"),
             age(d, w, "oldest_age_s"), num(e, w, "failing", "%.0f"));
        first = false;
    }
}

static void frame_footer(struct buf *f, const struct top_view *v)
{
    if (v->interval_ms <= 0)
        return;
    char clock[16] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm) != NULL)
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    line(f, "%s", "");
    line(f, "q: quit   %s every %d ms   %s", v->overview != NULL ? "refreshed" : "retrying",
         v->interval_ms, clock);
}

void top_frame(struct buf *f, const struct top_view *v)
{
    if (v->overview == NULL) {
        line(f, "stockd unreachable: %s", v->why != NULL ? v->why : "?");
        frame_footer(f, v);
        return;
    }
    const cJSON *ov = v->overview;
    frame_header(f, ov, v->http);
    frame_redis(f, ov);
    line(f, "%s", "");
    frame_rates(f, ov);
    line(f, "%s", "");
    frame_latency(f, ov);
    line(f, "%s", "");
    frame_process(f, ov);
    frame_holds(f, v->holds, v->holds_why);
    frame_webhooks(f, ov);
    frame_footer(f, v);
}
