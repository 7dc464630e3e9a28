/* stockctl: the operator's command-line client for stockd. Every command is
 * one row of the command table below: its words, how many arguments it
 * takes, which options apply, the method it calls, a declarative list of
 * how arguments become params (checked here first, so that a typo is a
 * usage error and not a round trip), and how the result is shown. The CSV
 * import (import.c) is the one command with its own handler. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "rpc.h"
#include "validate.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT "7400"
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_WINDOW 512

/* --- options ---------------------------------------------------------- */

enum opt {
    O_HOST,
    O_PORT,
    O_TOKEN,
    O_TIMEOUT,
    O_JSON,
    O_HELP,
    O_VERSION,
    O_SAFETY,
    O_REASON,
    O_ORDER_ID,
    O_CHANNEL,
    O_LOCATION,
    O_STRATEGY,
    O_TTL,
    O_WINDOW,
    O_COUNT
};

#define OPT_BIT(o) (1u << (o))

struct option_def {
    const char *name; /* without the leading "--" */
    const char *arg;  /* the value's name in help, NULL for a switch */
    bool global;      /* applies to every command */
    const char *help;
};

static const struct option_def options[O_COUNT] = {
    [O_HOST] = {"host", "HOST", true,
                "stockd's host (env STOCKCTL_HOST; default " DEFAULT_HOST ")"},
    [O_PORT] = {"port", "PORT", true,
                "stockd's port (env STOCKCTL_PORT; default " DEFAULT_PORT ")"},
    [O_TOKEN] = {"token", "TOKEN", true, "authenticate first (env STOCKD_AUTH_TOKEN)"},
    [O_TIMEOUT] = {"timeout-ms", "N", true,
                   "connect and answer timeout (env STOCKCTL_TIMEOUT_MS; default 5000)"},
    [O_JSON] = {"json", NULL, true,
                "print the result object exactly as stockd sent it, on one line\n"
                "                    (an error: the error object on stderr)"},
    [O_HELP] = {"help", NULL, true, "this text (also -h); `stockctl COMMAND --help`: one command"},
    [O_VERSION] = {"version", NULL, true, "print the version"},
    [O_SAFETY] = {"safety", "N", false, "stock set: safety stock kept back from available"},
    [O_REASON] = {"reason", "TEXT", false, "stock adjust, release: why (printable, 1..256 bytes)"},
    [O_ORDER_ID] = {"order-id", "ID", false, "reserve: idempotency key (a retry returns the hold)"},
    [O_CHANNEL] = {"channel", "C", false, "reserve: sales channel (stockd's default: default)"},
    [O_LOCATION] = {"location", "L", false, "reserve: allowed location, in order; repeatable"},
    [O_STRATEGY] = {"strategy", "S", false, "reserve: auto, single, per_line or split"},
    [O_TTL] = {"ttl-ms", "N", false, "reserve: hold deadline, 1000..86400000 ms"},
    [O_WINDOW] = {"window", "N", false,
                  "import: requests in flight (default 512; keep it within\n"
                  "                    stockd's --max-pipeline, 1024 by default)"},
};

/* The command line, split into options and positional arguments. */
struct cli {
    const char *val[O_COUNT]; /* borrowed from argv: the last value of each option */
    bool set[O_COUNT];
    const char *locations[MAX_LOCATIONS]; /* every --location, in order */
    unsigned n_locations;
    char **pos; /* owned array of borrowed strings: the positional arguments */
    int n_pos;
};

/* --- the command table ---------------------------------------------------- */

/* Where a param's value comes from, and what it must be. */
enum src { SRC_ARG, SRC_REST, SRC_OPT };
enum kind { K_IDENT, K_INT, K_TEXT, K_STRATEGY, K_IDENT_LIST, K_ITEMS };

struct param {
    const char *key;  /* the member of params; NULL ends a list */
    const char *what; /* how a usage error names it */
    enum src src;
    int at; /* SRC_ARG: argument index; SRC_REST: first index; SRC_OPT: option */
    enum kind kind;
    long long min, max; /* K_INT */
    bool nonzero;       /* K_INT */
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
    unsigned opts;          /* OPT_BIT of each command option that applies */
    const char *method;
    const struct param *params;
    show_fn show;
    verdict_fn verdict; /* the exit status a result implies; NULL: 0 */
    run_fn run;         /* instead of method, params and show */
    const char *usage;
    const char *summary;
};

static void show_pong(const cJSON *result);
static void show_row(const cJSON *result);
static void show_stock(const cJSON *result);
static void show_channel(const cJSON *result);
static void show_reservation(const cJSON *result);
static void show_audit(const cJSON *result);
static int redis_verdict(const cJSON *result);
static int audit_verdict(const cJSON *result);
static int run_import(struct ctl *ctl, const struct command *cmd, const struct cli *cli,
                      char **args, int n);

