/* A client connection (see conn.h).
 *
 * Its requests form a queue in arrival order:
 *
 *   requests: head (oldest) -> ... -> tail (newest)
 *
 * A request joins at the tail when its line is read and is answered in any
 * order (validation errors at once, Redis calls later). Only the answered
 * prefix at the head is moved to the output buffer, so answers leave in
 * request order. One write is in flight at a time; answers finished
 * meanwhile gather in `out` and go in the next one. Flushing is deferred to
 * the server's flusher, once per loop iteration, so that all the answers
 * one Redis read or one client read produced leave in one write.
 *
 * Effects follow request order too. Most methods are one script call, and
 * Redis runs the calls of stockd's one connection in order. A barrier
 * method (methods.h: commit, release, whose effect is their second call)
 * holds back what follows: nothing after it on the same connection is
 * framed until it is answered.
 *
 * Back-pressure, never refusal: while --max-pipeline requests of this
 * connection are queued, or its output budget is spent (below), framing
 * stops and the socket is not read; bytes already read wait in the framer's
 * tail. Reading resumes as answers leave. A client may pipeline any number
 * of requests: each is answered, in order, with memory bounded by the
 * limits.
 *
 * The output budget, --max-output-bytes, bounds the answers a connection
 * holds: those unwritten, and those its running requests will produce.
 * Their sizes are not known before they come, so each running request is
 * counted at the largest answer the connection has had so far, and never
 * less than a sixteenth of the budget: a line is framed (and executed)
 * only while what is held plus one more running request fits, and always
 * when nothing runs and nothing is held beyond the budget. So a client that
 * asks for large answers and does not read them holds at most about the
 * budget plus one answer.
 *
 * Timeouts (conn_reap): a connection with nothing queued and no complete
 * line for --idle-timeout-ms is closed, and so is one whose started line is
 * not finished within --line-timeout-ms (a slowloris client), after an
 * error line that says so. With auth on, a connection not authenticated
 * (a token, or tenants) within --auth-timeout-ms of its accept is closed
 * (ping does not keep it);
 * and a write that moves no bytes for --write-timeout-ms (a client that
 * never reads) closes the connection, as TCP itself does when answers
 * already in the kernel stay unacknowledged that long (TCP_USER_TIMEOUT). */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "closer.h"
#include "framer.h"
#include "log.h"
#include "queue.h"

#define READ_BUF_SIZE 65536

struct conns {
    uv_loop_t *loop;
    const struct config *cfg;
    struct request_pool *pool;
    struct metrics *metrics;
    struct queue open;            /* connections not closing */
    unsigned long handles;        /* connection handles not yet closed */
    char read_buf[READ_BUF_SIZE]; /* shared: libuv reads one socket at a time */
    bool read_buf_busy;
    uv_check_t flusher;      /* flushes `dirty` after I/O callbacks */
    uv_prepare_t preflusher; /* and before the loop blocks */
    struct queue dirty;      /* connections with answers to move and write */
    bool draining;
    void (*on_drained)(void *);
    void *on_drained_data;
    struct closer closer;
    void (*on_freed)(void *);
    void *on_freed_data;
};

struct conn {
    uv_tcp_t tcp; /* first: the handle's memory is the connection's */
    struct conns *set;
    struct queue node;       /* in set->open */
    struct queue dirty_node; /* in set->dirty while dirty */
    struct framer framer;
    struct queue requests; /* read and not yet written, in arrival order */
    unsigned queued;       /* how many */
    unsigned running;      /* of them, not answered yet */
    size_t answered;       /* bytes of their answers not yet moved to out */
    size_t largest;        /* the largest answer this connection has had */
    struct buf out;        /* owned: finished responses not yet being written */
    struct buf writing;    /* owned: the bytes of the write in flight */
    uv_write_t wreq;
    bool write_active;
    bool reading;
    bool draining;           /* stop reading; close when all is answered and written */
    bool backlog;            /* framer.tail may hold whole lines, read while framing waited */
    struct request *barrier; /* a two-call request that later lines wait for */
    bool spent;              /* an oversized line: nothing after it is framed */
    bool peer_done;          /* the client closed its side (or the socket failed) */
    bool lingering;          /* answered and shut down for writing: waits for the peer */
    uv_shutdown_t shutdown_req;
    bool closing;
    struct session session;
    uint64_t accepted_at;
    uint64_t last_line_at;  /* uv_now() of the last complete line, or accept */
    uint64_t progress_at;   /* uv_now() when the write in flight last moved bytes */
    size_t write_left;      /* its bytes still queued in libuv then */
    uint64_t partial_since; /* uv_now() when the unfinished line began; 0: none */
    uint64_t linger_since;  /* uv_now() when lingering began */
};

