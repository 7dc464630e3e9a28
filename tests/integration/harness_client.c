/* Integration test harness: the client side (see harness.h): blocking
 * connections to stockd, lines and JSON-RPC calls over them, the
 * catalogue helpers built on those; and reading a stockd from outside:
 * its log, its memory, its HTTP port and metrics. */
#include "harness.h"

#include "buf.h" /* xmalloc and friends */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long one JSON-RPC call over a client connection may take. */
#define CALL_TIMEOUT_MS 10000

/* --- clients ----------------------------------------------------------- */

struct rbuf {
    char *data;
    size_t len, cap;
};
static struct rbuf rbufs[8192];

static struct rbuf *rbuf_of(int fd)
{
    if (fd < 0 || (size_t)fd >= sizeof rbufs / sizeof rbufs[0])
        harness_die("fd %d out of range", fd);
    return &rbufs[fd];
}

/* One attempt: the fd, or -1 with errno set. */
static int try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rbuf_of(fd)->len = 0;
    return fd;
}

int client_connect(int port)
{
    int fd = try_connect(port);
    if (fd < 0)
        harness_die("connect to %d: %s", port, strerror(errno));
    return fd;
}

int client_connect_retry(int port, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        int fd = try_connect(port);
        if (fd >= 0)
            return fd;
        if (harness_now_ms() > deadline)
            harness_die("nothing accepted on port %d in %d ms", port, timeout_ms);
    }
}


void client_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            harness_die("send: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

void client_sends(int fd, const char *s)
{
    client_send(fd, s, strlen(s));
}

char *client_readline(int fd, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - b->data);
            char *line = malloc(n + 1);
            memcpy(line, b->data, n);
            line[n] = '\0';
            memmove(b->data, nl + 1, b->len - n - 1);
            b->len -= n + 1;
            return line;
        }
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (b->cap - b->len < 65536) {
            b->cap = b->cap ? b->cap * 2 : 131072;
            b->data = xrealloc(b->data, b->cap);
        }
        ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, 0);
        if (n <= 0)
            return NULL;
        b->len += (size_t)n;
    }
}

char **client_exchange(int fd, const char *data, size_t len, int n_lines, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    char **lines = xcalloc((size_t)n_lines + 1, sizeof *lines);
    int got = 0;
    size_t sent = 0;
    long long deadline = harness_now_ms() + timeout_ms;
    while (got < n_lines) {
        char *nl;
        while (got < n_lines && b->len > 0 && (nl = memchr(b->data, '\n', b->len)) != NULL) {
            size_t n = (size_t)(nl - b->data);
            lines[got] = xmalloc(n + 1);
            memcpy(lines[got], b->data, n);
            lines[got][n] = '\0';
            memmove(b->data, nl + 1, b->len - n - 1);
            b->len -= n + 1;
            got++;
        }
        if (got == n_lines)
            break;
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            harness_die("client_exchange: %d of %d lines in %d ms (%zu of %zu bytes sent)", got, n_lines,
                timeout_ms, sent, len);
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if ((p.revents & POLLOUT) && sent < len) {
            ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                harness_die("client_exchange: send: %s", strerror(errno));
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (b->cap - b->len < 65536) {
                b->cap = b->cap ? b->cap * 2 : 131072;
                b->data = xrealloc(b->data, b->cap);
            }
            ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, MSG_DONTWAIT);
            if (n == 0)
                harness_die("client_exchange: closed after %d of %d lines", got, n_lines);
            if (n > 0)
                b->len += (size_t)n;
        }
    }
    return lines;
}

void client_free_lines(char **lines, int n_lines)
{
    for (int i = 0; i < n_lines; i++)
        free(lines[i]);
    free(lines);
}

bool client_wait_closed(int fd, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    long long deadline = harness_now_ms() + timeout_ms;
    char tmp[4096];
    while (harness_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - harness_now_ms())) <= 0)
            continue;
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
    (void)b;
    return false;
}

cJSON *client_call(int fd, const char *request)
{
    client_sends(fd, request);
    client_sends(fd, "\n");
    char *line = client_readline(fd, CALL_TIMEOUT_MS);
    if (line == NULL)
        harness_die("no response to %s", request);
    cJSON *j = cJSON_Parse(line);
    if (j == NULL)
        harness_die("response is not JSON: %s", line);
    free(line);
    return j;
}