/* Shorthands for the param lists below. */
/* clang-format off */
#define IDENT(key, what, i) {key, what, SRC_ARG, i, K_IDENT, 0, 0, false}
#define STOCK_NUM(key, what, src, i, min, nz) {key, what, src, i, K_INT, min, STOCK_MAX, nz}
#define PARAMS_END {.key = NULL}
/* clang-format on */

static const struct param p_none[] = {PARAMS_END};
static const struct param p_stock_get[] = {
    IDENT("sku", "SKU", 0),
    {"locations", "LOCATION", SRC_REST, 1, K_IDENT_LIST, 0, 0, false},
    PARAMS_END};
static const struct param p_stock_set[] = {
    IDENT("sku", "SKU", 0), IDENT("location", "LOCATION", 1),
    STOCK_NUM("on_hand", "ON_HAND", SRC_ARG, 2, 0, false),
    STOCK_NUM("safety_stock", "--safety", SRC_OPT, O_SAFETY, 0, false), PARAMS_END};
static const struct param p_stock_adjust[] = {
    IDENT("sku", "SKU", 0),
    IDENT("location", "LOCATION", 1),
    STOCK_NUM("delta", "DELTA", SRC_ARG, 2, -STOCK_MAX, true),
    {"reason", "--reason", SRC_OPT, O_REASON, K_TEXT, 0, 0, false},
    PARAMS_END};
static const struct param p_channel_get[] = {IDENT("channel", "CHANNEL", 0), PARAMS_END};
static const struct param p_channel_set[] = {
    IDENT("channel", "CHANNEL", 0),
    {"locations", "LOCATION", SRC_REST, 1, K_IDENT_LIST, 0, 0, false},
    PARAMS_END};
static const struct param p_reserve[] = {
    {"order_id", "--order-id", SRC_OPT, O_ORDER_ID, K_IDENT, 0, 0, false},
    {"items", "SKU=QTY", SRC_REST, 0, K_ITEMS, 1, QTY_MAX, false},
    {"channel", "--channel", SRC_OPT, O_CHANNEL, K_IDENT, 0, 0, false},
    {"locations", "--location", SRC_OPT, O_LOCATION, K_IDENT_LIST, 0, 0, false},
    {"strategy", "--strategy", SRC_OPT, O_STRATEGY, K_STRATEGY, 0, 0, false},
    {"ttl_ms", "--ttl-ms", SRC_OPT, O_TTL, K_INT, TTL_MIN_MS, TTL_MAX_MS, false},
    PARAMS_END};
static const struct param p_reservation[] = {IDENT("reservation_id", "RESERVATION_ID", 0),
                                             PARAMS_END};
static const struct param p_release[] = {
    IDENT("reservation_id", "RESERVATION_ID", 0),
    {"reason", "--reason", SRC_OPT, O_REASON, K_TEXT, 0, 0, false},
    PARAMS_END};
static const struct param p_extend[] = {
    IDENT("reservation_id", "RESERVATION_ID", 0),
    {"ttl_ms", "TTL_MS", SRC_ARG, 1, K_INT, TTL_MIN_MS, TTL_MAX_MS, false},
    PARAMS_END};
static const struct param p_audit[] = {IDENT("sku", "SKU", 0), PARAMS_END};

