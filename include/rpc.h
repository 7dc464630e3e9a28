/* JSON-RPC 2.0 on one line: decoding a request line into an envelope, and
 * writing result and error responses. Pure: no I/O, no event loop, so unit
 * tests and fuzzers feed it bytes. The error table below is the only place an
 * error's wire code, reason and message are declared. */
#ifndef STOCKD_RPC_H
#define STOCKD_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* X(name, json-rpc code, data.reason, message) */
#define STOCKD_ERRORS(X)                                                                           \
    X(PARSE, -32700, "parse_error", "The request is not valid JSON.")                              \
    X(INVALID_REQUEST, -32600, "invalid_request", "The request is not a valid request object.")   \
    X(TOO_LARGE, -32600, "request_too_large", "The request line is longer than allowed.")          \
    X(METHOD_NOT_FOUND, -32601, "method_not_found", "The method does not exist.")                  \
    X(INVALID_PARAMS, -32602, "invalid_params", "Invalid params.")                                 \
    X(INTERNAL, -32603, "internal", "Internal error.")                                             \
    X(OUT_OF_STOCK, 1001, "out_of_stock", "Not enough stock available.")                           \
    X(NOT_FOUND, 1002, "not_found", "No such reservation.")                                        \
    X(CONFLICT, 1003, "conflict", "The operation conflicts with the current state.")               \
    X(IDEMPOTENCY, 1004, "idempotency_conflict", "This order_id was used with other items.")       \
    X(UNKNOWN_CHANNEL, 1005, "unknown_channel", "The sales channel is not configured.")            \
    X(UNAUTHORIZED, 1006, "unauthorized", "Authenticate first with a valid token.")                \
    X(UNAVAILABLE, 2001, "unavailable", "Redis is unreachable; nothing was done.")                 \
    X(TIMEOUT, 2002, "timeout", "Redis did not answer in time; the outcome is unknown.")           \
    X(OVERLOADED, 2003, "overloaded", "Too many requests in flight; nothing was done.")

/* Error identifiers. Functions return 0 or the negated identifier (-E_PARSE). */
enum error_id {
    E_NONE = 0,
#define X(name, code, reason, msg) E_##name,
    STOCKD_ERRORS(X)
#undef X
        E_COUNT
};

/* The JSON-RPC code, reason and message of an error identifier. */
int error_code(enum error_id e);
const char *error_reason(enum error_id e);
const char *error_message(enum error_id e);

/* Everything an error response may say. Strings are borrowed: static text,
 * or memory that outlives the call to rpc_write_error. */
struct rpc_error {
    enum error_id id;
    const char *message;  /* replaces the table's message when set */
    const char *reason;   /* replaces the table's data.reason when set */
    bool has_field;       /* data.field is present (it may name the key "") */
    char field[64];
    const char *sku;      /* data.sku when set */
    size_t sku_len;
    const char *location; /* data.location when set */
    size_t location_len;
    bool has_quantities; /* data.requested and data.available */
    long long requested;
    long long available;
    bool has_reserved; /* data.reserved */
    long long reserved;
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

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF). */
bool json_utf8_valid(const unsigned char *s, size_t n);

/* Appends s as a JSON string (quoted and escaped). */
void json_write_string(struct buf *out, const char *s, size_t n);

#endif
