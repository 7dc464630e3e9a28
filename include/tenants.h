/* Tenants (--tenants-file): who may connect, and whose keys a connection's
 * requests touch. The file holds one `<tenant> <token>` per line; `auth`
 * with a tenant's token makes the connection that tenant's, and every key
 * of its requests then carries the hash tag {<tenant>} (request_ns). Also
 * each tenant's request counters, allocated at its first request, and
 * their exposition. Pure: parsing works on bytes, loading only reads the
 * file; no event loop, no Redis. */
#ifndef STOCKD_TENANTS_H
#define STOCKD_TENANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "ident.h"
#include "metrics.h"

/* Bytes in a tenant's name (an identifier); its token is 1..TOKEN_MAX
 * bytes of UTF-8 without white space or control bytes. */
#define TENANT_NAME_MAX 64

struct tenant {
    char name[TENANT_NAME_MAX + 1];
    struct ident ident; /* the name, as the ns of its keys; points into name */
    char *token;        /* owned, NUL-terminated; never logged */
    size_t token_len;
    unsigned line;      /* where the file declares it */
    size_t index;       /* in tenants.all */
    /* Requests answered, by method and error (as metrics.requests); owned,
     * METRICS_METHODS rows, allocated at the tenant's first request. */
    uint64_t (*requests)[E_COUNT];
};

struct tenants {
    struct tenant *all; /* owned: n of them, in the file's order */
    size_t n;
};

/* Parses the text of a tenants file (len bytes; file names it in
 * messages) into ts. Blank lines and lines whose first non-blank byte is
 * '#' are skipped; a trailing '\r' is allowed. Returns 0, or -1 with ts
 * empty and one line in err naming file:line and what is wrong: not two
 * fields, a name that is not an identifier of 1..TENANT_NAME_MAX bytes, a
 * bad or overlong token, a NUL byte, a duplicate name or token (the later
 * line, and the line it repeats), or no tenant at all. A token is never
 * written to err, nor a name that is not valid (it may be a token put in
 * the wrong column). */
int tenants_parse(struct tenants *ts, const char *file, const char *text, size_t len, char *err,
                  size_t errlen);
/* Reads the file at path and parses it (tenants_parse); an unreadable
 * file is -1 with the system's reason in err. */
int tenants_load(struct tenants *ts, const char *path, char *err, size_t errlen);
/* Frees what ts owns (its tokens wiped first); ts is empty afterwards. */
void tenants_free(struct tenants *ts);

/* The tenant whose token is token[0..n), or NULL. Compares with every
 * tenant's token, each in time that depends only on that token's length,
 * so how long it takes says nothing about which bytes matched. */
struct tenant *tenants_find(const struct tenants *ts, const char *token, size_t n);

/* Whether got[0..got_n) is want[0..want_n) (a token), in time that
 * depends only on want_n: no early exit on the first byte that differs. */
bool token_equal(const char *want, size_t want_n, const char *got, size_t got_n);

/* Counts one answered request of t (method METHOD_COUNT when unknown). */
void tenants_count(struct tenant *t, enum method_id method, enum error_id e);
/* Appends stockd_tenant_requests_total{tenant,method,code}: one sample per
 * (tenant, method, code) seen, nothing for a tenant without requests. */
void tenants_render(const struct tenants *ts, struct buf *out);

#endif