static const struct command commands[] = {
    {"ping", NULL, 0, 0, 0, "ping", p_none, show_pong, redis_verdict, NULL, "",
     "check that stockd answers and that Redis is up (redis down: exit 4)"},
    {"stock", "get", 1, 1 + MAX_LOCATIONS, 0, "stock.get", p_stock_get, show_stock, NULL, NULL,
     "SKU [LOCATION...]", "stock levels per location, with totals"},
    {"stock", "set", 3, 3, OPT_BIT(O_SAFETY), "stock.set", p_stock_set, show_row, NULL, NULL,
     "SKU LOCATION ON_HAND [--safety N]", "set the absolute on-hand count (a cycle count)"},
    {"stock", "adjust", 3, 3, OPT_BIT(O_REASON), "stock.adjust", p_stock_adjust, show_row, NULL,
     NULL, "SKU LOCATION DELTA [--reason TEXT]", "add (or, negative, take) units on hand"},
    {"channel", "get", 1, 1, 0, "channel.get", p_channel_get, show_channel, NULL, NULL, "CHANNEL",
     "the locations that serve a sales channel, most preferred first"},
    {"channel", "set", 2, 1 + MAX_LOCATIONS, 0, "channel.set", p_channel_set, show_channel, NULL,
     NULL, "CHANNEL LOCATION...", "set a channel's locations, most preferred first"},
    {"reserve", NULL, 1, -1,
     OPT_BIT(O_ORDER_ID) | OPT_BIT(O_CHANNEL) | OPT_BIT(O_LOCATION) | OPT_BIT(O_STRATEGY) |
         OPT_BIT(O_TTL),
     "reserve", p_reserve, show_reservation, NULL, NULL,
     "[--order-id ID] [--channel C] [--location L...] [--strategy S] [--ttl-ms N] "
     "SKU=QTY...",
     "hold stock for an order, all lines or none"},
    {"commit", NULL, 1, 1, 0, "commit", p_reservation, show_reservation, NULL, NULL,
     "RESERVATION_ID", "the order is final: the held units are sold"},
    {"release", NULL, 1, 1, OPT_BIT(O_REASON), "release", p_release, show_reservation, NULL, NULL,
     "RESERVATION_ID [--reason TEXT]", "give a hold back (a committed order is restocked)"},
    {"extend", NULL, 2, 2, 0, "extend", p_extend, show_reservation, NULL, NULL,
     "RESERVATION_ID TTL_MS", "new deadline for a hold: now + TTL_MS"},
    {"reservation", NULL, 1, 1, 0, "reservation.get", p_reservation, show_reservation, NULL, NULL,
     "RESERVATION_ID", "show a reservation as it is now"},
    {"audit", NULL, 0, 1, 0, "stock.audit", p_audit, show_audit, audit_verdict, NULL, "[SKU]",
     "check reserved counts against live holds (differences: exit 1)"},
    {"import", NULL, 1, 1, OPT_BIT(O_WINDOW), NULL, NULL, NULL, NULL, run_import,
     "FILE.csv [--window N]",
     "stock levels from CSV: sku,location,on_hand[,safety_stock] (\"-\": stdin)"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* --- messages ------------------------------------------------------------ */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr, prefixed with the program's name. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("stockctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void command_name(const struct command *cmd, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", cmd->noun, cmd->verb ? " " : "", cmd->verb ? cmd->verb : "");
}

static void print_command_usage(FILE *f, const struct command *cmd)
{
    char name[64];
    command_name(cmd, name, sizeof name);
    fprintf(f, "usage: stockctl [OPTIONS] %s%s%s\n", name, cmd->usage[0] ? " " : "", cmd->usage);
}

static int usage_fail(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports a usage error, with the command's synopsis when there is one.
 * Returns CTL_EXIT_USAGE so that callers can return it. */
static int usage_fail(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("stockctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (cmd != NULL)
        print_command_usage(stderr, cmd);
    else
        fputs("Try 'stockctl --help'.\n", stderr);
    return CTL_EXIT_USAGE;
}

static void print_help(void)
{
    printf("usage: stockctl [OPTIONS] COMMAND [ARGS...]\n"
           "\n"
           "The operator's client for stockd: stock levels, sales channels,\n"
           "reservations, audits and bulk imports, over stockd's JSON-RPC protocol.\n"
           "\n"
           "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char line[160];
        command_name(&commands[i], line, sizeof line);
        size_t len = strlen(line);
        snprintf(line + len, sizeof line - len, "%s%s", commands[i].usage[0] ? " " : "",
                 commands[i].usage);
        printf("  %s\n      %s\n", line, commands[i].summary);
    }
    printf("\nOptions may come anywhere on the line; \"--\" ends them, so that an argument\n"
           "may begin with \"--\" (reservation ids can: `stockctl commit -- \"$ID\"` is safe\n"
           "in scripts). A flag wins over its environment variable.\n"
           "\nOptions:\n");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            printf("\nCommand options:\n");
        for (int o = 0; o < O_COUNT; o++) {
            if (options[o].global != (pass == 0))
                continue;
            char flag[40];
            snprintf(flag, sizeof flag, "--%s%s%s", options[o].name, options[o].arg ? " " : "",
                     options[o].arg ? options[o].arg : "");
            printf("  %-18s%s\n", flag, options[o].help);
        }
    }
    printf("\nExit codes:\n"
           "  0  success\n"
           "  1  stockd refused the request or the state forbids it (1001-1006,\n"
           "     -32602, ...); audit found differences\n"
           "  2  usage error: bad arguments, or an import file without a valid header\n"
           "  3  cannot connect, connection lost, or no answer within --timeout-ms\n"
           "  4  retryable: Redis unavailable (2001), Redis timeout (2002: outcome\n"
           "     unknown), stockd overloaded (2003), Redis out of memory (2004);\n"
           "     ping: Redis is down\n"
           "  5  import: at least one row was not applied (bad line or refused)\n"
           "\n"
           "Errors go to stderr as \"stockctl: METHOD: error CODE REASON: MESSAGE\".\n");
}

/* --- argument checks ------------------------------------------------------ */

bool parse_int(const char *s, long long min, long long max, long long *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p == '\0')
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    /* Nineteen digits may overflow; stockd's numbers are far below that. */
    if (strlen(p) > 18)
        return false;
    long long v = strtoll(s, NULL, 10);
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool ident_ok(const char *s)
{
    struct ident id;
    return ident_check(s, strlen(s), &id);
}

static int bad_ident(const struct command *cmd, const char *what, const char *s)
{
    return usage_fail(
        cmd, "%s '%s' is not a valid identifier (1 to %d bytes of A-Z a-z 0-9 . _ ~ @ / + = -)",
        what, s, IDENT_MAX);
}

/* A free-text reason: printable UTF-8 of 1..TEXT_MAX bytes, as stockd
 * requires. */
static bool text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return utf8_valid((const unsigned char *)s, n);
}

/* --- building params from the table -------------------------------------- */

/* Starts the next member of the params object that b holds (opened with
 * '{' by build_params). */
static void member(struct buf *b, const char *key)
{
    if (b->len > 1)
        buf_appendc(b, ',');
    json_write_string(b, key, strlen(key));
    buf_appendc(b, ':');
}

static void append_ident_list(struct buf *b, const char *const *v, int n)
{
    buf_appendc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            buf_appendc(b, ',');
        json_write_string(b, v[i], strlen(v[i]));
    }
    buf_appendc(b, ']');
}

