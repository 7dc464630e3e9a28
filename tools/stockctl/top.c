/* stockctl top: a live view of one stockd in the terminal, redrawn every
 * --interval-ms from the status page's JSON on stockd's --http listener
 * (GET /ui/api/overview, open; GET /ui/api/holds, with the token). Each
 * frame is one or two plain HTTP/1.1 GETs, one at a time, and every wait is
 * one poll() on the socket, the keyboard and a signalfd: q, Ctrl-C, SIGTERM
 * and a resize are seen even while stockd is slow to answer, and every way
 * out passes through term_leave, which gives the terminal back as it was
 * (cursor, screen, termios). The buffers are kept from frame to frame, so a
 * long run allocates nothing that it keeps. --once prints one frame as
 * plain text, for scripts. What a frame says is top_frame.c's business. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "top.h"

#define DEFAULT_HTTP "127.0.0.1:9400"
#define DEFAULT_INTERVAL_MS 1000
#define ANSWER_MAX (1024 * 1024) /* an overview is a few kB: more is not stockd talking */
#define READ_CHUNK 16384

/* The control sequences (ECMA-48 and xterm's alternate screen, which every
 * terminal emulator in use, screen and tmux understand). */
#define ESC_ENTER "\033[?1049h\033[?25l" /* alternate screen, cursor hidden */
#define ESC_LEAVE "\033[?25h\033[?1049l" /* cursor shown, main screen back */
#define ESC_HOME "\033[H"
#define ESC_CLEAR_LINE "\033[K"   /* to the end of the line */
#define ESC_CLEAR_SCREEN "\033[J" /* to the end of the screen */

/* --- the HTTP answer (a parser on bytes, no socket) -------------------------- */

enum parse { PARSE_OK, PARSE_NEED_MORE, PARSE_ERROR };

struct http_answer {
    int status;
    const char *body; /* into the bytes parsed */
    size_t body_n;
    const char *error; /* PARSE_ERROR: why (a static string) */
};

