/* One line per event on stderr, as text or JSON. The level and format are set
 * once at start-up (log_setup) and only read afterwards. Never pass a token or
 * password to these functions.
 *
 * A fault that hits every request (Redis out of memory, a wrong token sent in
 * a loop) must not flood the log or slow the service: such events go through
 * a struct log_repeat, which writes the first one at once and then one
 * summary per window, "N more like this in the last T s". */
#ifndef STOCKD_LOG_H
#define STOCKD_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "queue.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

void log_setup(enum log_level level, enum log_format format);

#if defined(__GNUC__)
#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOG_PRINTF(a, b)
#endif

/* Writes one line: time, level and the formatted message. */
void log_msg(enum log_level level, const char *fmt, ...) LOG_PRINTF(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* How long a summary window lasts. */
#define LOG_REPEAT_WINDOW_MS 10000

/* One kind of repeated event. Owned by the module that logs it (zero it, or
 * LOG_REPEAT_INIT); it joins a list inside log.c while it has something to
 * say, and must be handed to log_repeat_done before its memory goes. */
struct log_repeat {
    struct queue node;  /* on the list of log_flush_repeats while pending */
    uint64_t window_ms; /* when the current window began; 0: no window */
    unsigned long more; /* events not written in this window */
    enum log_level level;
    char last[256]; /* the latest of them, for the summary */
};

/* Writes the event at once when no window is open for r, else counts it. */
void log_repeat(struct log_repeat *r, enum log_level level, const char *fmt, ...)
    LOG_PRINTF(3, 4);
/* Writes the summary of every window that has ended; call about once a
 * second (main's housekeeping timer). */
void log_flush_repeats(void);
/* Writes r's pending summary, if any, and forgets r. */
void log_repeat_done(struct log_repeat *r);

#endif