/* Checks a list of identifiers: valid, distinct, at most MAX_LOCATIONS. */
static int check_ident_list(const struct command *cmd, const char *what, const char *const *v,
                            int n)
{
    if (n > MAX_LOCATIONS)
        return usage_fail(cmd, "at most %d %s values", MAX_LOCATIONS, what);
    for (int i = 0; i < n; i++) {
        if (!ident_ok(v[i]))
            return bad_ident(cmd, what, v[i]);
        for (int k = 0; k < i; k++)
            if (strcmp(v[k], v[i]) == 0)
                return usage_fail(cmd, "%s '%s' is given twice", what, v[i]);
    }
    return 0;
}

/* Appends the items array from SKU=QTY words (the SKU may itself hold '=',
 * so the quantity is what follows the last one). */
static int append_items(struct buf *b, const struct command *cmd, const struct param *p, char **v,
                        int n)
{
    buf_appendc(b, '[');
    for (int i = 0; i < n; i++) {
        const char *eq = strrchr(v[i], '=');
        long long qty;
        if (eq == NULL || eq == v[i])
            return usage_fail(cmd, "'%s' is not SKU=QTY", v[i]);
        if (!parse_int(eq + 1, p->min, p->max, &qty))
            return usage_fail(cmd, "quantity in '%s' must be a whole number from %lld to %lld",
                              v[i], p->min, p->max);
        size_t sku_n = (size_t)(eq - v[i]);
        struct ident id;
        if (!ident_check(v[i], sku_n, &id))
            return usage_fail(cmd, "SKU in '%s' is not a valid identifier", v[i]);
        for (int k = 0; k < i; k++)
            if (strncmp(v[k], v[i], sku_n) == 0 && v[k][sku_n] == '=' &&
                strrchr(v[k], '=') == v[k] + sku_n)
                return usage_fail(cmd, "SKU '%.*s' is given twice", (int)sku_n, v[i]);
        buf_appends(b, i > 0 ? ",{\"sku\":" : "{\"sku\":");
        json_write_string(b, v[i], sku_n);
        buf_appends(b, ",\"quantity\":");
        buf_append_int(b, qty);
        buf_appendc(b, '}');
    }
    buf_appendc(b, ']');
    return 0;
}

/* Appends one param to the params object when its value is present.
 * Returns 0, or CTL_EXIT_USAGE after saying what is wrong. */
