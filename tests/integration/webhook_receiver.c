/* The webhook tests' HTTP receiver (see webhook_receiver.h): one thread
 * polls the listener, every connection and a wake-up pipe; requests are
 * parsed from each connection's bytes (head, then Content-Length bytes of
 * body), recorded under a mutex, and answered in order. */
#include "webhook_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define MAX_CONNS 512

struct rconn {
    int fd;
    char *in; /* malloc'd */
    size_t len, cap;
    bool held; /* a request on it is never answered */
};

struct receiver {
    int listener, port;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, release;
    struct rconn conns[MAX_CONNS];
    int n_conns;
    struct received *log; /* guarded by mu */
    size_t n_log, cap_log;
    int *script; /* guarded by mu */
    size_t n_script, script_at, cap_script;
    int dflt, every, every_status;
};

static void fail_now(const char *what)
{
    fprintf(stderr, "receiver: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The value of header name in head[0..n) (case-insensitive name), into out. */
static void header(const char *head, size_t n, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    const char *p = head, *end = head + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            size_t k = (size_t)(ve - v) < outlen - 1 ? (size_t)(ve - v) : outlen - 1;
            memcpy(out, v, k);
            out[k] = '\0';
            return;
        }
        p = eol + 1;
    }
}

static int next_status(struct receiver *r)
{
    if (r->script_at < r->n_script)
        return r->script[r->script_at++];
    if (r->every > 0 && (r->n_log + 1) % (size_t)r->every == 0)
        return r->every_status;
    return r->dflt;
}

static void answer(int fd, int status, bool close_after)
{
    char out[256];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n%s\r\nok",
                     status, status >= 200 && status < 300 ? "OK" : "Not OK",
                     close_after ? "Connection: close\r\n" : "");
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = send(fd, out + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the client went: nothing to answer */
        off += (size_t)w;
    }
}

/* Handles every whole request in c's buffer. Returns false when the
 * connection is to be closed. */
static bool serve(struct receiver *r, struct rconn *c)
{
    for (;;) {
        if (c->held)
            return true;
        char *end = NULL;
        for (size_t i = 0; i + 3 < c->len; i++)
            if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) {
                end = c->in + i + 4;
                break;
            }
        if (end == NULL)
            return true;
        size_t head_len = (size_t)(end - c->in);
        char cl[32], conn_hdr[32];
        header(c->in, head_len, "Content-Length", cl, sizeof cl);
        header(c->in, head_len, "Connection", conn_hdr, sizeof conn_hdr);
        size_t body_len = (size_t)atol(cl);
        if (c->len < head_len + body_len)
            return true;
        struct received x;
        memset(&x, 0, sizeof x);
        sscanf(c->in, "%15s %255s", x.method, x.path);
        header(c->in, head_len, "Content-Type", x.content_type, sizeof x.content_type);
        header(c->in, head_len, "X-Stockd-Event-Id", x.event_id, sizeof x.event_id);
        header(c->in, head_len, "X-Stockd-Signature", x.signature, sizeof x.signature);
        x.body = malloc(body_len + 1);
        memcpy(x.body, end, body_len);
        x.body[body_len] = '\0';
        x.body_len = body_len;
        x.at_ms = harness_now_ms();
        pthread_mutex_lock(&r->mu);
        x.status = next_status(r);
        if (r->n_log == r->cap_log) {
            r->cap_log = r->cap_log ? 2 * r->cap_log : 1024;
            r->log = realloc(r->log, r->cap_log * sizeof *r->log);
        }
        r->log[r->n_log++] = x;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->mu);
        memmove(c->in, c->in + head_len + body_len, c->len - head_len - body_len);
        c->len -= head_len + body_len;
        if (x.status == RECEIVER_HOLD) {
            c->held = true;
            return true;
        }
        bool close_after = strcasecmp(conn_hdr, "close") == 0;
        answer(c->fd, x.status, close_after);
        if (close_after)
            return false;
    }
}

static void conn_close(struct receiver *r, int i)
{
    close(r->conns[i].fd);
    free(r->conns[i].in);
    r->conns[i] = r->conns[--r->n_conns];
}

