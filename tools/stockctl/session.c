/* stockctl's session with stockd: connecting (and authenticating, with a
 * token), one request and its answer, and the report of an error answer.
 * The table commands (stockctl.c) and the CSV import (import.c) use it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctl.h"
#include "jsonstr.h"

int ctl_call(struct ctl *ctl, const char *method, const struct buf *params, struct response *resp)
{
    struct buf line;
    buf_init(&line);
    long long id = ++ctl->next_id;
    request_write(&line, id, method, params);
    int rc = conn_write_all(&ctl->conn, line.data, line.len, ctl->timeout_ms);
    buf_free(&line);
    char *answer;
    size_t n;
    if (rc == 0)
        rc = conn_read_line(&ctl->conn, ctl->timeout_ms, &answer, &n);
    if (rc != 0) {
        say("%s: %s", method, ctl->conn.err);
        return CTL_EXIT_CONNECTION;
    }
    if (response_parse(answer, n, resp) != 0) {
        say("%s: stockd sent something that is not a response: %.200s", method, answer);
        return CTL_EXIT_CONNECTION;
    }
    /* An error with id null answers the connection rather than a request
     * (2003 when stockd has too many connections); stockd closes it. */
    if (!resp->has_id && resp->error != NULL) {
        rc = ctl_report_error(ctl, method, resp);
        response_free(resp);
        return rc;
    }
    if (!resp->has_id || resp->id != id) {
        say("%s: stockd answered another request (id mismatch)", method);
        response_free(resp);
        return CTL_EXIT_CONNECTION;
    }
    return CTL_EXIT_OK;
}

int ctl_connect(struct ctl *ctl)
{
    if (ctl->conn.fd >= 0)
        return CTL_EXIT_OK;
    if (conn_open(&ctl->conn, ctl->host, ctl->port, ctl->timeout_ms) != 0) {
        say("%s", ctl->conn.err);
        return CTL_EXIT_CONNECTION;
    }
    if (ctl->token == NULL)
        return CTL_EXIT_OK;
    struct buf params;
    buf_init(&params);
    buf_appends(&params, "{\"token\":");
    json_write_string(&params, ctl->token, strlen(ctl->token));
    buf_appendc(&params, '}');
    struct response resp;
    int rc = ctl_call(ctl, "auth", &params, &resp);
    buf_free(&params);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (resp.error != NULL)
        rc = ctl_report_error(ctl, "auth", &resp);
    response_free(&resp);
    return rc;
}

int ctl_report_error(const struct ctl *ctl, const char *what, const struct response *r)
{
    if (ctl->json) {
        fprintf(stderr, "%s\n", r->raw);
        return ctl_exit_for_code(r->code);
    }
    struct buf line;
    buf_init(&line);
    response_describe(r, &line);
    say("%s: %s", what, buf_cstr(&line));
    buf_free(&line);
    /* reserve --explain: an out_of_stock says how the candidates ranked
     * (response_describe leaves that list out of the line). */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->error, "data");
    const cJSON *explain = cJSON_GetObjectItemCaseSensitive(data, "explain");
    if (cJSON_IsArray(explain))
        show_explain(explain, stderr);
    return ctl_exit_for_code(r->code);
}
