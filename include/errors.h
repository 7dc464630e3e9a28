/* The errors a client can be answered with: declared once, here, with their
 * JSON-RPC code, data.reason and message. Everything else (the wire format
 * in rpc.c, the metrics labels) is derived from this table. No JSON here:
 * lower layers return these identifiers, negated (`return -E_X;`). */
#ifndef STOCKD_ERRORS_H
#define STOCKD_ERRORS_H

/* X(name, json-rpc code, data.reason, message). A code may serve more than
 * one reason (2002: Redis did not answer, or the replicas did not confirm);
 * clients branch on the code, and the reason says which. */
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
    X(REPLICATION, 2002, "replication",                                                            \
      "Fewer replicas than required confirmed the write in time; the outcome is unknown: retry "   \
      "with the same order_id.")                                                                   \
    X(OVERLOADED, 2003, "overloaded", "Too many requests in flight; nothing was done.")            \
    X(STORAGE_FULL, 2004, "storage_full", "Redis is out of memory; nothing was done.")

/* Error identifiers; E_NONE is a result. */
enum error_id {
    E_NONE = 0,
#define X(name, code, reason, msg) E_##name,
    STOCKD_ERRORS(X)
#undef X
        E_COUNT
};

/* The JSON-RPC code, reason and message of an error identifier. E_NONE has
 * code 0 and reason "ok"; an identifier out of range reads as E_INTERNAL. */
int error_code(enum error_id e);
const char *error_reason(enum error_id e);
const char *error_message(enum error_id e);

#endif