static void *run(void *arg)
{
    struct receiver *r = arg;
    struct pollfd p[MAX_CONNS + 2];
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop, release = r->release;
        r->release = false;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        if (release)
            for (int i = r->n_conns - 1; i >= 0; i--)
                if (r->conns[i].held)
                    conn_close(r, i);
        p[0] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = r->listener, .events = POLLIN};
        for (int i = 0; i < r->n_conns; i++)
            p[i + 2] = (struct pollfd){.fd = r->conns[i].fd, .events = POLLIN};
        int n_polled = r->n_conns;
        if (poll(p, (nfds_t)n_polled + 2, 1000) < 0) {
            if (errno == EINTR)
                continue;
            fail_now("poll");
        }
        if (p[0].revents) {
            char b[64];
            while (read(r->wake[0], b, sizeof b) > 0) {
            }
        }
        if ((p[1].revents & POLLIN) && r->n_conns < MAX_CONNS) {
            int fd = accept(r->listener, NULL, NULL);
            if (fd >= 0) {
                r->conns[r->n_conns++] = (struct rconn){.fd = fd};
            }
        }
        /* From the end: a closed connection takes the last one's place. */
        for (int i = n_polled - 1; i >= 0; i--) {
            if (!(p[i + 2].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct rconn *c = &r->conns[i];
            if (c->cap - c->len < 65536) {
                c->cap = c->cap ? 2 * c->cap : 131072;
                c->in = realloc(c->in, c->cap);
            }
            ssize_t got = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
            if (got <= 0) {
                conn_close(r, i);
                continue;
            }
            c->len += (size_t)got;
            if (!serve(r, c))
                conn_close(r, i);
        }
    }
    while (r->n_conns > 0)
        conn_close(r, r->n_conns - 1);
    return NULL;
}

struct receiver *receiver_start(void)
{
    struct receiver *r = calloc(1, sizeof *r);
    r->dflt = 200;
    r->listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (r->listener < 0 || bind(r->listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(r->listener, 512) != 0)
        fail_now("listen");
    socklen_t len = sizeof a;
    getsockname(r->listener, (struct sockaddr *)&a, &len);
    r->port = ntohs(a.sin_port);
    if (pipe(r->wake) != 0)
        fail_now("pipe");
    fcntl(r->wake[0], F_SETFL, O_NONBLOCK);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0)
        fail_now("pthread_create");
    return r;
}

int receiver_port(const struct receiver *r)
{
    return r->port;
}

void receiver_script(struct receiver *r, const int *statuses, size_t n)
{
    pthread_mutex_lock(&r->mu);
    if (r->n_script + n > r->cap_script) {
        r->cap_script = r->n_script + n + 16;
        r->script = realloc(r->script, r->cap_script * sizeof *r->script);
    }
    memcpy(r->script + r->n_script, statuses, n * sizeof *statuses);
    r->n_script += n;
    pthread_mutex_unlock(&r->mu);
}

void receiver_default(struct receiver *r, int status)
{
    pthread_mutex_lock(&r->mu);
    r->dflt = status;
    pthread_mutex_unlock(&r->mu);
}

void receiver_every(struct receiver *r, int every, int status)
{
    pthread_mutex_lock(&r->mu);
    r->every = every;
    r->every_status = status;
    pthread_mutex_unlock(&r->mu);
}

size_t receiver_count(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_log;
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool receiver_wait(struct receiver *r, size_t n, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    pthread_mutex_lock(&r->mu);
    while (r->n_log < n) {
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = ts.tv_nsec + (left < 100 ? left : 100) * 1000000ll;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&r->cond, &r->mu, &ts);
    }
    bool ok = r->n_log >= n;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

struct received receiver_get(struct receiver *r, size_t i)
{
    pthread_mutex_lock(&r->mu);
    struct received x = r->log[i];
    x.body = malloc(x.body_len + 1);
    memcpy(x.body, r->log[i].body, x.body_len + 1);
    pthread_mutex_unlock(&r->mu);
    return x;
}

void received_free(struct received *x)
{
    free(x->body);
    x->body = NULL;
}

static void wake(struct receiver *r)
{
    ssize_t w = write(r->wake[1], "x", 1);
    (void)w;
}

void receiver_release(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    r->release = true;
    pthread_mutex_unlock(&r->mu);
    wake(r);
}

void receiver_stop(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_mutex_unlock(&r->mu);
    wake(r);
    pthread_join(r->thread, NULL);
    close(r->listener);
    close(r->wake[0]);
    close(r->wake[1]);
    for (size_t i = 0; i < r->n_log; i++)
        free(r->log[i].body);
    free(r->log);
    free(r->script);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r);
}