static int build_param(struct buf *b, const struct command *cmd, const struct param *p,
                       const struct cli *cli, char **args, int n)
{
    const char *value = NULL;
    char **rest = NULL;
    int n_rest = 0;
    if (p->src == SRC_ARG && p->at < n)
        value = args[p->at];
    else if (p->src == SRC_REST && p->at < n) {
        rest = args + p->at;
        n_rest = n - p->at;
    } else if (p->src == SRC_OPT && p->at == O_LOCATION) {
        rest = (char **)cli->locations;
        n_rest = (int)cli->n_locations;
    } else if (p->src == SRC_OPT)
        value = cli->val[p->at];
    if (value == NULL && n_rest == 0)
        return 0;

    long long num;
    switch (p->kind) {
    case K_IDENT:
        if (!ident_ok(value))
            return bad_ident(cmd, p->what, value);
        member(b, p->key);
        json_write_string(b, value, strlen(value));
        return 0;
    case K_INT:
        if (!parse_int(value, p->min, p->max, &num) || (p->nonzero && num == 0))
            return usage_fail(cmd, "%s '%s' must be a %swhole number from %lld to %lld", p->what,
                              value, p->nonzero ? "non-zero " : "", p->min, p->max);
        member(b, p->key);
        buf_append_int(b, num);
        return 0;
    case K_TEXT:
        if (!text_ok(value))
            return usage_fail(cmd, "%s must be 1 to %d bytes of printable UTF-8", p->what,
                              TEXT_MAX);
        member(b, p->key);
        json_write_string(b, value, strlen(value));
        return 0;
    case K_STRATEGY:
        for (int s = STRATEGY_AUTO; s <= STRATEGY_SPLIT; s++)
            if (strcmp(value, strategy_name((enum strategy)s)) == 0) {
                member(b, p->key);
                json_write_string(b, value, strlen(value));
                return 0;
            }
        return usage_fail(cmd, "%s must be one of auto, single, per_line, split", p->what);
    case K_IDENT_LIST: {
        int rc = check_ident_list(cmd, p->what, (const char *const *)rest, n_rest);
        if (rc != 0)
            return rc;
        member(b, p->key);
        append_ident_list(b, (const char *const *)rest, n_rest);
        return 0;
    }
    case K_ITEMS:
        member(b, p->key);
        return append_items(b, cmd, p, rest, n_rest);
    }
    return 0;
}

/* Builds the whole params object of a table command into b. */
static int build_params(struct buf *b, const struct command *cmd, const struct cli *cli,
                        char **args, int n)
{
    buf_appendc(b, '{');
    for (const struct param *p = cmd->params; p->key != NULL; p++) {
        int rc = build_param(b, cmd, p, cli, args, n);
        if (rc != 0)
            return rc;
    }
    buf_appendc(b, '}');
    return 0;
}

/* --- the session -------------------------------------------------------- */

/* Sends one request and reads its answer into resp. Returns CTL_EXIT_OK
 * (resp holds a result or an error), or the exit code after saying why
 * (resp then holds nothing). */
static int ctl_call(struct ctl *ctl, const char *method, const struct buf *params,
                    struct response *resp)
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
    return ctl_exit_for_code(r->code);
}

/* Connects, calls the command's method and shows the answer. */
static int call_and_show(struct ctl *ctl, const struct command *cmd, const struct buf *params)
{
    int rc = ctl_connect(ctl);
    if (rc != CTL_EXIT_OK)
        return rc;
    struct response resp;
    rc = ctl_call(ctl, cmd->method, params, &resp);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (resp.error != NULL)
        rc = ctl_report_error(ctl, cmd->method, &resp);
    else {
        if (ctl->json)
            printf("%s\n", resp.raw);
        else
            cmd->show(resp.result);
        /* Some answers are an exit status of their own (ping: Redis down;
         * audit: differences), for scripts that ask for JSON too. */
        rc = cmd->verdict != NULL ? cmd->verdict(resp.result) : CTL_EXIT_OK;
    }
    response_free(&resp);
    return rc;
}

/* --- human output -------------------------------------------------------- */

/* A text table: cells are collected first so that every column gets the
 * width of its widest cell. */
struct table {
    unsigned ncols;
    unsigned right; /* bit i: column i holds numbers, aligned right */
    char **cells;   /* owned, with owned strings: ncols per row, the heading first */
    size_t n, cap;
};

static void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_cell(struct table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xmalloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->cells = xrealloc(t->cells, t->cap * sizeof *t->cells);
    }
    t->cells[t->n++] = s;
}

static void table_init(struct table *t, unsigned ncols, unsigned right, const char *const *heads)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->right = right;
    for (unsigned i = 0; i < ncols; i++)
        table_cell(t, "%s", heads[i]);
}

/* Prints the table on stdout (two spaces between columns, no trailing
 * blanks) and frees it. A short last row leaves its last cells empty. */
