/* The status page's data endpoints (see ui_api.h). */
#include "ui_api.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonstr.h"
#include "request.h"
#include "tenants.h"
#include "ui_query.h"

/* One data request: the HTTP connection it answers (NULL once that has
 * gone) and the session it runs on. */
struct ui_call {
    struct responder_conn *conn;
    struct request *req;
    struct session session;
};

static void answer_json(struct responder_conn *c, int status, const char *body, size_t len)
{
    const char *headers = status == 401 ? UI_API_HEADERS
                              "WWW-Authenticate: Bearer realm=\"stockd\"\r\n"
                                        : UI_API_HEADERS;
    responder_answer_headers(c, status, ui_http_reason(status), UI_API_TYPE, headers, body, len);
}

void ui_api_error(struct responder_conn *c, int status, enum error_id e, const char *message)
{
    struct buf body;
    buf_init(&body);
    ui_error_json(&body, e, message);
    answer_json(c, status, body.data, body.len);
    buf_free(&body);
}

/* The request is answered: its response line goes to the connection, if
 * it is still there. */
static void on_done(struct request *req)
{
    struct ui_call *call = req->owner;
    if (call != NULL) {
        answer_json(call->conn, ui_http_status(req->error), req->out.data, req->out.len);
        free(call);
    }
    request_put(req);
}

/* The connection closed first: the request finishes on its own. */
static void on_cancel(void *arg)
{
    struct ui_call *call = arg;
    call->req->owner = NULL;
    call->req->session = NULL;
    free(call);
}

/* Checks the bearer token into session; answers and returns -1 when it
 * cannot be used. */
static int authenticate(struct request_pool *pool, struct responder_conn *c,
                        const struct responder_get *get, struct session *session)
{
    struct str token;
    if (!request_auth_required(pool)) {
        ui_api_error(c, 403, E_UNAUTHORIZED,
                     "stockd runs without an auth token, so it serves no stock or reservation "
                     "data over HTTP: start it with --auth-token-file or --tenants-file.");
        return -1;
    }
    if (ui_bearer_token(get->authorization, &token) != 0) {
        ui_api_error(c, 401, E_UNAUTHORIZED,
                     "Send the auth token in an Authorization: Bearer header.");
        return -1;
    }
    if (request_session_auth(pool, session, token) != 0) {
        ui_api_error(c, 401, E_UNAUTHORIZED, "Wrong token.");
        return -1;
    }
    return 0;
}

static void answer_auth(struct responder_conn *c, const struct session *session)
{
    struct buf body;
    buf_init(&body);
    buf_appends(&body, "{\"result\":{\"authenticated\":true,\"tenant\":");
    if (session->tenant != NULL)
        json_write_string(&body, session->tenant->ident.s.p, session->tenant->ident.s.n);
    else
        buf_appends(&body, "null");
    buf_appends(&body, "}}");
    answer_json(c, 200, body.data, body.len);
    buf_free(&body);
}

bool ui_api_answer(struct request_pool *pool, struct responder_conn *c, const char *name,
                   const struct responder_get *get)
{
    const struct ui_endpoint *ep = ui_endpoint_find(name);
    if (ep == NULL && strcmp(name, "auth") != 0)
        return false;
    struct session session = {.internal = true};
    if (authenticate(pool, c, get, &session) != 0)
        return true;
    if (ep == NULL) {
        answer_auth(c, &session);
        return true;
    }
    struct buf line;
    buf_init(&line);
    const char *why = NULL;
    if (ui_endpoint_line(ep, get->query, &line, &why) != 0) {
        ui_api_error(c, 400, E_INVALID_PARAMS, why);
        buf_free(&line);
        return true;
    }
    struct ui_call *call = xcalloc(1, sizeof *call);
    call->conn = c;
    call->session = session;
    call->req = request_get(pool, call, on_done);
    /* Before the start: the request may be answered inside it. */
    responder_defer(c, on_cancel, call);
    request_start(call->req, &call->session, line.data, line.len);
    buf_free(&line);
    return true;
}
