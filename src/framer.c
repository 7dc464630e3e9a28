/* Newline-delimited framing (see framer.h). */
#include "framer.h"

#include <string.h>

void framer_init(struct framer *fr, size_t max_line)
{
    buf_init(&fr->tail);
    fr->max_line = max_line;
}

void framer_free(struct framer *fr)
{
    buf_free(&fr->tail);
}

size_t framer_pending(const struct framer *fr)
{
    return fr->tail.len;
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return 0;
    return 1;
}

/* Delivers one complete line (terminator already cut off). The limit applies
 * to the line without its terminator, so a trailing "\r" does not count. */
static enum framer_status deliver(struct framer *fr, const char *line, size_t n, framer_line_fn fn,
                                  void *ctx)
{
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (n > fr->max_line)
        return FRAMER_TOO_LARGE;
    if (is_blank(line, n))
        return FRAMER_OK;
    return fn(ctx, line, n) == 0 ? FRAMER_OK : FRAMER_STOPPED;
}

enum framer_status framer_feed(struct framer *fr, const char *data, size_t len, framer_line_fn fn,
                               void *ctx, size_t *consumed)
{
    size_t pos = 0;
    enum framer_status st = FRAMER_OK;

    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (nl == NULL) {
            /* Unfinished: keep it, unless it is already too long to ever be
             * accepted. One byte past the limit is only allowed when it is
             * a "\r" that the coming "\n" will cut off. */
            size_t total = fr->tail.len + (len - pos);
            if (total > fr->max_line + 1 ||
                (total == fr->max_line + 1 && data[len - 1] != '\r')) {
                st = FRAMER_TOO_LARGE;
                break;
            }
            buf_append(&fr->tail, data + pos, len - pos);
            pos = len;
            break;
        }
        size_t n = (size_t)(nl - (data + pos));
        if (fr->tail.len > 0) {
            if (fr->tail.len + n > fr->max_line + 1) {
                st = FRAMER_TOO_LARGE;
                break;
            }
            buf_append(&fr->tail, data + pos, n);
            st = deliver(fr, fr->tail.data, fr->tail.len, fn, ctx);
            /* Idle connections should not keep a large line's buffer. */
            if (fr->tail.cap > 4096)
                buf_free(&fr->tail);
            else
                buf_reset(&fr->tail);
        } else {
            st = deliver(fr, data + pos, n, fn, ctx);
        }
        if (st == FRAMER_TOO_LARGE)
            break;
        pos += n + 1;
        if (st == FRAMER_STOPPED)
            break;
    }
    if (consumed != NULL)
        *consumed = pos;
    return st;
}