static void update_reading(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_close(struct conn *c);
static void linger(struct conn *c);

/* --- flushing, once per loop iteration ----------------------------------- */

static void flush_dirty(struct conns *set)
{
    struct queue *q;
    while ((q = queue_first(&set->dirty)) != NULL) {
        queue_remove(q);
        conn_flush(queue_data(q, struct conn, dirty_node));
    }
    uv_check_stop(&set->flusher);
    uv_prepare_stop(&set->preflusher);
}

static void on_flush(uv_check_t *check)
{
    flush_dirty(check->data);
}

static void on_preflush(uv_prepare_t *prepare)
{
    flush_dirty(prepare->data);
}

static void mark_dirty(struct conn *c)
{
    struct conns *set = c->set;
    if (queue_linked(&c->dirty_node) || c->closing)
        return;
    if (queue_empty(&set->dirty)) {
        uv_check_start(&set->flusher, on_flush);
        uv_prepare_start(&set->preflusher, on_preflush);
    }
    queue_insert_tail(&set->dirty, &c->dirty_node);
}

/* --- requests ---------------------------------------------------------- */

static struct request *head(const struct conn *c)
{
    struct queue *q = queue_first(&c->requests);
    return q ? queue_data(q, struct request, node) : NULL;
}

/* The pipeline is full, or the output budget is spent (see the top). */
static bool pipeline_full(const struct conn *c)
{
    if (c->queued >= (unsigned)c->set->cfg->max_pipeline)
        return true;
    size_t budget = (size_t)c->set->cfg->max_output_bytes;
    size_t held = c->out.len + c->writing.len + c->answered;
    size_t each = c->largest > budget / 16 ? c->largest : budget / 16;
    if (held >= budget)
        return true;
    return c->running > 0 && held + (c->running + 1) * each > budget;
}

static void on_request_done(struct request *req)
{
    struct conn *c = req->owner;
    if (c == NULL) {
        /* The connection went away while Redis was working on it. */
        request_put(req);
        return;
    }
    assert(request_done(req) && c->running > 0);
    c->running--;
    c->answered += req->out.len;
    if (req->out.len > c->largest)
        c->largest = req->out.len;
    if (c->barrier == req)
        c->barrier = NULL; /* the flush frames what waited behind it */
    if (head(c) == req || c->barrier == NULL)
        mark_dirty(c);
}

static struct request *enqueue(struct conn *c)
{
    struct request *req = request_get(c->set->pool, c, on_request_done);
    queue_insert_tail(&c->requests, &req->node);
    c->queued++;
    c->running++;
    return req;
}

static int on_line(void *ctx, const char *line, size_t len)
{
    struct conn *c = ctx;
    struct request *req = enqueue(c);
    c->last_line_at = uv_now(c->tcp.loop);
    request_start(req, &c->session, line, len);
    if (!request_done(req) && (method_flags(req->method) & M_BARRIER)) {
        c->barrier = req;
        return 1;
    }
    /* Back-pressure: the rest of the bytes wait in the framer's tail until
     * answers leave. */
    return pipeline_full(c) ? 1 : 0;
}

static void refuse_line(struct conn *c, enum error_id e, const char *message)
{
    struct rpc_error err;
    rpc_error_set(&err, e);
    err.message = message;
    request_refuse(enqueue(c), &err);
}

/* --- reading ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conns *set = ((struct conn *)h->data)->set;
    (void)suggested;
    if (set->read_buf_busy) {
        b->base = NULL;
        b->len = 0;
        return;
    }
    set->read_buf_busy = true;
    b->base = set->read_buf;
    b->len = sizeof set->read_buf;
}

static void feed(struct conn *c, const char *data, size_t len)
{
    if (c->spent)
        return;
    if (c->backlog || c->barrier != NULL) {
        /* Lines wait in the tail already, or must wait: keep the bytes. */
        buf_append(&c->framer.tail, data, len);
        c->backlog = true;
        return;
    }
    size_t used = 0;
    enum framer_status st = framer_feed(&c->framer, data, len, on_line, c, &used);
    if (st == FRAMER_STOPPED && used < len) {
        /* A full pipeline, or a barrier: what was read but not framed waits
         * in the tail (after the last delivered line, so it starts a line)
         * and is framed later. */
        buf_append(&c->framer.tail, data + used, len - used);
        c->backlog = true;
    } else if (st == FRAMER_TOO_LARGE) {
        refuse_line(c, E_TOO_LARGE, NULL);
        c->spent = true;
        c->draining = true;
    }
}

