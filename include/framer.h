/* Newline-delimited framing. The framer finds complete lines in the bytes a
 * connection reads and keeps only an unfinished tail between reads, so that
 * lines which arrive whole are handed on in place, without a copy. Pure: it
 * never touches a socket. */
#ifndef STOCKD_FRAMER_H
#define STOCKD_FRAMER_H

#include <stddef.h>

#include "buf.h"

enum framer_status {
    FRAMER_OK = 0,         /* all input consumed; a partial line may be kept */
    FRAMER_TOO_LARGE = -1, /* a line exceeds the limit; the framer is spent */
    FRAMER_STOPPED = -2,   /* the line callback asked to stop */
};

/* Called for each complete line, without its "\n" or "\r\n". Blank lines
 * (only spaces and tabs) are skipped and never reach it. line is valid only
 * during the call. Return 0 to go on, non-zero to stop framing. */
typedef int (*framer_line_fn)(void *ctx, const char *line, size_t len);

struct framer {
    struct buf tail; /* owned: bytes of the line not yet terminated */
    size_t max_line; /* longest line accepted, terminator excluded */
};

void framer_init(struct framer *fr, size_t max_line);
void framer_free(struct framer *fr);

/* Frames len more bytes. Returns FRAMER_OK, FRAMER_TOO_LARGE as soon as an
 * unfinished or finished line passes max_line (lines before it were
 * delivered), or FRAMER_STOPPED when fn asked to stop; in that case
 * *consumed says how many bytes of data were used, so the caller can feed the
 * rest later. consumed may be NULL. */
enum framer_status framer_feed(struct framer *fr, const char *data, size_t len, framer_line_fn fn,
                               void *ctx, size_t *consumed);

/* Bytes held of an unfinished line. */
size_t framer_pending(const struct framer *fr);

#endif
