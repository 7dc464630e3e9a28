/* The status page's data endpoints (ui.h): GET /ui/api/<endpoint> runs the
 * endpoint's method (ui_query.h: stock.get, reservation.get, or one of the
 * page's own, ui_data.h) through the request layer, as a client's request
 * would run, on a session of its own authenticated by the request's
 * `Authorization: Bearer` token, and answers with the JSON-RPC response
 * (HTTP status by its error: ui_http_status). So the page shows exactly
 * what a client would be answered, validated and escaped the same way.
 *
 * No token configured (neither --auth-token-file nor --tenants-file): 403,
 * and no data. A missing or wrong token: 401. */
#ifndef STOCKD_UI_API_H
#define STOCKD_UI_API_H

#include <stdbool.h>

#include "errors.h"
#include "responder.h"

struct request_pool;

/* Answers GET /ui/api/<name> for a data endpoint or "auth" (the login
 * check: {"result":{"authenticated":true,"tenant":...}}), now or once its
 * request is answered. Returns false when name is neither. */
bool ui_api_answer(struct request_pool *pool, struct responder_conn *c, const char *name,
                   const struct responder_get *get);

/* Answers c with status and {"error":...} for e (message NULL: the
 * error's own), with the headers of every /ui/api answer. */
void ui_api_error(struct responder_conn *c, int status, enum error_id e, const char *message);

/* The headers of every /ui/api answer. */
#define UI_API_HEADERS "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
#define UI_API_TYPE "application/json; charset=utf-8"

#endif