/* The clock of an unfinished line starts with its first byte: when the
 * framer's tail holds the start of a line after a line ended (last_line is
 * last_line_at before the bytes were framed), or where none was. Lines kept
 * whole for later (backlog) are not unfinished. */
static void time_partial(struct conn *c, uint64_t last_line)
{
    if (framer_pending(&c->framer) == 0 || c->backlog)
        c->partial_since = 0;
    else if (c->partial_since == 0 || c->last_line_at != last_line)
        c->partial_since = uv_now(c->tcp.loop);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;
    if (nread > 0 && !c->draining) {
        uint64_t last_line = c->last_line_at;
        feed(c, b->base, (size_t)nread);
        time_partial(c, last_line);
    } else if (nread < 0) {
        if (nread != UV_EOF)
            log_debug("client read error: %s", uv_strerror((int)nread));
        /* EOF: the client may have half-closed after its last request
         * (printf ... | nc), so answer what was read, then close. A last
         * line without its newline is taken as complete. */
        if (nread == UV_EOF && framer_pending(&c->framer) > 0)
            feed(c, "\n", 1);
        c->draining = true;
        c->peer_done = true;
    }
    if (b->base == c->set->read_buf)
        c->set->read_buf_busy = false;
    /* Stop at once when the pipeline filled: libuv would read again before
     * the flusher runs. */
    update_reading(c);
    mark_dirty(c);
}

