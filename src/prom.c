/* The Prometheus text exposition's lines (see prom.h). */
#include "prom.h"

#include <stdio.h>
#include <string.h>

void prom_head(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_appends(out, "# HELP ");
    buf_appends(out, name);
    buf_appendc(out, ' ');
    buf_appends(out, help);
    buf_appends(out, "\n# TYPE ");
    buf_appends(out, name);
    buf_appendc(out, ' ');
    buf_appends(out, type);
    buf_appendc(out, '\n');
}

void prom_sample(struct buf *out, const char *name, const char *labels, const char *value)
{
    buf_appends(out, name);
    buf_appends(out, labels);
    buf_appendc(out, ' ');
    buf_appends(out, value);
    buf_appendc(out, '\n');
}

void prom_sample_u(struct buf *out, const char *name, const char *labels, uint64_t v)
{
    char text[PROM_VALUE_MAX];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    prom_sample(out, name, labels, text);
}

void prom_sample_d(struct buf *out, const char *name, const char *labels, double v)
{
    char text[PROM_VALUE_MAX];
    prom_sample(out, name, labels, prom_value_d(text, v));
}

void prom_sample_ms(struct buf *out, const char *name, const char *labels, long long ms)
{
    char text[PROM_VALUE_MAX];
    prom_sample(out, name, labels, prom_value_ms(text, ms));
}

const char *prom_value_d(char text[PROM_VALUE_MAX], double v)
{
    snprintf(text, PROM_VALUE_MAX, "%.9g", v);
    return text;
}

const char *prom_value_ms(char text[PROM_VALUE_MAX], long long ms)
{
    /* The magnitude as unsigned: -LLONG_MIN does not fit a long long. */
    unsigned long long m = ms < 0 ? 0ull - (unsigned long long)ms : (unsigned long long)ms;
    snprintf(text, PROM_VALUE_MAX, "%s%llu.%03llu", ms < 0 ? "-" : "", m / 1000, m % 1000);
    return text;
}

const char *prom_escape(const char *v, char *out, size_t n)
{
    size_t o = 0;
    for (; *v != '\0'; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        size_t k = esc ? 2 : 1;
        if (o + k >= n)
            break;
        if (esc)
            memcpy(out + o, esc, 2);
        else
            out[o] = *v;
        o += k;
    }
    out[o] = '\0';
    return out;
}

void prom_process(struct buf *out, const char *build_info, const char *version,
                  const char *start_time, long long rss_bytes)
{
    char escaped[128], labels[160];
    snprintf(labels, sizeof labels, "{version=\"%s\"}",
             prom_escape(version, escaped, sizeof escaped));
    prom_head(out, build_info, "gauge", "The running build (always 1).");
    prom_sample(out, build_info, labels, "1");
    prom_head(out, "process_start_time_seconds", "gauge",
              "Start time of the process (Unix seconds).");
    prom_sample(out, "process_start_time_seconds", "", start_time);
    if (rss_bytes >= 0) {
        prom_head(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        prom_sample_u(out, "process_resident_memory_bytes", "", (uint64_t)rss_bytes);
    }
}