/* The first occurrence of the NUL-terminated needle in p[0..n), or NULL. */
static const char *find(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; p != NULL && i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

/* Parses an HTTP/1.x answer from the bytes received so far, p[0..n); eof:
 * the peer has closed, so nothing more will come. The body is delimited by
 * Content-Length, or else by the end of the connection (stockd closes
 * every connection after its answer). Returns PARSE_OK with *a set,
 * PARSE_NEED_MORE, or PARSE_ERROR with a->error. */
static enum parse http_answer_parse(const char *p, size_t n, bool eof, struct http_answer *a)
{
    memset(a, 0, sizeof *a);
    const char *head_end = find(p, n, "\r\n\r\n");
    if (head_end == NULL) {
        if (!eof)
            return PARSE_NEED_MORE;
        a->error = n == 0 ? "the connection closed without an answer"
                          : "the connection closed inside the answer's headers";
        return PARSE_ERROR;
    }
    if (head_end - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' ||
        p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9') {
        a->error = "not an HTTP/1.x answer";
        return PARSE_ERROR;
    }
    a->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    long long length = -1;
    /* The status line's end: at the latest, the blank line's. */
    const char *h = find(p, (size_t)(head_end + 2 - p), "\r\n") + 2;
    while (h < head_end + 2) {
        const char *eol = find(h, (size_t)(head_end + 2 - h), "\r\n");
        size_t len = (size_t)(eol - h);
        static const char cl[] = "content-length:", te[] = "transfer-encoding:";
        if (len > sizeof cl - 1 && strncasecmp(h, cl, sizeof cl - 1) == 0) {
            const char *v = h + sizeof cl - 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            length = 0;
            for (; v < eol && *v >= '0' && *v <= '9' && length <= ANSWER_MAX; v++)
                length = length * 10 + (*v - '0');
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if (v != eol || length > ANSWER_MAX) {
                a->error = "a bad or too large Content-Length";
                return PARSE_ERROR;
            }
        } else if (len > sizeof te - 1 && strncasecmp(h, te, sizeof te - 1) == 0) {
            a->error = "a Transfer-Encoding (only Content-Length answers are read)";
            return PARSE_ERROR;
        }
        h = eol + 2;
    }
    a->body = head_end + 4;
    size_t have = n - (size_t)(a->body - p);
    if (length >= 0 && have >= (size_t)length) {
        a->body_n = (size_t)length;
        return PARSE_OK;
    }
    if (!eof)
        return PARSE_NEED_MORE;
    if (length >= 0) {
        a->error = "the connection closed inside the answer's body";
        return PARSE_ERROR;
    }
    a->body_n = have;
    return PARSE_OK;
}

/* --- the view's state ---------------------------------------------------- */

struct top {
    const struct ctl *ctl; /* borrowed: the token and the timeout */
    const char *http;      /* borrowed: HOST:PORT as given, also the Host header */
    char host[256];
    char port[8];
    int interval_ms;
    bool once;
    bool quit; /* q, Ctrl-C, SIGTERM, SIGHUP, or the terminal is gone */

    /* The terminal (not with --once). */
    bool screen; /* ESC_ENTER written and ESC_LEAVE not yet */
    bool raw;    /* stdin's termios changed; saved is how it was */
    struct termios saved;
    int sigfd; /* INT, TERM, HUP, WINCH and TSTP, blocked and read here; or -1 */
    bool keys; /* stdin is watched for q (until its end) */
    int rows, cols;

    /* Kept from frame to frame (owned). */
    struct buf req;   /* the request being sent */
    struct buf in;    /* the answer being received */
    struct buf frame; /* the frame: lines ending in '\n', not cut to the width yet */
    struct buf out;   /* the frame's bytes for the terminal */
    char why[320];    /* why the last GET failed */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all n bytes to fd. Returns 0, or -1 (the terminal is gone). */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* --- the terminal -------------------------------------------------------- */

static void term_size(struct top *t)
{
    struct winsize ws;
    t->rows = 24;
    t->cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        t->rows = ws.ws_row;
        t->cols = ws.ws_col;
    }
}

/* Keys without Enter and without echo (Ctrl-C still raises SIGINT), the
 * alternate screen, the cursor hidden. */
static void term_enter(struct top *t)
{
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
        struct termios raw = t->saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        t->raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    t->screen = true;
    if (write_all(STDOUT_FILENO, ESC_ENTER, strlen(ESC_ENTER)) != 0)
        t->quit = true;
    term_size(t);
}

/* Undoes term_enter; safe to call twice. */
static void term_leave(struct top *t)
{
    if (t->screen)
        (void)write_all(STDOUT_FILENO, ESC_LEAVE, strlen(ESC_LEAVE));
    t->screen = false;
    if (t->raw)
        (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &t->saved);
    t->raw = false;
}

/* Draws the frame from the top left, each line cut to the width, at most
 * the screen's rows, everything else cleared. */
static void draw(struct top *t)
{
    buf_reset(&t->out);
    buf_appends(&t->out, ESC_HOME);
    const char *p = t->frame.data, *end = p + t->frame.len;
    for (int row = 0; p != NULL && p < end && row < t->rows; row++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (row > 0)
            buf_appends(&t->out, "\r\n");
        /* A line that fills the row is not followed by a clear, which
         * would take its last column (the cursor waits there to wrap). */
        if (len < (size_t)t->cols) {
            buf_append(&t->out, p, len);
            buf_appends(&t->out, ESC_CLEAR_LINE);
        } else
            buf_append(&t->out, p, (size_t)t->cols);
        p += len + (nl != NULL);
    }
    buf_appends(&t->out, ESC_CLEAR_SCREEN);
    if (write_all(STDOUT_FILENO, t->out.data, t->out.len) != 0)
        t->quit = true;
}

/* Ctrl-Z: the terminal back as it was while stopped, the view again after. */
static void suspend(struct top *t)
{
    term_leave(t);
    kill(getpid(), SIGSTOP);
    term_enter(t);
    draw(t);
}

static void on_signals(struct top *t)
{
    struct signalfd_siginfo si;
    while (read(t->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
            term_size(t);
            draw(t);
        } else if (si.ssi_signo == SIGTSTP)
            suspend(t);
        else
            t->quit = true; /* SIGINT, SIGTERM, SIGHUP */
    }
}

static void on_keys(struct top *t)
{
    char k[64];
    ssize_t n = read(STDIN_FILENO, k, sizeof k);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        t->keys = false; /* stdin ended: only signals stop the view now */
    for (ssize_t i = 0; i < n; i++)
        if (k[i] == 'q' || k[i] == 'Q')
            t->quit = true;
}

enum wait { W_READY, W_TIMEOUT, W_QUIT };

/* Waits until fd (-1: none) is ready for events or the deadline passes,
 * handling keys and signals meanwhile: W_QUIT as soon as one says so. */
static enum wait wait_for(struct top *t, int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p[3];
        int n = 0, at_fd = -1, at_sig = -1, at_key = -1;
        if (fd >= 0) {
            at_fd = n;
            p[n++] = (struct pollfd){.fd = fd, .events = events};
        }
        if (t->sigfd >= 0) {
            at_sig = n;
            p[n++] = (struct pollfd){.fd = t->sigfd, .events = POLLIN};
        }
        if (t->keys) {
            at_key = n;
            p[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        }
        long long left = deadline - now_ms();
        int ready = poll(p, (nfds_t)n, left > 0 ? (int)left : 0);
        if (ready < 0 && errno != EINTR) {
            snprintf(t->why, sizeof t->why, "poll: %s", strerror(errno));
            return W_TIMEOUT;
        }
        if (at_sig >= 0 && p[at_sig].revents != 0)
            on_signals(t);
        if (at_key >= 0 && p[at_key].revents != 0)
            on_keys(t);
        if (t->quit)
            return W_QUIT;
        if (at_fd >= 0 && p[at_fd].revents != 0)
            return W_READY;
        if (ready == 0 || now_ms() >= deadline)
            return W_TIMEOUT;
    }
}

/* --- one GET ------------------------------------------------------------- */

/* Connects to one resolved address before the deadline. Returns the fd, or
 * -1 with why set (t->quit when the wait was cut short). */
static int connect_one(struct top *t, const struct addrinfo *ai, long long deadline, char *why,
                       size_t why_n)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(why, why_n, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int soerr = errno;
        if (soerr == EINPROGRESS) {
            enum wait w = wait_for(t, fd, POLLOUT, deadline);
            socklen_t len = sizeof soerr;
            if (w != W_READY)
                soerr = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
                soerr = errno;
        }
        if (soerr != 0) {
            snprintf(why, why_n, "%s", soerr == ETIMEDOUT ? "timed out" : strerror(soerr));
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sends GET path (with the token when auth) and reads the answer into
 * t->in, all within --timeout-ms. Returns 0 with *a (its body points into
 * t->in, valid until the next GET), or -1 with t->why set or t->quit. */
static int http_get(struct top *t, const char *path, bool auth, struct http_answer *a)
{
    long long deadline = now_ms() + t->ctl->timeout_ms;
    buf_reset(&t->req);
    buf_appends(&t->req, "GET ");
    buf_appends(&t->req, path);
    buf_appends(&t->req, " HTTP/1.1\r\nHost: ");
    buf_appends(&t->req, t->http);
    buf_appends(&t->req, "\r\nUser-Agent: stockctl/" STOCKD_VERSION
                         "\r\nAccept: application/json\r\nConnection: close\r\n");
    if (auth) {
        buf_appends(&t->req, "Authorization: Bearer ");
        buf_appends(&t->req, t->ctl->token);
        buf_appends(&t->req, "\r\n");
    }
    buf_appends(&t->req, "\r\n");
    buf_reset(&t->in);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(t->host, t->port, &hints, &res);
    if (rc != 0) {
        snprintf(t->why, sizeof t->why, "cannot resolve %s: %s", t->host, gai_strerror(rc));
        return -1;
    }
    char why[200] = "no address";
    int fd = -1;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0 && !t->quit; ai = ai->ai_next)
        fd = connect_one(t, ai, deadline, why, sizeof why);
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(t->why, sizeof t->why, "cannot connect to %s: %s", t->http, why);
        return -1;
    }

    size_t sent = 0;
    bool eof = false;
    enum parse pr = PARSE_NEED_MORE;
    while (!t->quit && sent < t->req.len) {
        ssize_t w = send(fd, t->req.data + sent, t->req.len - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(t->why, sizeof t->why, "connection lost while sending: %s", strerror(errno));
            break;
        }
        if (wait_for(t, fd, POLLOUT, deadline) == W_TIMEOUT) {
            snprintf(t->why, sizeof t->why, "stockd took no request for %d ms", t->ctl->timeout_ms);
            break;
        }
    }
    while (!t->quit && sent == t->req.len) {
        pr = http_answer_parse(t->in.data, t->in.len, eof, a);
        if (pr != PARSE_NEED_MORE)
            break;
        if (t->in.len >= ANSWER_MAX) {
            snprintf(t->why, sizeof t->why, "GET %s: an answer over %d bytes", path, ANSWER_MAX);
            break;
        }
        enum wait w = wait_for(t, fd, POLLIN, deadline);
        if (w == W_TIMEOUT) {
            snprintf(t->why, sizeof t->why, "no answer within %d ms", t->ctl->timeout_ms);
            break;
        }
        if (w == W_QUIT)
            break;
        buf_reserve(&t->in, READ_CHUNK);
        ssize_t r = recv(fd, t->in.data + t->in.len, t->in.cap - t->in.len, 0);
        if (r > 0)
            t->in.len += (size_t)r;
        else if (r == 0)
            eof = true;
        else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(t->why, sizeof t->why, "connection lost: %s", strerror(errno));
            break;
        }
    }
    close(fd);
    if (pr == PARSE_ERROR)
        snprintf(t->why, sizeof t->why, "GET %s: %s", path, a->error);
    return pr == PARSE_OK && !t->quit ? 0 : -1;
}