static void update_reading(struct conn *c)
{
    if (c->closing)
        return;
    /* A spent connection reads on, discarding, until the client is done
     * sending: closing a socket with unread bytes resets it, and the reset
     * can destroy the refusal on its way to the client. */
    bool want = c->spent ? !c->peer_done
                         : !c->draining && !c->backlog && !pipeline_full(c) &&
                               c->out.len + c->writing.len < (size_t)c->set->cfg->max_output_bytes;
    if (want && !c->reading) {
        c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Lines kept while the pipeline was full or a barrier was up are framed
 * once they may be, also while draining: they were read, so they are
 * answered. */
static void refeed_backlog(struct conn *c)
{
    if (!c->backlog || c->barrier != NULL || pipeline_full(c))
        return;
    struct buf pending = c->framer.tail;
    buf_init(&c->framer.tail);
    c->backlog = false;
    uint64_t last_line = c->last_line_at;
    feed(c, pending.data, pending.len);
    buf_free(&pending);
    /* The kept bytes may end in the start of a line: its clock runs from
     * now, as if it had just been read. */
    time_partial(c, last_line);
}

/* --- writing ----------------------------------------------------------- */

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    c->write_active = false;
    buf_reset(&c->writing);
    if (c->writing.cap > (size_t)c->set->cfg->max_output_bytes)
        buf_free(&c->writing);
    if (status < 0) {
        if (status != UV_ECANCELED)
            log_debug("client write error: %s", uv_strerror(status));
        conn_close(c);
        return;
    }
    mark_dirty(c);
}

static void start_write(struct conn *c)
{
    if (c->write_active || c->out.len == 0 || c->closing)
        return;
    struct buf tmp = c->writing;
    c->writing = c->out;
    c->out = tmp;
    uv_buf_t b = uv_buf_init(c->writing.data, (unsigned)c->writing.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        conn_close(c);
        return;
    }
    c->write_active = true;
    c->progress_at = uv_now(c->tcp.loop);
    c->write_left = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static void conn_flush(struct conn *c)
{
    if (c->closing)
        return;
    struct request *req;
    while ((req = head(c)) != NULL && request_done(req)) {
        queue_remove(&req->node);
        assert(c->queued > 0);
        c->queued--;
        assert(c->answered >= req->out.len);
        c->answered -= req->out.len;
        buf_append(&c->out, req->out.data, req->out.len);
        request_put(req);
    }
    refeed_backlog(c);
    start_write(c);
    if (c->draining && queue_empty(&c->requests) && !c->backlog && !c->write_active &&
        c->out.len == 0) {
        if (c->spent && !c->peer_done)
            linger(c);
        else
            conn_close(c);
        return;
    }
    update_reading(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* a failed shutdown ends in EOF or an error read, or the reaper */
}

/* Everything is answered on a spent connection whose client may still be
 * sending: end our side (the client reads its answers, then EOF) and
 * discard what comes until the client ends its own, for at most
 * --line-timeout-ms (conn_reap). */
static void linger(struct conn *c)
{
    if (!c->lingering) {
        c->lingering = true;
        c->linger_since = uv_now(c->tcp.loop);
        if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
            conn_close(c);
            return;
        }
    }
    update_reading(c);
}

/* --- lifecycle --------------------------------------------------------- */

/* The drain ends when the last connection handle has closed (at once when
 * there was none); on_drained runs once. */
static void check_drained(struct conns *set)
{
    void (*drained)(void *) = set->on_drained;
    if (!set->draining || set->handles > 0 || drained == NULL)
        return;
    set->on_drained = NULL;
    drained(set->on_drained_data);
}

static void on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct conns *set = c->set;
    framer_free(&c->framer);
    buf_free(&c->out);
    buf_free(&c->writing);
    free(c);
    assert(set->handles > 0);
    set->handles--;
    check_drained(set);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->barrier = NULL;
    /* Requests still at Redis finish later, without a connection. */
    struct queue *q;
    while ((q = queue_first(&c->requests)) != NULL) {
        struct request *req = queue_data(q, struct request, node);
        queue_remove(q);
        if (request_done(req)) {
            request_put(req);
        } else {
            req->owner = NULL;
            req->session = NULL;
        }
    }
    c->queued = 0;
    c->running = 0;
    c->answered = 0;
    queue_remove(&c->node);
    if (queue_linked(&c->dirty_node))
        queue_remove(&c->dirty_node);
    assert(c->set->metrics->connections > 0);
    c->set->metrics->connections--;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void conn_reap(struct conn *c, uint64_t now)
{
    const struct config *cfg = c->set->cfg;
    if (request_auth_required(c->set->pool) && !c->session.authenticated &&
        now - c->accepted_at > (uint64_t)cfg->auth_timeout_ms) {
        log_debug("closing a connection: not authenticated in time");
        conn_close(c);
        return;
    }
    if (c->lingering && now - c->linger_since > (uint64_t)cfg->line_timeout_ms) {
        log_debug("closing a connection: the client went on sending after its refusal");
        conn_close(c);
        return;
    }
    if (c->write_active) {
        size_t left = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
        if (left != c->write_left) {
            c->write_left = left;
            c->progress_at = now;
        } else if (now - c->progress_at > (uint64_t)cfg->write_timeout_ms) {
            log_debug("closing a connection: the client took no answer bytes in time");
            conn_close(c);
            return;
        }
    }
    if (c->partial_since != 0 && !c->draining &&
        now - c->partial_since > (uint64_t)cfg->line_timeout_ms) {
        log_debug("closing a connection: line not finished in time");
        framer_free(&c->framer);
        c->spent = true;
        c->draining = true;
        c->partial_since = 0;
        refuse_line(c, E_INVALID_REQUEST, "The request line was not finished in time.");
        mark_dirty(c);
    } else if (queue_empty(&c->requests) && !c->write_active && c->out.len == 0 && !c->backlog &&
               now - c->last_line_at > (uint64_t)cfg->idle_timeout_ms) {
        log_debug("closing an idle connection");
        conn_close(c);
    }
}

/* The write timeout also covers answers the kernel has taken: a client
 * that reads nothing (a zero window) or acknowledges nothing for
 * --write-timeout-ms has its connection aborted by TCP, which libuv
 * reports as a failed read or write. Without it, answers that fit in the
 * kernel's buffers leave libuv's queue empty and the timeout above never
 * starts. */
static void limit_unacked(struct conn *c)
{
    uv_os_fd_t fd;
    unsigned int ms = (unsigned int)c->set->cfg->write_timeout_ms;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms) != 0)
        log_debug("TCP_USER_TIMEOUT: %s", strerror(errno));
}

