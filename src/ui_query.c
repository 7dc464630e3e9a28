/* The pure parts of the status page's data API (see ui_query.h). */
#include "ui_query.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "jsonstr.h"

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..n) into out; -2 on a bad escape or when it does not fit. */
static int decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -2;
            int hi = hex(src[i + 1]), lo = hex(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -2;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (len + 1 >= cap)
            return -2;
        out[len++] = c;
    }
    out[len] = '\0';
    return (int)len;
}

int ui_query_param(const char *query, const char *name, char *out, size_t cap)
{
    size_t name_n = strlen(name);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '&');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n > name_n && strncmp(p, name, name_n) == 0 && p[name_n] == '=')
            return decode(p + name_n + 1, n - name_n - 1, out, cap);
        if (n == name_n && strncmp(p, name, name_n) == 0)
            return decode("", 0, out, cap); /* "name" alone: empty */
        p = end != NULL ? end + 1 : NULL;
    }
    return -1;
}

int ui_bearer_token(const char *header, struct str *token)
{
    if (header == NULL || strncasecmp(header, "bearer", 6) != 0 ||
        (header[6] != ' ' && header[6] != '\t'))
        return -1;
    const char *t = header + 6;
    while (*t == ' ' || *t == '\t')
        t++;
    size_t n = strlen(t);
    if (n == 0)
        return -1;
    *token = (struct str){t, n};
    return 0;
}

static const struct ui_endpoint endpoints[] = {
    {"stock", "stock.get", {{"sku", "sku"}}},
    {"reservation", "reservation.get", {{"id", "reservation_id"}}},
    {"ledger", "ui.ledger", {{"count", "count"}}},
    {"holds", "ui.holds", {{NULL, NULL}}},
    {"low-stock", "ui.low_stock", {{"count", "count"}}},
};

const struct ui_endpoint *ui_endpoint_find(const char *name)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (strcmp(endpoints[i].name, name) == 0)
            return &endpoints[i];
    return NULL;
}

static bool all_digits(const char *s, int n)
{
    if (n < 1 || n > 15)
        return false;
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int ui_endpoint_line(const struct ui_endpoint *ep, const char *query, struct buf *line,
                     const char **why)
{
    char value[UI_QUERY_VALUE_MAX + 1];
    buf_appends(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"");
    buf_appends(line, ep->method);
    buf_appends(line, "\",\"params\":{");
    bool first = true;
    for (int i = 0; i < 2 && ep->params[i][0] != NULL; i++) {
        int n = ui_query_param(query, ep->params[i][0], value, sizeof value);
        if (n == -1)
            continue;
        if (n < 0) {
            *why = "A query value has a malformed %-escape or is longer than 1024 bytes.";
            return -1;
        }
        if (!first)
            buf_appendc(line, ',');
        first = false;
        json_write_string(line, ep->params[i][1], strlen(ep->params[i][1]));
        buf_appendc(line, ':');
        if (all_digits(value, n))
            buf_append(line, value, (size_t)n);
        else
            json_write_string(line, value, (size_t)n);
    }
    buf_appends(line, "}}");
    return 0;
}

int ui_http_status(enum error_id e)
{
    switch (e) {
    case E_NONE:
        return 200;
    case E_PARSE:
    case E_INVALID_REQUEST:
    case E_TOO_LARGE:
    case E_INVALID_PARAMS:
        return 400;
    case E_UNAUTHORIZED:
        return 401;
    case E_METHOD_NOT_FOUND:
    case E_NOT_FOUND:
        return 404;
    case E_UNAVAILABLE:
    case E_OVERLOADED:
    case E_STORAGE_FULL:
        return 503;
    case E_TIMEOUT:
    case E_REPLICATION:
        return 504;
    case E_INTERNAL:
        return 500;
    default:
        return 409; /* a conflict with the data's state: none of the reads has one today */
    }
}

const char *ui_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

void ui_error_json(struct buf *out, enum error_id e, const char *message)
{
    const char *msg = message != NULL ? message : error_message(e);
    buf_appends(out, "{\"error\":{\"code\":");
    buf_append_int(out, error_code(e));
    buf_appends(out, ",\"message\":");
    json_write_string(out, msg, strlen(msg));
    buf_appends(out, ",\"data\":{\"reason\":\"");
    buf_appends(out, error_reason(e)); /* a fixed identifier */
    buf_appends(out, "\"}}}");
}
