/* stockctl import: bulk stock levels from a CSV file, one stock.set per
 * row, pipelined. Rows are read only as fast as the window allows, so a
 * file of any size needs memory for one window of requests:
 *
 *   file --read row--> check --ok--> request bytes --send--> stockd
 *                        |                                     |
 *                        +--bad: failed, not sent      answers, in order,
 *                                                       matched to line numbers
 *
 * The request id of each row is its line number, so every answer names the
 * line it belongs to. */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "rpc.h"
#include "validate.h"

/* How many failed rows the summary shows (those with the lowest lines). */
#define SHOWN_FAILURES 10
/* Unsent request bytes beyond which no more rows are read for now. */
#define OUT_HIGH_WATER (256 * 1024)
/* Columns a row may have; more is a bad row anyway. */
#define MAX_COLUMNS 4
/* The progress line on a terminal is redrawn at most this often. */
#define PROGRESS_EVERY_MS 200

struct failure {
    long long line;
    int code;      /* stockd's error code; 0: a bad row, never sent */
    char *reason;  /* owned */
    char *message; /* owned: stockd's message, or what is wrong with the row */
    char *detail;  /* owned: the whole description, for people */
};

struct import {
    struct ctl *ctl;
    FILE *in;         /* owned unless it is stdin */
    const char *path; /* borrowed from argv */
    unsigned ncols;   /* 3 or 4: from the header */
    long long lineno; /* the last physical line read */
    char *line;       /* owned: getline's buffer */
    size_t line_cap;
    bool input_done;

    struct buf out; /* owned: request bytes; out.data[out_off..out.len) not sent yet */
    size_t out_off;
    long long *queue; /* owned ring of q_cap (the window): lines sent, not answered */
    size_t q_head, q_len, q_cap;

    long long rows, ok, failed;
    struct failure shown[SHOWN_FAILURES]; /* the lowest-numbered failures */
    int n_shown;

    int fatal_code; /* the code of an error that answered the connection (id null) */