bool conns_accept(struct conns *set, uv_stream_t *listener)
{
    struct conn *c = xcalloc(1, sizeof *c);
    c->set = set;
    queue_init(&c->node);
    queue_init(&c->dirty_node);
    queue_init(&c->requests);
    framer_init(&c->framer, (size_t)set->cfg->max_request_bytes);
    uv_tcp_init(set->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        framer_free(&c->framer);
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return false;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    limit_unacked(c);
    c->last_line_at = c->accepted_at = uv_now(set->loop);
    queue_insert_tail(&set->open, &c->node);
    set->handles++;
    set->metrics->connections++;
    update_reading(c);
    return true;
}

/* --- the set ------------------------------------------------------------- */

struct conns *conns_new(uv_loop_t *loop, const struct config *cfg, struct request_pool *pool,
                        struct metrics *m)
{
    struct conns *set = xcalloc(1, sizeof *set);
    set->loop = loop;
    set->cfg = cfg;
    set->pool = pool;
    set->metrics = m;
    queue_init(&set->open);
    queue_init(&set->dirty);
    uv_check_init(loop, &set->flusher);
    uv_prepare_init(loop, &set->preflusher);
    set->flusher.data = set->preflusher.data = set;
    return set;
}

void conns_reap(struct conns *set, uint64_t now)
{
    struct queue *q = set->open.next;
    while (q != &set->open) {
        struct conn *c = queue_data(q, struct conn, node);
        q = q->next; /* c may close and leave the set */
        conn_reap(c, now);
    }
}

void conns_drain(struct conns *set, void (*drained)(void *), void *data)
{
    set->draining = true;
    set->on_drained = drained;
    set->on_drained_data = data;
    struct queue *q = set->open.next;
    while (q != &set->open) {
        struct conn *c = queue_data(q, struct conn, node);
        q = q->next;
        c->draining = true;
        conn_flush(c);
    }
    check_drained(set);
}

void conns_close_all(struct conns *set)
{
    struct queue *q;
    if (!queue_empty(&set->open))
        log_warn("shutdown: closing connections that did not take their answers in time");
    while ((q = queue_first(&set->open)) != NULL)
        conn_close(queue_data(q, struct conn, node));
}

static void conns_freed(void *data)
{
    struct conns *set = data;
    void (*done)(void *) = set->on_freed;
    void *done_data = set->on_freed_data;
    free(set);
    done(done_data);
}

void conns_free(struct conns *set, void (*done)(void *), void *data)
{
    assert(queue_empty(&set->open) && set->handles == 0);
    set->on_freed = done;
    set->on_freed_data = data;
    closer_begin(&set->closer, conns_freed, set);
    closer_close(&set->closer, (uv_handle_t *)&set->flusher);
    closer_close(&set->closer, (uv_handle_t *)&set->preflusher);
    closer_end(&set->closer);
}
