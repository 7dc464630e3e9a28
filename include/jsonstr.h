/* JSON string escaping: the one piece of JSON that the bottom of the house
 * needs (log lines in JSON, response bodies). Writes only; parsing is cJSON's
 * job, in rpc.c and validate.c. */
#ifndef STOCKD_JSONSTR_H
#define STOCKD_JSONSTR_H

#include <stddef.h>

#include "buf.h"

/* Appends s[0..n) as a JSON string: quoted, with '"', '\\' and control
 * bytes escaped. Other bytes are copied as they are (callers pass UTF-8). */
void json_write_string(struct buf *out, const char *s, size_t n);

#endif