/* GETs path and decodes its JSON: the "result" member (borrowed from
 * *root, which the caller deletes; *root may be set on failure too), or
 * NULL with t->why set (and *code, when stockd answered an error). */
static const cJSON *get_result(struct top *t, const char *path, bool auth, cJSON **root, int *code)
{
    struct http_answer a;
    *root = NULL;
    *code = 0;
    if (http_get(t, path, auth, &a) != 0)
        return NULL;
    *root = cJSON_ParseWithLength(a.body, a.body_n);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(*root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(*root, "error");
    if (cJSON_IsObject(result))
        return result;
    if (cJSON_IsObject(error)) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(data, "reason");
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
        *code = cJSON_IsNumber(c) ? (int)c->valuedouble : -32603;
        snprintf(t->why, sizeof t->why, "error %d %s: %s", *code,
                 cJSON_IsString(reason) ? reason->valuestring : "",
                 cJSON_IsString(message) ? message->valuestring : "");
        return NULL;
    }
    snprintf(t->why, sizeof t->why, "GET %s: HTTP %d without a JSON result%s", path, a.status,
             a.status == 404 ? " (a stockd without the status page?)" : "");
    return NULL;
}

/* Fetches the overview (and the holds, with a token) and builds the frame
 * from them. Returns CTL_EXIT_OK, CTL_EXIT_CONNECTION when the overview
 * could not be had, or the exit code of the error the holds were answered
 * with (t->quit: stopped half way). */