cJSON *client_callf(int fd, const char *fmt, ...)
{
    char req[65536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req, sizeof req, fmt, ap);
    va_end(ap);
    return client_call(fd, req);
}

int resp_error_code(const cJSON *resp)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
    if (e == NULL)
        return 0;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    return cJSON_IsNumber(c) ? c->valueint : -1;
}

const char *resp_error_reason(const cJSON *resp)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
    return json_str(d, "reason");
}

const cJSON *resp_result(const cJSON *resp)
{
    return cJSON_GetObjectItemCaseSensitive(resp, "result");
}

long long json_int(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -999999;
}

const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

void client_stock_set(int fd, const char *sku, const char *location, long long on_hand)
{
    cJSON *r = client_callf(fd,
                            "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"%s\","
                            "\"location\":\"%s\",\"on_hand\":%lld}}",
                            sku, location, on_hand);
    if (resp_error_code(r) != 0)
        harness_die("stock.set %s %s failed", sku, location);
    cJSON_Delete(r);
}

int harness_ledger_count(const char *type, const char *field, const char *value, bool prefix)
{
    redisReply *r = harness_redis(&H, "XRANGE {inv}:events - +");
    size_t vlen = strlen(value);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *t = "", *v = "";
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "type") == 0)
                t = f->element[k + 1]->str;
            else if (strcmp(f->element[k]->str, field) == 0)
                v = f->element[k + 1]->str;
        }
        n += strcmp(t, type) == 0 &&
             (prefix ? strncmp(v, value, vlen) == 0 : strcmp(v, value) == 0);
    }
    freeReplyObject(r);
    return n;
}

long long harness_holds_left(void)
{
    redisReply *z = harness_redis(&H, "ZCARD {inv}:expiry");
    long long left = z->integer;
    freeReplyObject(z);
    char cursor[32] = "0";
    do {
        redisReply *r = harness_redis(&H, "SCAN %s MATCH {inv}:holds:* COUNT 1000", cursor);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            z = harness_redis(&H, "ZCARD %s", r->element[1]->element[i]->str);
            left += z->integer;
            freeReplyObject(z);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return left;
}

void harness_wait_no_holds(int timeout_ms, void (*between)(void))
{
    long long give_up = harness_now_ms() + timeout_ms;
    for (;;) {
        long long left = harness_holds_left();
        if (left == 0)
            return;
        if (harness_now_ms() > give_up)
            harness_die("%lld holds never ended", left);
        if (between)
            between();
    }
}

struct row stock_row(int fd, const char *sku, const char *location)
{
    cJSON *r = client_callf(fd,
                            "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"%s\","
                            "\"locations\":[\"%s\"]}}",
                            sku, location);
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations");
    const cJSON *row = cJSON_GetArrayItem(locs, 0);
    if (row == NULL)
        harness_die("stock.get %s %s returned no row", sku, location);
    struct row out = {json_int(row, "on_hand"), json_int(row, "reserved"),
                      json_int(row, "available")};
    cJSON_Delete(r);
    return out;
}

/* --- logs, memory and HTTP ---------------------------------------------- */

int harness_log_count(int i, const char *needle)
{
    FILE *f = fopen(H.stockd[i].log_path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

int harness_log_lines(int i)
{
    FILE *f = fopen(H.stockd[i].log_path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

long harness_rss_kb(int i)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)H.stockd[i].pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

int harness_http_raw(int port, const char *request, char **body)
{
    int fd = client_connect(port);
    client_sends(fd, request);
    size_t cap = 1 << 16, len = 0;
    char *resp = xmalloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        if (len + 4096 > cap)
            resp = xrealloc(resp, cap *= 2);
        ssize_t n = recv(fd, resp + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    resp[len] = '\0';
    int status = 0;
    sscanf(resp, "HTTP/1.1 %d", &status);
    const char *sep = strstr(resp, "\r\n\r\n");
    if (body)
        *body = strdup(sep ? sep + 4 : "");
    free(resp);
    return status;
}

int harness_http_get(int port, const char *path, char **body)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: stockd\r\n\r\n", path);
    return harness_http_raw(port, req, body);
}

double metric_value(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
        p += n;
    }
    return -1;
}

double harness_metric(int i, const char *series)
{
    char *body = NULL;
    if (harness_http_get(H.stockd[i].http_port, "/metrics", &body) != 200)
        harness_die("GET /metrics of stockd %d failed", i);
    double v = metric_value(body, series);
    free(body);
    return v;
}