static void table_flush(struct table *t)
{
    size_t width[8] = {0}; /* the widest table here has 6 columns */
    for (size_t i = 0; i < t->n; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > width[i % t->ncols])
            width[i % t->ncols] = len;
    }
    for (size_t row = 0; row * t->ncols < t->n; row++) {
        struct buf line;
        buf_init(&line);
        for (unsigned c = 0; c < t->ncols && row * t->ncols + c < t->n; c++) {
            const char *s = t->cells[row * t->ncols + c];
            size_t pad = width[c] - strlen(s);
            if (c > 0)
                buf_appends(&line, "  ");
            bool right = (t->right >> c) & 1u;
            for (size_t k = 0; right && k < pad; k++)
                buf_appendc(&line, ' ');
            buf_appends(&line, s);
            for (size_t k = 0; !right && k < pad; k++)
                buf_appendc(&line, ' ');
        }
        while (line.len > 0 && line.data[line.len - 1] == ' ')
            line.len--;
        printf("%s\n", buf_cstr(&line));
        buf_free(&line);
    }
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* Milliseconds since the epoch as ISO-8601 UTC, e.g. 2026-11-27T10:00:53.923Z. */
static void iso_time(long long ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || gmtime_r(&s, &tm) == NULL) {
        snprintf(out, n, "-");
        return;
    }
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03lldZ", date, ms % 1000);
}

static void show_pong(const cJSON *result)
{
    const char *redis = str_of(result, "redis");
    printf("pong: redis %s\n", redis ? redis : "?");
}

static int redis_verdict(const cJSON *result)
{
    const char *redis = str_of(result, "redis");
    return redis && strcmp(redis, "up") == 0 ? CTL_EXIT_OK : CTL_EXIT_RETRYABLE;
}

static const char *const row_heads[] = {"SKU",      "LOCATION",  "ON_HAND",
                                        "RESERVED", "AVAILABLE", "SAFETY"};
#define ROW_NUMBERS 0x3cu /* ON_HAND .. SAFETY */

static void row_cells(struct table *t, const cJSON *row, bool with_sku)
{
    if (with_sku)
        table_cell(t, "%s", str_of(row, "sku") ? str_of(row, "sku") : "");
    table_cell(t, "%s", str_of(row, "location") ? str_of(row, "location") : "");
    table_cell(t, "%lld", num_of(row, "on_hand"));
    table_cell(t, "%lld", num_of(row, "reserved"));
    table_cell(t, "%lld", num_of(row, "available"));
    table_cell(t, "%lld", num_of(row, "safety_stock"));
}

static void show_row(const cJSON *result)
{
    struct table t;
    table_init(&t, 6, ROW_NUMBERS, row_heads);
    row_cells(&t, result, true);
    table_flush(&t);
}

static void show_stock(const cJSON *result)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(result, "locations");
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(result, "totals");
    const char *sku = str_of(result, "sku");
    if (cJSON_GetArraySize(rows) == 0) {
        printf("sku %s: no stock recorded\n", sku ? sku : "?");
        return;
    }
    printf("sku %s\n", sku ? sku : "?");
    struct table t;
    table_init(&t, 5, ROW_NUMBERS >> 1, row_heads + 1);
    for (const cJSON *row = rows->child; row != NULL; row = row->next)
        row_cells(&t, row, false);
    /* Parentheses cannot occur in a location name, so the totals line
     * cannot be mistaken for a location. */
    table_cell(&t, "(total)");
    table_cell(&t, "%lld", num_of(totals, "on_hand"));
    table_cell(&t, "%lld", num_of(totals, "reserved"));
    table_cell(&t, "%lld", num_of(totals, "available"));
    table_flush(&t);
}

static void show_channel(const cJSON *result)
{
    const char *channel = str_of(result, "channel");
    printf("channel %s\n", channel ? channel : "?");
    struct table t;
    table_init(&t, 2, 0x1u, (const char *const[]){"#", "LOCATION"});
    int i = 1;
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(result, "locations");
    for (const cJSON *l = locs ? locs->child : NULL; l != NULL; l = l->next, i++) {
        table_cell(&t, "%d", i);
        table_cell(&t, "%s", cJSON_IsString(l) ? l->valuestring : "?");
    }
    table_flush(&t);
}

static void show_reservation(const cJSON *result)
{
    char created[40], expires[40];
    iso_time(num_of(result, "created_at"), created, sizeof created);
    iso_time(num_of(result, "expires_at"), expires, sizeof expires);
    const char *order = str_of(result, "order_id");
    const char *reason = str_of(result, "reason");
    const cJSON *replayed = cJSON_GetObjectItemCaseSensitive(result, "replayed");
    printf("reservation  %s\n",
           str_of(result, "reservation_id") ? str_of(result, "reservation_id") : "?");
    printf("status       %s\n", str_of(result, "status") ? str_of(result, "status") : "?");
    printf("order        %s\n", order ? order : "-");
    printf("created      %s\n", created);
    printf("expires      %s\n", expires);
    if (reason != NULL)
        printf("reason       %s\n", reason);
    if (cJSON_IsBool(replayed))
        printf("replayed     %s\n", cJSON_IsTrue(replayed) ? "yes (the hold made earlier)" : "no");
    printf("\n");
    struct table t;
    table_init(&t, 3, 0x4u, (const char *const[]){"SKU", "LOCATION", "QUANTITY"});
    const cJSON *allocs = cJSON_GetObjectItemCaseSensitive(result, "allocations");
    for (const cJSON *a = allocs ? allocs->child : NULL; a != NULL; a = a->next) {
        table_cell(&t, "%s", str_of(a, "sku") ? str_of(a, "sku") : "?");
        table_cell(&t, "%s", str_of(a, "location") ? str_of(a, "location") : "?");
        table_cell(&t, "%lld", num_of(a, "quantity"));
    }
    table_flush(&t);
}