static int refresh(struct top *t)
{
    cJSON *ov_root, *holds_root = NULL;
    int code, rc = CTL_EXIT_OK;
    char why[sizeof t->why] = "";
    struct top_view v = {.http = t->http, .interval_ms = t->once ? 0 : t->interval_ms};
    v.overview = get_result(t, "/ui/api/overview", false, &ov_root, &code);
    if (v.overview == NULL) {
        v.why = t->why;
        rc = CTL_EXIT_CONNECTION;
    } else if (t->ctl->token != NULL) {
        v.holds = get_result(t, "/ui/api/holds", true, &holds_root, &code);
        if (v.holds == NULL) {
            snprintf(why, sizeof why, "%s", t->why);
            v.holds_why = why;
            rc = code != 0 ? ctl_exit_for_code(code) : CTL_EXIT_CONNECTION;
        }
    }
    buf_reset(&t->frame);
    top_frame(&t->frame, &v);
    cJSON_Delete(holds_root);
    cJSON_Delete(ov_root);
    return rc;
}

/* --- the command --------------------------------------------------------- */

/* Splits HOST:PORT ([V6]:PORT for an IPv6 address). */
static bool split_host_port(const char *s, char *host, size_t host_n, char *port, size_t port_n)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL)
        return false;
    const char *h = s;
    size_t len = (size_t)(colon - s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        h++;
        len -= 2;
    }
    long long p;
    /* A bare IPv6 address is ambiguous: it needs its brackets. */
    if (len == 0 || len >= host_n || (h == s && memchr(h, ':', len) != NULL) ||
        !parse_int(colon + 1, 1, 65535, &p))
        return false;
    memcpy(host, h, len);
    host[len] = '\0';
    snprintf(port, port_n, "%lld", p);
    return true;
}

