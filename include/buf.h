/* Growable byte buffers and the one allocation wrapper the whole program uses.
 * Allocation failure is not recoverable for a server like this one: every
 * allocation goes through xmalloc/xrealloc, which abort with a message. */
#ifndef STOCKD_BUF_H
#define STOCKD_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Returns memory or aborts the process; never NULL. Free with free(). */
void *xmalloc(size_t n);
/* Same contract as xmalloc, for zeroed arrays. */
void *xcalloc(size_t count, size_t size);
/* Resizes p (which may be NULL); returns the new block or aborts. The caller
 * assigns the result; the old pointer is invalid afterwards. */
void *xrealloc(void *p, size_t n);

/* Grows the array p of *cap elements of `size` bytes to hold at least n,
 * doubling; returns the (maybe moved) array and updates *cap. */
void *xgrow(void *p, size_t *cap, size_t n, size_t size);

/* A byte buffer that owns its storage (data is NULL until the first append).
 * len bytes are used out of cap. Not NUL-terminated unless buf_cstr is used. */
struct buf {
    char *data; /* owned */
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
/* Releases the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Makes room for at least n more bytes. */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_appends(struct buf *b, const char *s);
void buf_appendc(struct buf *b, char c);
/* Appends a signed decimal integer, no exponent, no fraction. */
void buf_append_int(struct buf *b, long long v);
/* Forgets the contents but keeps the storage. */
void buf_reset(struct buf *b);
/* NUL-terminates without counting the NUL in len; returns data. */
const char *buf_cstr(struct buf *b);

#endif