static void show_audit(const cJSON *result)
{
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok"));
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(result, "differences");
    const cJSON *stale = cJSON_GetObjectItemCaseSensitive(result, "stale_index");
    printf("audit %s: %lld skus checked, %lld live holds, %d differences, %d stale index entries\n",
           ok ? "ok" : "FAILED", num_of(result, "skus_checked"), num_of(result, "holds"),
           cJSON_GetArraySize(diffs), cJSON_GetArraySize(stale));
    if (cJSON_GetArraySize(diffs) > 0) {
        struct table t;
        printf("\n");
        table_init(&t, 4, 0xcu, (const char *const[]){"SKU", "LOCATION", "RESERVED", "EXPECTED"});
        for (const cJSON *d = diffs->child; d != NULL; d = d->next) {
            table_cell(&t, "%s", str_of(d, "sku") ? str_of(d, "sku") : "?");
            table_cell(&t, "%s", str_of(d, "location") ? str_of(d, "location") : "?");
            table_cell(&t, "%lld", num_of(d, "reserved"));
            table_cell(&t, "%lld", num_of(d, "expected"));
        }
        table_flush(&t);
    }
    if (cJSON_GetArraySize(stale) > 0) {
        struct table t;
        printf("\n");
        table_init(&t, 2, 0, (const char *const[]){"STALE_RESERVATION", "STATUS"});
        for (const cJSON *s = stale->child; s != NULL; s = s->next) {
            table_cell(&t, "%s", str_of(s, "reservation_id") ? str_of(s, "reservation_id") : "?");
            table_cell(&t, "%s", str_of(s, "status") ? str_of(s, "status") : "?");
        }
        table_flush(&t);
    }
}

static int audit_verdict(const cJSON *result)
{
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok"));
    return ok ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
}

static int run_import(struct ctl *ctl, const struct command *cmd, const struct cli *cli,
                      char **args, int n)
{
    (void)n;
    long long window = DEFAULT_WINDOW;
    if (cli->val[O_WINDOW] != NULL && !parse_int(cli->val[O_WINDOW], 1, 65536, &window))
        return usage_fail(cmd, "--window must be a whole number from 1 to 65536");
    return import_run(ctl, args[0], (int)window);
}

/* --- the command line --------------------------------------------------- */

/* Splits argv into options and positional arguments. Options are long
 * (--name, --name=value) and may come anywhere; "--" ends them. A word with
 * one leading '-' is an argument (a negative DELTA, "-" for stdin, an
 * identifier: reservation ids may begin with '-'), except -h. An argument
 * that begins with "--" must follow "--". Returns 0 or CTL_EXIT_USAGE. */
static int cli_parse(struct cli *cli, int argc, char **argv)
{
    memset(cli, 0, sizeof *cli);
    cli->pos = xcalloc((size_t)argc + 1, sizeof *cli->pos);
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (options_done || a[0] != '-' || (a[1] != '-' && strcmp(a, "-h") != 0)) {
            cli->pos[cli->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            cli->set[O_HELP] = true;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t name_n = eq ? (size_t)(eq - name) : strlen(name);
        int o = 0;
        while (o < O_COUNT &&
               !(strlen(options[o].name) == name_n && memcmp(options[o].name, name, name_n) == 0))
            o++;
        if (o == O_COUNT)
            return usage_fail(NULL,
                              "unknown option '%.*s' (an argument that begins with \"--\" "
                              "goes after a \"--\")",
                              (int)name_n + 2, a);
        const char *value = NULL;
        if (options[o].arg != NULL) {
            if (eq != NULL)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return usage_fail(NULL, "option --%s needs a value (%s)", options[o].name,
                                  options[o].arg);
        } else if (eq != NULL)
            return usage_fail(NULL, "option --%s takes no value", options[o].name);
        cli->set[o] = true;
        cli->val[o] = value;
        if (o == O_LOCATION) {
            if (cli->n_locations == MAX_LOCATIONS)
                return usage_fail(NULL, "at most %d --location options", MAX_LOCATIONS);
            cli->locations[cli->n_locations++] = value;
        }
    }
    return 0;
}

/* Finds the command named by the first one or two positional arguments. */
static const struct command *command_find(const struct cli *cli, int *words)
{
    if (cli->n_pos == 0)
        return NULL;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct command *c = &commands[i];
        if (strcmp(c->noun, cli->pos[0]) != 0)
            continue;
        if (c->verb == NULL) {
            *words = 1;
            return c;
        }
        if (cli->n_pos > 1 && strcmp(c->verb, cli->pos[1]) == 0) {
            *words = 2;
            return c;
        }
    }
    return NULL;
}

