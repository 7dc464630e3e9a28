/* The pure parts of the status page's data API (ui_api.h): reading a query
 * parameter, the bearer token of an Authorization header, the JSON-RPC
 * line an endpoint runs, and the HTTP status of its answer. */
#ifndef STOCKD_UI_QUERY_H
#define STOCKD_UI_QUERY_H

#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "ident.h"

/* The longest decoded query value taken. */
#define UI_QUERY_VALUE_MAX 1024

/* Finds name=value in a query ("a=1&b=2"; '+' is a space, %XX an escape)
 * and decodes its value into out (NUL-terminated; cap bytes with the NUL).
 * Returns its length; -1 when name is absent; -2 when the value has a bad
 * escape or does not fit. */
int ui_query_param(const char *query, const char *name, char *out, size_t cap);

/* The token of "Bearer <token>" (the scheme in any case). Returns 0, or -1
 * when header is NULL or not a bearer token. */
int ui_bearer_token(const char *header, struct str *token);

/* A data endpoint: its name under /ui/api/, the method it runs and the
 * query parameters it passes (up to two; NULL: none). A parameter whose
 * value is all digits is passed as a number, else as a string. */
struct ui_endpoint {
    const char *name;
    const char *method;
    const char *params[2][2]; /* {query name, params name} */
};
/* The endpoint called name, or NULL. */
const struct ui_endpoint *ui_endpoint_find(const char *name);

/* Appends the JSON-RPC request line for the endpoint and the query.
 * Returns 0, or -1 with a message in why when a query value is malformed
 * or too long. */
int ui_endpoint_line(const struct ui_endpoint *ep, const char *query, struct buf *line,
                     const char **why);

/* The HTTP status for an answer with error e (E_NONE: 200). */
int ui_http_status(enum error_id e);
const char *ui_http_reason(int status);

/* Appends {"error":{"code","message","data":{"reason"}}} for e; message
 * NULL: the error's own. */
void ui_error_json(struct buf *out, enum error_id e, const char *message);

#endif
