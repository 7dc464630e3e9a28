/* stockctl's connection to stockd: a non-blocking TCP socket with blocking
 * helpers that wait with poll() up to a deadline, newline framing of what
 * comes back, request lines, and decoding of one response line (keeping the
 * result or error value byte for byte, for --json). */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc.h"

/* Received bytes are read in chunks of this size. */
#define READ_CHUNK 65536

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. Returns >0
 * when ready, 0 on timeout, -1 on a poll error. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left < 0)
            left = 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* Tries one resolved address. Returns the connected fd or -1 with err set. */
static int connect_one(const struct addrinfo *ai, long long deadline, char *err, size_t err_n)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, err_n, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(err, err_n, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    int ready = wait_fd(fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (ready <= 0) {
        snprintf(err, err_n, "%s", ready == 0 ? "timed out" : strerror(errno));
        close(fd);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
        snprintf(err, err_n, "%s", strerror(soerr != 0 ? soerr : errno));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int conn_open(struct conn *c, const char *host, const char *port, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    buf_init(&c->in);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(c->err, sizeof c->err, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    long long deadline = now_ms() + timeout_ms;
    char why[200] = "no address";
    for (const struct addrinfo *ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next)
        c->fd = connect_one(ai, deadline, why, sizeof why);
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "cannot connect to %s:%s: %s", host, port, why);
        return -1;
    }
    return 0;
}

void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    c->in_off = 0;
}

ssize_t conn_write_some(struct conn *c, const char *p, size_t n)
{
    for (;;) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        snprintf(c->err, sizeof c->err, "connection lost while sending: %s", strerror(errno));
        return -1;
    }
}