static int unknown_command(const struct cli *cli)
{
    struct buf verbs;
    buf_init(&verbs);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].verb != NULL && strcmp(commands[i].noun, cli->pos[0]) == 0) {
            buf_appends(&verbs, verbs.len ? ", " : "");
            buf_appends(&verbs, commands[i].verb);
        }
    int rc;
    if (verbs.len > 0)
        rc = usage_fail(NULL, "'%s' needs one of: %s", cli->pos[0], buf_cstr(&verbs));
    else
        rc = usage_fail(NULL, "unknown command '%s'", cli->pos[0]);
    buf_free(&verbs);
    return rc;
}

/* A setting: the flag when given, else the environment variable when set
 * and not empty, else the default. */
static const char *setting(const char *flag, const char *env_name, const char *dflt)
{
    const char *env = getenv(env_name);
    return flag != NULL ? flag : env != NULL && *env != '\0' ? env : dflt;
}

/* The session's settings from options, then the environment, then defaults. */
static int settings(struct ctl *ctl, const struct cli *cli)
{
    ctl->host = setting(cli->val[O_HOST], "STOCKCTL_HOST", DEFAULT_HOST);
    ctl->port = setting(cli->val[O_PORT], "STOCKCTL_PORT", DEFAULT_PORT);
    ctl->token = setting(cli->val[O_TOKEN], "STOCKD_AUTH_TOKEN", NULL);
    const char *timeout = setting(cli->val[O_TIMEOUT], "STOCKCTL_TIMEOUT_MS", NULL);
    ctl->json = cli->set[O_JSON];
    long long v;
    if (!parse_int(ctl->port, 1, 65535, &v))
        return usage_fail(NULL, "port '%s' must be a number from 1 to 65535", ctl->port);
    ctl->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (timeout != NULL) {
        if (!parse_int(timeout, 1, 3600000, &v))
            return usage_fail(NULL, "timeout '%s' must be 1 to 3600000 ms", timeout);
        ctl->timeout_ms = (int)v;
    }
    if (ctl->token != NULL && (strlen(ctl->token) == 0 || strlen(ctl->token) > TOKEN_MAX))
        return usage_fail(NULL, "the token must be 1 to %d bytes", TOKEN_MAX);
    return 0;
}

static int run(struct ctl *ctl, const struct cli *cli)
{
    if (cli->set[O_VERSION]) {
        printf("stockctl %s\n", STOCKD_VERSION);
        return CTL_EXIT_OK;
    }
    int words = 0;
    const struct command *cmd = command_find(cli, &words);
    if (cmd == NULL && cli->n_pos == 0) {
        if (cli->set[O_HELP]) {
            print_help();
            return CTL_EXIT_OK;
        }
        return usage_fail(NULL, "no command given");
    }
    if (cmd == NULL)
        return unknown_command(cli);
    if (cli->set[O_HELP]) {
        print_command_usage(stdout, cmd);
        printf("  %s\n", cmd->summary);
        return CTL_EXIT_OK;
    }
    for (int o = 0; o < O_COUNT; o++)
        if (cli->set[o] && !options[o].global && !(cmd->opts & OPT_BIT(o)))
            return usage_fail(cmd, "option --%s does not apply here", options[o].name);
    char **args = cli->pos + words;
    int n = cli->n_pos - words;
    if (n < cmd->min_args)
        return usage_fail(cmd, "too few arguments");
    if (cmd->max_args >= 0 && n > cmd->max_args)
        return usage_fail(cmd, "too many arguments");
    int rc = settings(ctl, cli);
    if (rc != 0)
        return rc;
    if (cmd->run != NULL)
        return cmd->run(ctl, cmd, cli, args, n);
    struct buf params;
    buf_init(&params);
    rc = build_params(&params, cmd, cli, args, n);
    if (rc == 0)
        rc = call_and_show(ctl, cmd, &params);
    buf_free(&params);
    return rc;
}

int main(int argc, char **argv)
{
    struct cli cli;
    struct ctl ctl = {.conn = {.fd = -1}};
    int rc = cli_parse(&cli, argc, argv);
    if (rc == 0)
        rc = run(&ctl, &cli);
    conn_close(&ctl.conn);
    free(cli.pos);
    return rc;
}
