/* The Prometheus text exposition (format 0.0.4) as stockd and stockd-export
 * write it on GET /metrics: a series' HELP and TYPE lines, its samples,
 * label values escaped, and the process's own series that end every
 * exposition. Pure: everything is appended to a buf. */
#ifndef STOCKD_PROM_H
#define STOCKD_PROM_H

#include <stdint.h>

#include "buf.h"

/* Room for any value prom_value_* writes, NUL included. */
#define PROM_VALUE_MAX 48

/* Appends "# HELP name help" and "# TYPE name type" (counter, gauge,
 * histogram). help must hold no newline or backslash. */
void prom_head(struct buf *out, const char *name, const char *type, const char *help);

/* Appends the sample line "name{labels} value"; labels is "" or the whole
 * "{k=\"v\",...}" with its values escaped (prom_escape), value the text of
 * a number ("NaN" included). */
void prom_sample(struct buf *out, const char *name, const char *labels, const char *value);
/* The same with an unsigned whole number. */
void prom_sample_u(struct buf *out, const char *name, const char *labels, uint64_t v);
/* The same with a double, nine significant digits (prom_value_d). */
void prom_sample_d(struct buf *out, const char *name, const char *labels, double v);
/* The same with milliseconds written as exact seconds (prom_value_ms). */
void prom_sample_ms(struct buf *out, const char *name, const char *labels, long long ms);

/* Writes v with nine significant digits ("%.9g") into text; returns text. */
const char *prom_value_d(char text[PROM_VALUE_MAX], double v);
/* Writes ms as seconds with three decimals, exactly (no binary fraction on
 * the way: 1500 is "1.500"); returns text. */
const char *prom_value_ms(char text[PROM_VALUE_MAX], long long ms);

/* Writes v as a label value may stand between quotes (backslash, quote and
 * newline escaped) into out (n bytes, n > 0), cut short rather than split
 * an escape; returns out. */
const char *prom_escape(const char *v, char *out, size_t n);

/* Appends the series that end every exposition: build_info (e.g.
 * "stockd_build_info") with the label version, always 1;
 * process_start_time_seconds with the value start_time as written (a
 * prom_value_* text); and process_resident_memory_bytes when rss_bytes is
 * not negative (negative: unknown). */
void prom_process(struct buf *out, const char *build_info, const char *version,
                  const char *start_time, long long rss_bytes);

#endif
