/* Line-oriented logging to stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "jsonstr.h"

/* Written once by log_setup before the event loop starts. */
static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_TEXT;
/* Repeat counters with an open window, for log_flush_repeats. */
static struct queue pending = {&pending, &pending};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format fmt)
{
    min_level = level;
    format = fmt;
}

static void write_line(enum log_level level, const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    if (format == LOG_TEXT) {
        fprintf(stderr, "%s %s %s\n", when, level_names[level], msg);
        return;
    }
    struct buf line;
    buf_init(&line);
    buf_appends(&line, "{\"ts\":\"");
    buf_appends(&line, when);
    buf_appends(&line, "\",\"level\":\"");
    buf_appends(&line, level_names[level]);
    buf_appends(&line, "\",\"msg\":");
    json_write_string(&line, msg, strlen(msg));
    buf_appends(&line, "}\n");
    fwrite(line.data, 1, line.len, stderr);
    buf_free(&line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    write_line(level, msg);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* +1: 0 means "no window" */
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + 1;
}

/* Ends r's window: its summary, if it counted anything. */
static void summarise(struct log_repeat *r, uint64_t now)
{
    if (r->more > 0 && r->level >= min_level) {
        char msg[512];
        snprintf(msg, sizeof msg, "%lu more like this in the last %llu s; the latest: %s",
                 r->more, (unsigned long long)((now - r->window_ms + 999) / 1000), r->last);
        write_line(r->level, msg);
    }
    r->more = 0;
}

void log_repeat(struct log_repeat *r, enum log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    uint64_t now = mono_ms();
    if (r->window_ms != 0 && now - r->window_ms >= LOG_REPEAT_WINDOW_MS) {
        summarise(r, now);
        r->window_ms = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->last, sizeof r->last, fmt, ap);
    va_end(ap);
    r->level = level;
    if (r->window_ms != 0) {
        r->more++;
        return;
    }
    write_line(level, r->last);
    r->window_ms = now;
    if (r->node.next == NULL)
        queue_init(&r->node);
    if (!queue_linked(&r->node))
        queue_insert_tail(&pending, &r->node);
}

void log_flush_repeats(void)
{
    uint64_t now = mono_ms();
    struct queue *q = pending.next;
    while (q != &pending) {
        struct log_repeat *r = queue_data(q, struct log_repeat, node);
        q = q->next;
        if (now - r->window_ms < LOG_REPEAT_WINDOW_MS)
            continue;
        if (r->more > 0) {
            /* The fault goes on: a new window, so it is summarised again. */
            summarise(r, now);
            r->window_ms = now;
        } else {
            r->window_ms = 0;
            queue_remove(&r->node);
        }
    }
}

void log_repeat_done(struct log_repeat *r)
{
    if (r->node.next == NULL || !queue_linked(&r->node))
        return;
    summarise(r, mono_ms());
    r->window_ms = 0;
    queue_remove(&r->node);
}