    bool tty;
    long long start_ms, last_progress_ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

/* Counts a failed row and keeps it when it is among the lowest-numbered
 * failures (answers and bad rows are not found in line order). */
static void fail_row(struct import *im, long long line, int code, const char *reason,
                     const char *message, const char *detail)
{
    im->failed++;
    int slot = im->n_shown;
    if (slot == SHOWN_FAILURES) {
        slot = 0;
        for (int i = 1; i < SHOWN_FAILURES; i++)
            if (im->shown[i].line > im->shown[slot].line)
                slot = i;
        if (im->shown[slot].line < line)
            return;
        free(im->shown[slot].reason);
        free(im->shown[slot].message);
        free(im->shown[slot].detail);
    } else {
        im->n_shown++;
    }
    im->shown[slot] =
        (struct failure){line, code, xstrdup(reason), xstrdup(message), xstrdup(detail)};
}

static void bad_row(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad_row(struct import *im, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char detail[600];
    snprintf(detail, sizeof detail, "bad row: %s", msg);
    fail_row(im, im->lineno, 0, "bad_row", msg, detail);
}

/* --- CSV ------------------------------------------------------------------ */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    /* Identifiers and numbers never hold quotes or commas, so a quoted
     * field only needs its quotes taken off. */
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

/* Splits line in place at commas into at most MAX_COLUMNS + 1 trimmed
 * fields. Returns the number of fields (MAX_COLUMNS + 1 means "more"). */
static unsigned split(char *line, char **fields)
{
    unsigned n = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        fields[n++] = trim(p);
        if (comma == NULL || n == MAX_COLUMNS + 1)
            return comma == NULL ? n : MAX_COLUMNS + 1;
        p = comma + 1;
    }
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

/* Reads the header line. Returns 0 or CTL_EXIT_USAGE after saying why. */
static int read_header(struct import *im)
{
    ssize_t n = getline(&im->line, &im->line_cap, im->in);
    im->lineno = 1;
    if (n < 0) {
        fprintf(stderr,
                "stockctl: import: %s is empty: expected the header "
                "sku,location,on_hand[,safety_stock]\n",
                im->path);
        return CTL_EXIT_USAGE;
    }
    char *line = im->line;
    if ((size_t)n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* a UTF-8 byte order mark, as spreadsheets write */
    static const char *const want[MAX_COLUMNS] = {"sku", "location", "on_hand", "safety_stock"};
    char *fields[MAX_COLUMNS + 1];
    unsigned nf = split(line, fields);
    bool ok = nf >= 3 && nf <= MAX_COLUMNS;
    for (unsigned i = 0; ok && i < nf; i++)
        ok = strcasecmp(fields[i], want[i]) == 0;
    if (!ok) {
        fprintf(stderr,
                "stockctl: import: %s line 1: expected the header "
                "sku,location,on_hand[,safety_stock]\n",
                im->path);
        return CTL_EXIT_USAGE;
    }
    im->ncols = nf;
    return 0;
}

/* Reads the next line; a valid row becomes a request in im->out, a bad one
 * is counted as failed. Blank lines are skipped. */
static void read_row(struct import *im)
{
    ssize_t n = getline(&im->line, &im->line_cap, im->in);
    if (n < 0) {
        im->input_done = true;
        return;
    }
    im->lineno++;
    if (blank(im->line) && strlen(im->line) == (size_t)n)
        return;
    im->rows++;
    if (memchr(im->line, '\0', (size_t)n) != NULL) {
        bad_row(im, "the line holds a NUL byte");
        return;
    }
    char *f[MAX_COLUMNS + 1];
    unsigned nf = split(im->line, f);
    if (nf != im->ncols) {
        if (nf > MAX_COLUMNS)
            bad_row(im, "expected %u columns, found more than %d", im->ncols, MAX_COLUMNS);
        else
            bad_row(im, "expected %u columns, found %u", im->ncols, nf);
        return;
    }
    struct ident id;
    long long on_hand, safety = -1;
    if (!ident_check(f[0], strlen(f[0]), &id)) {
        bad_row(im, "sku '%.140s' is not a valid identifier", f[0]);
        return;
    }
    if (!ident_check(f[1], strlen(f[1]), &id)) {
        bad_row(im, "location '%.140s' is not a valid identifier", f[1]);
        return;
    }
    if (!parse_int(f[2], 0, STOCK_MAX, &on_hand)) {
        bad_row(im, "on_hand '%.40s' is not a whole number from 0 to %lld", f[2], STOCK_MAX);
        return;
    }
    /* An empty safety_stock keeps the one stockd has. */
    if (im->ncols == 4 && f[3][0] != '\0' && !parse_int(f[3], 0, STOCK_MAX, &safety)) {
        bad_row(im, "safety_stock '%.40s' is not a whole number from 0 to %lld", f[3], STOCK_MAX);
        return;
    }

    struct buf params;
    buf_init(&params);
    buf_appends(&params, "{\"sku\":");
    json_write_string(&params, f[0], strlen(f[0]));
    buf_appends(&params, ",\"location\":");
    json_write_string(&params, f[1], strlen(f[1]));
    buf_appends(&params, ",\"on_hand\":");
    buf_append_int(&params, on_hand);
    if (safety >= 0) {
        buf_appends(&params, ",\"safety_stock\":");
        buf_append_int(&params, safety);
    }
    buf_appendc(&params, '}');
    request_write(&im->out, im->lineno, "stock.set", &params);
    buf_free(&params);

    im->queue[(im->q_head + im->q_len++) % im->q_cap] = im->lineno;
}

/* --- answers ------------------------------------------------------------- */

/* Matches one answer line to the oldest row in flight. Returns 0, or -1
 * when the line is not the answer to that row. */
static int take_answer(struct import *im, const char *line, size_t n)
{
    struct response r;
    if (im->q_len == 0 || response_parse(line, n, &r) != 0) {
        fprintf(stderr, "stockctl: import: unexpected line from stockd: %.200s\n", line);
        return -1;
    }
    long long want = im->queue[im->q_head];
    if (!r.has_id && r.error != NULL)
        im->fatal_code = r.code;
    if (!r.has_id || r.id != want) {
        struct buf why;
        buf_init(&why);
        if (r.error != NULL)
            response_describe(&r, &why);
        fprintf(stderr, "stockctl: import: stockd answered %s instead of line %lld %s\n",
                r.has_id ? "another request" : "no request", want, buf_cstr(&why));
        buf_free(&why);
        response_free(&r);
        return -1;
    }
    im->q_head = (im->q_head + 1) % im->q_cap;
    im->q_len--;
    if (r.error == NULL) {
        im->ok++;
    } else {
        struct buf msg;
        buf_init(&msg);
        response_describe(&r, &msg);
        fail_row(im, want, r.code, response_reason(&r), response_message(&r), buf_cstr(&msg));
        buf_free(&msg);
    }
    response_free(&r);
    return 0;
}

static int take_answers(struct import *im)
{
    char *line;
    size_t n;
    while (conn_take_line(&im->ctl->conn, &line, &n))
        if (take_answer(im, line, n) != 0)
            return -1;
    return 0;
}

/* --- output ------------------------------------------------------------- */

static void progress(struct import *im, bool final)
{
    if (!im->tty)
        return;
    long long now = now_ms();
    if (!final && now - im->last_progress_ms < PROGRESS_EVERY_MS)
        return;
    im->last_progress_ms = now;
    if (final)
        fprintf(stderr, "\r%-72s\r", "");
    else
        fprintf(stderr, "\rimport: %lld rows read, %lld ok, %lld failed, %zu in flight", im->rows,
                im->ok, im->failed, im->q_len);
    fflush(stderr);
}

static int failure_cmp(const void *a, const void *b)
{
    long long x = ((const struct failure *)a)->line, y = ((const struct failure *)b)->line;
    return (x > y) - (x < y);
}

static void summary(struct import *im)
{
    long long elapsed = now_ms() - im->start_ms;
    double secs = elapsed > 0 ? (double)elapsed / 1000.0 : 0.001;
    long long rate = (long long)((double)im->rows / secs);
    qsort(im->shown, (size_t)im->n_shown, sizeof im->shown[0], failure_cmp);
    if (im->ctl->json) {
        struct buf j;
        buf_init(&j);
        buf_appends(&j, "{\"file\":");
        json_write_string(&j, im->path, strlen(im->path));
        buf_appends(&j, ",\"rows\":");
        buf_append_int(&j, im->rows);
        buf_appends(&j, ",\"ok\":");
        buf_append_int(&j, im->ok);
        buf_appends(&j, ",\"failed\":");
        buf_append_int(&j, im->failed);
        buf_appends(&j, ",\"elapsed_ms\":");
        buf_append_int(&j, elapsed);
        buf_appends(&j, ",\"rows_per_s\":");
        buf_append_int(&j, rate);
        buf_appends(&j, ",\"errors\":[");
        for (int i = 0; i < im->n_shown; i++) {
            const struct failure *f = &im->shown[i];
            buf_appends(&j, i > 0 ? ",{\"line\":" : "{\"line\":");
            buf_append_int(&j, f->line);
            buf_appends(&j, ",\"code\":");
            buf_append_int(&j, f->code);
            buf_appends(&j, ",\"reason\":");
            json_write_string(&j, f->reason, strlen(f->reason));
            buf_appends(&j, ",\"message\":");
            json_write_string(&j, f->message, strlen(f->message));
            buf_appendc(&j, '}');
        }
        buf_appends(&j, "]}");
        printf("%s\n", buf_cstr(&j));
        buf_free(&j);
        return;
    }
    printf("import %s: %lld rows, %lld ok, %lld failed, %.3f s, %lld rows/s\n", im->path, im->rows,
           im->ok, im->failed, (double)elapsed / 1000.0, rate);
    for (int i = 0; i < im->n_shown; i++) {
        const struct failure *f = &im->shown[i];
        fprintf(stderr, "stockctl: import: line %lld: %s\n", f->line, f->detail);
    }
    if (im->failed > im->n_shown)
        fprintf(stderr, "stockctl: import: ... and %lld more failed rows\n",
                im->failed - im->n_shown);
}

/* --- the loop -------------------------------------------------------------- */

/* Sends and receives until every row is answered. Returns 0, or -1 when
 * the connection failed (after saying so). */
static int pump(struct import *im, int window)
{
    struct conn *c = &im->ctl->conn;
    while (!im->input_done || im->q_len > 0) {
        while (!im->input_done && im->q_len < (size_t)window &&
               im->out.len - im->out_off < OUT_HIGH_WATER)
            read_row(im);
        if (im->out_off < im->out.len) {
            ssize_t w = conn_write_some(c, im->out.data + im->out_off, im->out.len - im->out_off);
            if (w < 0)
                return -1;
            im->out_off += (size_t)w;
            if (im->out_off == im->out.len) {
                buf_reset(&im->out);
                im->out_off = 0;
            }
        }
        if (im->q_len == 0)
            continue;
        short events = POLLIN;
        if (im->out_off < im->out.len)
            events |= POLLOUT;
        struct pollfd p = {.fd = c->fd, .events = events};
        int ready = poll(&p, 1, im->ctl->timeout_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            snprintf(c->err, sizeof c->err, "%s",
                     ready == 0 ? "no answer from stockd in time" : strerror(errno));
            return -1;
        }
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && conn_fill(c) < 0)
            return -1;
        if (take_answers(im) != 0) {
            snprintf(c->err, sizeof c->err, "the answers went out of step");
            return -1;
        }
        progress(im, false);
    }
    return 0;
}

static void import_free(struct import *im)
{
    if (im->in != NULL && im->in != stdin)
        fclose(im->in);
    free(im->line);
    buf_free(&im->out);
    free(im->queue);
    for (int i = 0; i < im->n_shown; i++) {
        free(im->shown[i].reason);
        free(im->shown[i].message);
        free(im->shown[i].detail);
    }
}

int import_run(struct ctl *ctl, const char *path, int window)
{
    struct import im = {.ctl = ctl, .path = path, .q_cap = (size_t)window};
    buf_init(&im.out);
    bool from_stdin = strcmp(path, "-") == 0;
    if (from_stdin)
        im.path = "standard input";
    im.in = from_stdin ? stdin : fopen(path, "r");
    if (im.in == NULL) {
        fprintf(stderr, "stockctl: import: cannot open %s: %s\n", path, strerror(errno));
        return CTL_EXIT_USAGE;
    }
    /* read_row runs only while fewer than window rows are in flight, so
     * the ring never fills up. */
    im.queue = xcalloc((size_t)window, sizeof *im.queue);
    int rc = read_header(&im);
    if (rc == 0)
        rc = ctl_connect(ctl);
    if (rc != 0) {
        import_free(&im);
        return rc;
    }
    im.tty = isatty(STDERR_FILENO) == 1;
    im.start_ms = now_ms();
    if (pump(&im, window) != 0) {
        progress(&im, true);
        fprintf(stderr,
                "stockctl: import: %s after %lld rows done; rows from line %lld on may or "
                "may not be applied (stock.set is absolute: running the import again is safe)\n",
                ctl->conn.err, im.ok + im.failed, im.q_len > 0 ? im.queue[im.q_head] : im.lineno);
        rc = im.fatal_code != 0 ? ctl_exit_for_code(im.fatal_code) : CTL_EXIT_CONNECTION;
        import_free(&im);
        return rc;
    }
    progress(&im, true);
    summary(&im);
    rc = im.failed > 0 ? CTL_EXIT_IMPORT : CTL_EXIT_OK;
    import_free(&im);
    return rc;
}
