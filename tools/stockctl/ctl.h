/* stockctl's shared declarations: the exit codes, the connection to stockd,
 * one decoded response, the session (options plus connection, session.c)
 * that the commands and the CSV import (import.c) both use, the live view
 * (top.c), and the command table's types: stockctl.c declares the table,
 * params.c turns a command line into params by it, show.c prints results
 * for people. */
#ifndef STOCKCTL_CTL_H
#define STOCKCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* --- the session (session.c) -------------------------------------------- */

struct ctl {
    const char *host; /* borrowed: argv or the environment */
    const char *port;
    const char *token; /* NULL: do not authenticate (--token or --tenant-token) */
    int timeout_ms;
    bool json; /* --json: raw result objects for scripts */
    struct conn conn;
    long long next_id;
};

/* Connects and, with a token, authenticates. Returns CTL_EXIT_OK or the
 * exit code to end with, after saying why on stderr. */
int ctl_connect(struct ctl *ctl);
/* Sends one request on the connected session and reads its answer into
 * resp. Returns CTL_EXIT_OK (resp holds a result or an error: free it with
 * response_free), or the exit code after saying why (resp holds nothing). */
int ctl_call(struct ctl *ctl, const char *method, const struct buf *params, struct response *resp);
/* Reports an error response on stderr: the raw error object with --json,
 * else one line with the code, reason, message and data. what names the
 * request (a method name, or "line 12"). Returns the exit code it maps to. */
int ctl_report_error(const struct ctl *ctl, const char *what, const struct response *r);

/* --- the CSV import (import.c) ------------------------------------------- */

/* Sends every row of the CSV file at path ("-": standard input) as a
 * stock.set over the connected session, keeping up to window requests in
 * flight, and prints the summary. Returns the exit code. */
int import_run(struct ctl *ctl, const char *path, int window);

/* --- the command table (stockctl.c) ---------------------------------------- */

/* Every option, global or of some command. options[] in stockctl.c says what
 * each one is. */
enum opt {
    O_HOST,
    O_PORT,
    O_TOKEN,
    O_TENANT_TOKEN,
    O_TIMEOUT,
    O_JSON,
    O_HELP,
    O_VERSION,
    O_SAFETY,
    O_BACKORDER_LIMIT,
    O_LOW_STOCK,
    O_REASON,
    O_ORDER_ID,
    O_CHANNEL,
    O_LOCATION,
    O_STRATEGY,
    O_TTL,
    O_SHIP_TO,
    O_MAX_DISTANCE,
    O_EXPLAIN,
    O_ALLOW_BACKORDER,
    O_ALLOW_PARTIAL,
    O_QUANTITY,
    O_LAT,
    O_LNG,
    O_ZONE,
    O_PRIORITY,
    O_TAG,
    O_RULES,
    O_WINDOW,
    O_HTTP,
    O_INTERVAL,
    O_ONCE,
    O_COUNT
};

/* A command's options are a bit set of one uint64_t. */
_Static_assert(O_COUNT <= 64, "too many options for struct command's opts");
#define OPT_BIT(o) ((uint64_t)1 << (o))

/* The command line, split into options and positional arguments. */
struct cli {
    const char *val[O_COUNT]; /* borrowed from argv: the last value of each option */
    bool set[O_COUNT];
    const char **many[O_COUNT]; /* owned arrays of borrowed strings: every value of a
                                   repeatable option, in order; NULL when not given */
    unsigned n_many[O_COUNT];
    char **pos; /* owned array of borrowed strings: the positional arguments */
    int n_pos;
};

