/* Strings, identifiers and the limits of the protocol: the bottom of the
 * house. A struct str is any borrowed run of bytes; a struct ident is one
 * that passed ident_check, which is the only way to make one, and Redis keys
 * are built from nothing else (keys.h). No JSON here. */
#ifndef STOCKD_IDENT_H
#define STOCKD_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#define IDENT_MAX 128        /* bytes in sku, location, channel, order_id, ... */
#define MAX_LOCATIONS 64     /* in a channel, or in a reserve's locations */
#define TEXT_MAX 256         /* bytes in a free-text reason */
#define TOKEN_MAX 1023       /* bytes in an auth token */
#define QTY_MAX 1000000000LL /* one line of a reservation */
#define STOCK_MAX 1000000000000000LL /* on_hand, safety_stock, |delta| */
#define TTL_MIN_MS 1000LL
#define TTL_MAX_MS 86400000LL
#define MAX_TAGS 16             /* on a location */
#define MAX_RULES 5             /* in a channel's ranking chain */
#define PRIORITY_MAX 1000       /* a location's priority is -1000..1000 */

/* A borrowed string: p points into a request, a reply or the config, and is
 * not NUL-terminated. */
struct str {
    const char *p;
    size_t n;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

/* True when a and b hold the same bytes. */
bool str_eq(struct str a, struct str b);
/* Bytewise order, shorter first on a common prefix: for qsort of names. */
int str_cmp(struct str a, struct str b);
/* The fields of a sep-joined list, one per call from *at (0 to start):
 * puts the next in *field and moves *at past it. False once the list is
 * used up; an empty list has no field, "a," has two ("a" and ""). */
bool str_split(struct str list, char sep, size_t *at, struct str *field);

/* An identifier: 1..IDENT_MAX bytes of [A-Za-z0-9._~@/+=-], which can never
 * split or retag a Redis key. Borrowed, like the str it wraps. */
struct ident {
    struct str s;
};

/* Returns true and fills *out when s[0..n) is a valid identifier. */
bool ident_check(const char *s, size_t n, struct ident *out);

/* A free-text field (a reason): well-formed UTF-8 without control bytes. */
bool text_check(const unsigned char *s, size_t n);

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF). */
bool utf8_valid(const unsigned char *s, size_t n);

#endif