int conn_write_all(struct conn *c, const char *p, size_t n, int timeout_ms)
{
    while (n > 0) {
        ssize_t w = conn_write_some(c, p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
        if (n > 0 && wait_fd(c->fd, POLLOUT, now_ms() + timeout_ms) <= 0) {
            snprintf(c->err, sizeof c->err, "stockd took no data for %d ms", timeout_ms);
            return -1;
        }
    }
    return 0;
}

ssize_t conn_fill(struct conn *c)
{
    /* Lines already taken are dropped first, so the buffer holds at most
     * one partial line plus what this read brings. */
    if (c->in_off > 0) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    buf_reserve(&c->in, READ_CHUNK);
    for (;;) {
        ssize_t r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (r > 0) {
            c->in.len += (size_t)r;
            return r;
        }
        if (r == 0) {
            c->eof = true;
            snprintf(c->err, sizeof c->err, "stockd closed the connection");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        snprintf(c->err, sizeof c->err, "connection lost: %s", strerror(errno));
        return -1;
    }
}

bool conn_take_line(struct conn *c, char **line, size_t *n)
{
    char *start = c->in.data + c->in_off;
    size_t avail = c->in.len - c->in_off;
    char *nl = avail > 0 ? memchr(start, '\n', avail) : NULL;
    if (nl == NULL)
        return false;
    *nl = '\0';
    *line = start;
    *n = (size_t)(nl - start);
    if (*n > 0 && start[*n - 1] == '\r')
        start[--*n] = '\0';
    c->in_off += (size_t)(nl - start) + 1;
    return true;
}

int conn_read_line(struct conn *c, int timeout_ms, char **line, size_t *n)
{
    long long deadline = now_ms() + timeout_ms;
    while (!conn_take_line(c, line, n)) {
        int ready = wait_fd(c->fd, POLLIN, deadline);
        if (ready == 0) {
            snprintf(c->err, sizeof c->err, "no answer from stockd within %d ms", timeout_ms);
            return -1;
        }
        if (ready < 0 || conn_fill(c) < 0) {
            if (ready < 0)
                snprintf(c->err, sizeof c->err, "poll: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

void request_write(struct buf *out, long long id, const char *method, const struct buf *params)
{
    buf_appends(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    buf_append_int(out, id);
    buf_appends(out, ",\"method\":");
    json_write_string(out, method, strlen(method));
    if (params != NULL) {
        buf_appends(out, ",\"params\":");
        buf_append(out, params->data, params->len);
    }
    buf_appends(out, "}\n");
}

/* --- finding a member's value as sent ------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Skips a string starting at its opening quote; returns the byte after the
 * closing quote, or end. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return end;
}

/* Skips one JSON value. The line has already parsed as JSON, so this only
 * needs to find where the value ends, not to check it. */
static const char *skip_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_string(p, end);
    if (p < end && (*p == '{' || *p == '[')) {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t')
        p++;
    return p;
}

/* Finds the value of the top-level member name in the object in
 * line[0..n). Returns a malloc'd copy of its bytes, or NULL. */
static char *member_raw(const char *line, size_t n, const char *name)
{
    const char *p = line, *end = line + n;
    size_t name_n = strlen(name);
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return NULL;
        const char *key = p + 1;
        p = skip_string(p, end);
        bool match = (size_t)(p - 1 - key) == name_n && memcmp(key, name, name_n) == 0;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return NULL;
        const char *value = skip_ws(p + 1, end);
        p = skip_value(value, end);
        if (match) {
            size_t len = (size_t)(p - value);
            char *copy = xmalloc(len + 1);
            memcpy(copy, value, len);
            copy[len] = '\0';
            return copy;
        }
        p = skip_ws(p, end);
        if (p >= end || *p != ',')
            return NULL;
        p++;
    }
}

int response_parse(const char *line, size_t n, struct response *r)
{
    memset(r, 0, sizeof *r);
    r->root = cJSON_ParseWithLength(line, n);
    if (!cJSON_IsObject(r->root))
        goto bad;
    r->result = cJSON_GetObjectItemCaseSensitive(r->root, "result");
    r->error = cJSON_GetObjectItemCaseSensitive(r->root, "error");
    if ((r->result == NULL) == (r->error == NULL))
        goto bad;
    if (r->error != NULL) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(r->error, "code");
        if (!cJSON_IsNumber(code))
            goto bad;
        r->code = (int)code->valuedouble;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->root, "id");
    if (cJSON_IsNumber(id)) {
        r->has_id = true;
        r->id = (long long)id->valuedouble;
    }
    r->raw = member_raw(line, n, r->error != NULL ? "error" : "result");
    if (r->raw == NULL)
        goto bad;
    return 0;
bad:
    cJSON_Delete(r->root);
    memset(r, 0, sizeof *r);
    return -1;
}

void response_free(struct response *r)
{
    cJSON_Delete(r->root);
    free(r->raw);
    memset(r, 0, sizeof *r);
}

const char *response_reason(const struct response *r)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->error, "data");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(data, "reason");
    return cJSON_IsString(reason) ? reason->valuestring : "";
}

const char *response_message(const struct response *r)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r->error, "message");
    return cJSON_IsString(msg) ? msg->valuestring : "";
}

void response_describe(const struct response *r, struct buf *out)
{
    buf_appends(out, "error ");
    buf_append_int(out, r->code);
    buf_appendc(out, ' ');
    buf_appends(out, response_reason(r));
    buf_appends(out, ": ");
    buf_appends(out, response_message(r));
    /* Everything in data but the reason (field, sku, requested, ...) goes
     * in brackets after the message, in the order stockd sent it. */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->error, "data");
    bool first = true;
    for (const cJSON *d = data ? data->child : NULL; d != NULL; d = d->next) {
        /* reserve --explain's ranking is a table of its own (show.c). */
        if (d->string == NULL || strcmp(d->string, "reason") == 0 ||
            strcmp(d->string, "explain") == 0)
            continue;
        buf_appends(out, first ? " (" : ", ");
        first = false;
        buf_appends(out, d->string);
        buf_appendc(out, ' ');
        if (cJSON_IsString(d)) {
            buf_appends(out, d->valuestring);
        } else {
            char *v = cJSON_PrintUnformatted(d);
            buf_appends(out, v ? v : "?");
            free(v);
        }
    }
    if (!first)
        buf_appendc(out, ')');
}

int ctl_exit_for_code(int code)
{
    return code >= 2001 && code <= 2004 ? CTL_EXIT_RETRYABLE : CTL_EXIT_REFUSED;
}
