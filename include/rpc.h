/* JSON-RPC 2.0 on one line: decoding a request line into an envelope, and
 * writing result and error responses. Pure: no I/O, no event loop, so unit
 * tests and fuzzers feed it bytes. The errors themselves are declared in
 * errors.h; rpc_write_error is the one function that writes one. */
#ifndef STOCKD_RPC_H
#define STOCKD_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "errors.h"
#include "ident.h"
#include "jsonstr.h"

/* Everything an error response may say. Strings are borrowed: static text,
 * or memory that outlives the call to rpc_write_error. */
struct rpc_error {
    enum error_id id;
    const char *message;  /* replaces the table's message when set */
    const char *reason;   /* replaces the table's data.reason when set */
    bool has_field;       /* data.field is present (it may name the key "") */
    char field[64];
    struct str sku;       /* data.sku when sku.p is set */
    struct str location;  /* data.location when location.p is set */
    bool has_quantities; /* data.requested and data.available */
    long long requested;
    long long available;
    bool has_reserved; /* data.reserved */
    long long reserved;
    bool has_held; /* data.held */
    long long held;
    struct str status;  /* data.status when status.p is set */
    struct str explain; /* data.explain when explain.p is set: a JSON array, written as is */
};

/* Starts an error with the table's defaults and returns -id, so that a
 * failing function can `return rpc_error_set(err, E_X);`. */
int rpc_error_set(struct rpc_error *err, enum error_id id);
/* Same, for invalid params: names the field and says what is wrong. */
int rpc_error_param(struct rpc_error *err, const char *field, const char *message);

enum rpc_id_kind { RPC_ID_NONE, RPC_ID_NULL, RPC_ID_INT, RPC_ID_STRING };

/* The request id, echoed back unchanged. A string id points into the parsed
 * tree and lives as long as it. RPC_ID_NONE means a notification. */
struct rpc_id {
    enum rpc_id_kind kind;
    long long num;
    const char *str;
};

struct rpc_request {
    cJSON *root;          /* owned: free with rpc_request_free */
    struct rpc_id id;
    const char *method;   /* into root */
    const cJSON *params;  /* into root; NULL when absent */
};

/* Deepest nesting of arrays and objects accepted in a request line. */
#define RPC_MAX_DEPTH 8

/* Decodes one request line (no terminator). Returns 0 with req filled, or a
 * negative error with err filled. On error req->id says whom to answer:
 * RPC_ID_NULL when the id could not be read, RPC_ID_NONE for a notification
 * (no answer). Either way req->root may be set: call rpc_request_free. */
int rpc_decode(const char *line, size_t len, struct rpc_request *req, struct rpc_error *err);
void rpc_request_free(struct rpc_request *req);

/* Appends `{"jsonrpc":"2.0","id":ID,"result":`; the caller writes the result
 * value and then rpc_write_result_end. */
void rpc_write_result_begin(struct buf *out, const struct rpc_id *id);
void rpc_write_result_end(struct buf *out);
/* The one function that writes an error response (a whole line). */
void rpc_write_error(struct buf *out, const struct rpc_id *id, const struct rpc_error *err);

#endif
