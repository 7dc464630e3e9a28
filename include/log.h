/* One line per event on stderr, as text or JSON. The level and format are set
 * once at start-up (log_setup) and only read afterwards. Never pass a token or
 * password to these functions. */
#ifndef STOCKD_LOG_H
#define STOCKD_LOG_H

#include "config.h"

void log_setup(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);

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

#endif
