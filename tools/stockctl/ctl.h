/* stockctl's shared declarations: the exit codes, the connection to stockd,
 * one decoded response, and the session (options plus connection) that the
 * commands in stockctl.c and the CSV import in import.c both use. */
#ifndef STOCKCTL_CTL_H
#define STOCKCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* Exit codes, one per class of outcome, so that scripts can branch on them.
 * The --help text documents the same list. */
enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_REFUSED = 1,    /* stockd answered an error about the request or the state */
    CTL_EXIT_USAGE = 2,      /* bad arguments, or an input file stockctl cannot use */
    CTL_EXIT_CONNECTION = 3, /* cannot connect, connection lost, or no answer in time */
    CTL_EXIT_RETRYABLE = 4,  /* Redis unavailable, timed out, or stockd overloaded */
    CTL_EXIT_IMPORT = 5,     /* import: at least one row was not applied */
};

/* The exit code for a JSON-RPC error code stockd answered with: 2001..2003
 * are worth retrying, everything else is about the request or the state. */
int ctl_exit_for_code(int code);

/* --- the connection (conn.c) ------------------------------------------ */

/* A TCP connection to stockd. The socket is non-blocking; the blocking
 * helpers below wait with poll() up to a deadline. */
struct conn {
    int fd;        /* -1 when closed */
    struct buf in; /* owned: bytes received, in.data[in_off..in.len) not consumed yet */
    size_t in_off;
    bool eof;      /* the peer closed its side */
    char err[256]; /* why the last failing call failed */
};

/* Resolves host and port and connects within timeout_ms. Returns 0, or -1
 * with c->err set (and c->fd == -1). Call conn_close either way. */
int conn_open(struct conn *c, const char *host, const char *port, int timeout_ms);
/* Closes the socket and frees the buffer; safe to call twice. */
void conn_close(struct conn *c);
/* Writes all n bytes, waiting at most timeout_ms whenever the socket is
 * full. Returns 0, or -1 with c->err set. */
int conn_write_all(struct conn *c, const char *p, size_t n, int timeout_ms);
/* Writes what the socket takes now. Returns the bytes written (possibly 0),
 * or -1 with c->err set. */
ssize_t conn_write_some(struct conn *c, const char *p, size_t n);
/* Reads what has arrived, without waiting. Returns the bytes read (0 when
 * nothing was there), or -1 with c->err set on an error or end of stream.
 * Lines taken earlier with conn_take_line are invalid afterwards. */
ssize_t conn_fill(struct conn *c);
/* Takes the next complete line out of the received bytes: true with *line
 * (NUL-terminated, without "\n") and *n set, pointing into c->in and valid
 * until the next conn_fill; false when no full line has arrived yet. */
bool conn_take_line(struct conn *c, char **line, size_t *n);
/* conn_take_line, waiting up to timeout_ms for the line. Returns 0, or -1
 * with c->err set (timeout, error, or the peer closed). */
int conn_read_line(struct conn *c, int timeout_ms, char **line, size_t *n);

/* Appends one request line `{"jsonrpc":"2.0","id":ID,"method":M,"params":P}\n`
 * to out. params is a complete JSON object, or NULL for none. */
void request_write(struct buf *out, long long id, const char *method, const struct buf *params);

/* One decoded response line. */
struct response {
    cJSON *root;         /* owned: freed by response_free */
    const cJSON *result; /* into root; NULL for an error */
    const cJSON *error;  /* into root; NULL for a result */
    int code;            /* error.code; 0 for a result */
    bool has_id;         /* id is an integer (not null) */
    long long id;
    char *raw; /* owned: the result or error value, byte for byte as sent */
};

/* Decodes a response line. Returns 0, or -1 when the line is not a
 * JSON-RPC response (then nothing needs freeing). */
int response_parse(const char *line, size_t n, struct response *r);
void response_free(struct response *r);
/* error.data.reason, or "" when absent. Borrowed from r. */
const char *response_reason(const struct response *r);
/* error.message, or "" when absent. Borrowed from r. */
const char *response_message(const struct response *r);

/* Appends "error CODE REASON: MESSAGE (key value, ...)" for an error
 * response, the data members other than reason in brackets. */
void response_describe(const struct response *r, struct buf *out);

/* --- the session (stockctl.c) -------------------------------------------- */

struct ctl {
    const char *host; /* borrowed: argv or the environment */
    const char *port;
    const char *token; /* NULL: do not authenticate */
    int timeout_ms;
    bool json; /* --json: raw result objects for scripts */
    struct conn conn;
    long long next_id;
};

/* Connects and, with a token, authenticates. Returns CTL_EXIT_OK or the
 * exit code to end with, after saying why on stderr. */
int ctl_connect(struct ctl *ctl);
/* Reports an error response on stderr: the raw error object with --json,
 * else one line with the code, reason, message and data. what names the
 * request (a method name, or "line 12"). Returns the exit code it maps to. */
int ctl_report_error(const struct ctl *ctl, const char *what, const struct response *r);

/* --- the CSV import (import.c) ------------------------------------------- */

/* Sends every row of the CSV file at path ("-": standard input) as a
 * stock.set over the connected session, keeping up to window requests in
 * flight, and prints the summary. Returns the exit code. */
int import_run(struct ctl *ctl, const char *path, int window);

/* --- argument checks shared by both (stockctl.c) -------------------------- */

/* Parses a whole decimal number in [min, max]. Returns false when s is not
 * one (sign, digits, nothing else). */
bool parse_int(const char *s, long long min, long long max, long long *out);

#endif