/* Where a param's value comes from, and what it must be. */
enum src { SRC_ARG, SRC_REST, SRC_OPT };
enum kind {
    K_IDENT,       /* an identifier */
    K_IDENT_OTHER, /* an identifier other than the argument of the param before it
                      (both SRC_ARG: transfer's TO after FROM) */
    K_INT,         /* a whole number in [min, max], not 0 when nonzero */
    K_INT_OR_NONE, /* K_INT, or the word "none": JSON null (clears a setting) */
    K_NUMBER,      /* a finite number in [min, max] (max NO_MAX: none), not 0 when nonzero */
    K_TEXT,        /* printable UTF-8, 1..TEXT_MAX bytes */
    K_STRATEGY,    /* auto, single, per_line, split */
    K_IDENT_LIST,  /* distinct identifiers, at most max of them */
    K_ITEMS,       /* SKU=QTY words, each quantity in [min, max] */
    K_RULES,       /* R,R,...: distinct ranking rule names */
    K_DESTINATION, /* LAT,LNG[,ZONE]: the object {lat, lng, zone?} */
    K_FLAG,        /* a switch: true when given */
};

#define NO_MAX 0x7fffffffffffffffLL /* K_NUMBER: no upper bound */

struct param {
    const char *key;  /* the member of params; NULL ends a list */
    const char *what; /* how a usage error names it */
    enum src src;
    int at; /* SRC_ARG: argument index; SRC_REST: first index; SRC_OPT: option */
    enum kind kind;
    long long min, max; /* K_INT, K_NUMBER, K_ITEMS; K_IDENT_LIST: max is the count */
    bool nonzero;       /* K_INT, K_NUMBER */
};

struct command;
typedef void (*show_fn)(const cJSON *result);
typedef int (*verdict_fn)(const cJSON *result);
typedef int (*run_fn)(struct ctl *ctl, const struct command *cmd, const struct cli *cli,
                      char **args, int n);

struct command {
    const char *noun;
    const char *verb;       /* NULL: a one-word command */
    int min_args, max_args; /* after the command words; max -1: no limit */
    uint64_t opts;          /* OPT_BIT of each command option that applies */
    const char *method;
    const struct param *params;
    show_fn show;
    verdict_fn verdict; /* the exit status a result implies; NULL: 0 */
    run_fn run;         /* instead of method, params and show */
    const char *usage;
    const char *summary;
};

/* One line on stderr, prefixed with the program's name. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a usage error, with the command's synopsis when cmd is not NULL.
 * Returns CTL_EXIT_USAGE so that callers can return it. */
int usage_fail(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- argument checks and params (params.c) --------------------------------- */

/* Parses a whole decimal number in [min, max]. Returns false when s is not
 * one (sign, digits, nothing else). */
bool parse_int(const char *s, long long min, long long max, long long *out);
/* Parses a finite decimal number (digits, an optional sign, fraction and
 * exponent; no hex, inf or nan). Returns false when s is not one. */
bool parse_number(const char *s, double *out);
/* Writes v as the shortest decimal that reads back as the same double
 * (52.52 -> "52.52"), which is also a JSON number. */
void format_number(double v, char *out, size_t n);
/* Builds the params object of a table command into b from its param list.
 * Returns 0, or CTL_EXIT_USAGE after saying what is wrong (b then holds
 * part of an object). */
int params_build(struct buf *b, const struct command *cmd, const struct cli *cli, char **args,
                 int n);

/* --- human output (show.c) ----------------------------------------------- */

void show_pong(const cJSON *result);
void show_row(const cJSON *result);
void show_stock(const cJSON *result);
void show_channel(const cJSON *result);
void show_location(const cJSON *result);
void show_locations(const cJSON *result);
void show_reservation(const cJSON *result);
void show_audit(const cJSON *result);
/* A reserve's explain list as a ranked table on f (stdout for a hold,
 * stderr under an out_of_stock error). */
void show_explain(const cJSON *explain, FILE *f);
/* ping: exit 4 when Redis is down. */
int redis_verdict(const cJSON *result);
/* audit: exit 1 when the books do not match. */
int audit_verdict(const cJSON *result);

/* --- the live view (top.c) ------------------------------------------------ */

/* `stockctl top`: redraws stockd's overview (and, with a token, its holds)
 * from the --http listener every --interval-ms until q, Ctrl-C or SIGTERM,
 * then gives the terminal back as it found it; --once prints one plain
 * frame. Returns the exit code. */
int top_run(struct ctl *ctl, const struct command *cmd, const struct cli *cli, char **args, int n);

#endif
