/* Line-oriented logging to stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "rpc.h"

/* Written once by log_setup before the event loop starts. */
static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format fmt)
{
    min_level = level;
    format = fmt;
}

bool log_enabled(enum log_level level)
{
    return level >= min_level;
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