static int run_once(struct top *t)
{
    int rc = refresh(t);
    fwrite(t->frame.data, 1, t->frame.len, stdout);
    if (rc == CTL_EXIT_CONNECTION)
        say("top: stockd unreachable: %s", t->why);
    return rc;
}

static int run_live(struct top *t)
{
    sigset_t set;
    sigemptyset(&set);
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaddset(&set, signals[i]);
    /* Blocked for good: a signal that comes while the view ends stays
     * pending, and the exit status is still the view's. */
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        say("top: signals: %s", strerror(errno));
        return CTL_EXIT_CONNECTION;
    }
    t->keys = true;
    term_enter(t);
    buf_reset(&t->frame);
    buf_appends(&t->frame, "stockctl top: asking stockd at ");
    buf_appends(&t->frame, t->http);
    buf_appends(&t->frame, " ...\n");
    draw(t);
    while (!t->quit) {
        long long next = now_ms() + t->interval_ms;
        refresh(t);
        if (!t->quit)
            draw(t);
        if (!t->quit)
            wait_for(t, -1, 0, next);
    }
    term_leave(t);
    close(t->sigfd);
    t->sigfd = -1;
    return CTL_EXIT_OK;
}

int top_run(struct ctl *ctl, const struct command *cmd, const struct cli *cli, char **args, int n)
{
    (void)args;
    (void)n;
    if (ctl->json)
        return usage_fail(cmd, "--json does not apply to top (GET /ui/api/overview is its JSON)");
    const char *env = getenv("STOCKCTL_HTTP");
    const char *http = cli->val[O_HTTP] != NULL        ? cli->val[O_HTTP]
                       : env != NULL && env[0] != '\0' ? env
                                                       : DEFAULT_HTTP;
    struct top t = {.ctl = ctl, .http = http, .sigfd = -1, .interval_ms = DEFAULT_INTERVAL_MS};
    if (!split_host_port(http, t.host, sizeof t.host, t.port, sizeof t.port))
        return usage_fail(cmd, "--http '%s' must be HOST:PORT, the port from 1 to 65535", http);
    long long v;
    if (cli->val[O_INTERVAL] != NULL) {
        if (!parse_int(cli->val[O_INTERVAL], 100, 3600000, &v))
            return usage_fail(cmd, "--interval-ms must be a whole number from 100 to 3600000");
        t.interval_ms = (int)v;
    }
    for (const char *c = ctl->token; c != NULL && *c != '\0'; c++)
        if (*c <= ' ' || *c > '~')
            return usage_fail(cmd, "the token has a byte that an HTTP header cannot carry");
    t.once = cli->set[O_ONCE];
    if (!t.once && !isatty(STDOUT_FILENO))
        return usage_fail(cmd, "top draws on a terminal and standard output is not one "
                               "(--once prints one frame as plain text)");
    buf_init(&t.req);
    buf_init(&t.in);
    buf_init(&t.frame);
    buf_init(&t.out);
    int rc = t.once ? run_once(&t) : run_live(&t);
    buf_free(&t.req);
    buf_free(&t.in);
    buf_free(&t.frame);
    buf_free(&t.out);
    return rc;
}
