/* stockctl top's two halves: top.c fetches the status page's JSON from
 * stockd's --http listener and draws on the terminal; top_frame.c turns
 * that JSON into the lines of one frame (no socket, no terminal). */
#ifndef STOCKCTL_TOP_H
#define STOCKCTL_TOP_H

#include <cjson/cJSON.h>

#include "buf.h"

/* What one frame shows. Everything is borrowed. */
struct top_view {
    const char *http;      /* stockd's --http address, as given */
    const cJSON *overview; /* GET /ui/api/overview's result; NULL: not had */
    const char *why;       /* overview NULL: why not */
    const cJSON *holds;    /* ui.holds's result (GET /ui/api/holds); NULL: not had */
    const char *holds_why; /* holds NULL: why not; NULL too: no token to ask with */
    int interval_ms;       /* > 0: the live view, with its footer (keys, refresh, clock) */
};

/* Appends the frame's lines to out, each ending in '\n' and of any width
 * (the caller cuts them to the terminal's). Only printable ASCII: any other
 * byte in what stockd sent (an escape sequence, a control byte, UTF-8) is
 * shown as '?', so that nothing stockd says can drive the terminal. */
void top_frame(struct buf *out, const struct top_view *v);

#endif
