/* The arguments of one Redis command, built in one buffer: keys (from
 * keys.h), identifiers, numbers and plain bytes, in order. Reused from call
 * to call, so that building a call allocates nothing once warm; and their
 * RESP form, which the store sends. Pure. */
#ifndef STOCKD_ARGS_H
#define STOCKD_ARGS_H

#include <assert.h>

#include "buf.h"
#include "ident.h"
#include "keys.h"

struct args {
    struct buf bytes; /* owned: all arguments back to back */
    struct arg_span {
        size_t off, len;
    } *v; /* owned */
    int n, cap;
    int slot; /* the Redis Cluster hash slot of the first key added (slot.h); -1: none yet */
};

void args_init(struct args *a);
void args_free(struct args *a);
/* Forgets the arguments (and the slot), keeps the storage. */
void args_reset(struct args *a);
/* Makes dst a copy of src, slot included, reusing dst's storage. */
void args_copy(struct args *dst, const struct args *src);
void args_add(struct args *a, const char *p, size_t n);
void args_add_str(struct args *a, struct str s);
void args_add_int(struct args *a, long long v);
void args_add_ident(struct args *a, const struct ident *id);
/* Sets the slot, when none is set yet, from a key added as plain bytes
 * (Redis's rule: the first non-empty {tag}, else the whole key). The
 * args_add_key, _prefix and _pattern forms set it from their namespace. */
void args_note_key(struct args *a, const char *key, size_t n);
/* Adds a key built by keys_build. */
void args_add_key(struct args *a, const struct ident *ns, enum key_kind kind,
                  const struct ident *id);
/* Adds the start of every key of a kind (keys_prefix). */
void args_add_prefix(struct args *a, const struct ident *ns, enum key_kind kind);
/* Adds the SCAN pattern of every key of a kind (keys_pattern). */
void args_add_pattern(struct args *a, const struct ident *ns, enum key_kind kind);
/* Argument i, borrowed until the next change of a. */
struct str args_get(const struct args *a, int i);

/* RESP, the Redis wire format: the header of a command of n arguments; one
 * argument (a bulk string); arguments from..to-1 of a. */
void resp_header(struct buf *b, size_t n);
void resp_bulk(struct buf *b, const char *p, size_t n);
void args_resp(const struct args *a, struct buf *b, int from, int to);

/* A script contract names its fixed KEYS and ARGV positions; a builder
 * states which one it adds next, so that C and Lua cannot disagree on the
 * order (checked in debug builds). ARGS_AT states it before code that adds
 * one argument in more than one way; the ARG_ forms add one argument at a
 * named position. */
#define ARGS_AT(a, pos) ((void)(pos), assert((a)->n == (pos)))
#define ARG_KEY(a, pos, ns, kind, id) (ARGS_AT(a, pos), args_add_key(a, ns, kind, id))
#define ARG_IDENT(a, pos, id) (ARGS_AT(a, pos), args_add_ident(a, id))
#define ARG_INT(a, pos, v) (ARGS_AT(a, pos), args_add_int(a, v))
#define ARG_STR(a, pos, s) (ARGS_AT(a, pos), args_add_str(a, s))
#define ARG_BYTES(a, pos, p, n) (ARGS_AT(a, pos), args_add(a, p, n))

#endif
