/* stockctl: the operator's command-line client for stockd. Every command is
 * one row of the command table below: its words, how many arguments it
 * takes, which options apply, the method it calls, a declarative list of
 * how arguments become params (params.c checks them first, so that a typo
 * is a usage error and not a round trip), and how the result is shown
 * (show.c). The CSV import (import.c) and the live view (top.c) are the
 * commands with their own handlers. This file also reads the command line;
 * session.c holds the session with stockd. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "ident.h"
#include "jsonstr.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT "7400"
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_WINDOW 512

/* --- options ---------------------------------------------------------- */

struct option_def {
    const char *name; /* without the leading "--" */
    const char *arg;  /* the value's name in help, NULL for a switch */
    bool global;      /* applies to every command */
    unsigned repeat;  /* 0: the last value wins; else how many values may be given */
    uint64_t needs;   /* OPT_BIT of the options that must be given with this one */
    const char *help; /* a command option's help is prefixed with its commands */
};

static const struct option_def options[O_COUNT] = {
    [O_HOST] = {"host", "HOST", true, 0, 0,
                "stockd's host (env STOCKCTL_HOST; default " DEFAULT_HOST ")"},
    [O_PORT] = {"port", "PORT", true, 0, 0,
                "stockd's port (env STOCKCTL_PORT; default " DEFAULT_PORT ")"},
    [O_TOKEN] = {"token", "TOKEN", true, 0, 0, "authenticate first (env STOCKD_AUTH_TOKEN)"},
    [O_TENANT_TOKEN] = {"tenant-token", "TOKEN", true, 0, 0,
                        "authenticate first as the tenant whose token this is,\n"
                        "                    with stockd --tenants-file (env "
                        "STOCKCTL_TENANT_TOKEN)"},
    [O_TIMEOUT] = {"timeout-ms", "N", true, 0, 0,
                   "connect and answer timeout (env STOCKCTL_TIMEOUT_MS; default 5000)"},
    [O_JSON] = {"json", NULL, true, 0, 0,
                "print the result object exactly as stockd sent it, on one line\n"
                "                    (an error: the error object on stderr)"},
    [O_HELP] = {"help", NULL, true, 0, 0,
                "this text (also -h); `stockctl COMMAND --help`: one command"},
    [O_VERSION] = {"version", NULL, true, 0, 0, "print the version"},
    [O_SAFETY] = {"safety", "N", false, 0, 0, "safety stock kept back from available"},
    [O_BACKORDER_LIMIT] = {"backorder-limit", "N", false, 0, 0,
                           "units that may be promised beyond stock\n"
                           "                    (0..1000000000; kept when not given)"},
    [O_LOW_STOCK] = {"low-stock-threshold", "N|none", false, 0, 0,
                     "available at or below N is low stock; none:\n"
                     "                    no threshold (kept when not given)"},
    [O_REASON] = {"reason", "TEXT", false, 0, 0, "why (printable, 1..256 bytes)"},
    [O_ORDER_ID] = {"order-id", "ID", false, 0, 0, "idempotency key (a retry returns the hold)"},
    [O_CHANNEL] = {"channel", "C", false, 0, 0, "sales channel (stockd's default: default)"},
    [O_LOCATION] = {"location", "L", false, MAX_LOCATIONS, 0,
                    "allowed location, in order; repeatable"},
    [O_STRATEGY] = {"strategy", "S", false, 0, 0, "auto, single, per_line or split"},
    [O_TTL] = {"ttl-ms", "N", false, 0, 0, "hold deadline, 1000..86400000 ms"},
    [O_SHIP_TO] = {"ship-to", "LAT,LNG[,ZONE]", false, 0, 0,
                   "where the order ships to, for the channel's rules\n"
                   "                    (LAT -90..90, LNG -180..180, ZONE an identifier)"},
    [O_MAX_DISTANCE] = {"max-distance-km", "N", false, 0, OPT_BIT(O_SHIP_TO),
                        "only locations within N km of --ship-to (N > 0)"},
    [O_EXPLAIN] = {"explain", NULL, false, 0, 0,
                   "also show how the candidate locations were ranked"},
    [O_ALLOW_BACKORDER] = {"allow-backorder", NULL, false, 0, 0,
                           "take units beyond stock, up to each location's\n"
                           "                    backorder limit"},
    [O_ALLOW_PARTIAL] = {"allow-partial", NULL, false, 0, 0,
                         "hold what there is when the order cannot be filled\n"
                         "                    in full (the lines short are listed)"},
    [O_QUANTITY] = {"quantity", "N", false, 0, 0,
                    "units to move, 1..1000000000 (default: all\n"
                    "                    the line holds at FROM)"},
    [O_LAT] = {"lat", "N", false, 0, OPT_BIT(O_LNG), "latitude, -90..90 (with --lng)"},
    [O_LNG] = {"lng", "N", false, 0, OPT_BIT(O_LAT), "longitude, -180..180 (with --lat)"},
    [O_ZONE] = {"zone", "Z", false, 0, 0, "zone (a region, country or delivery zone)"},
    [O_PRIORITY] = {"priority", "N", false, 0, 0, "-1000..1000, higher preferred (default 0)"},
    [O_TAG] = {"tag", "T", false, MAX_TAGS, 0, "a tag; repeatable, up to 16"},
    [O_RULES] = {"rules", "R,...", false, 0, 0,
                 "ranking rules, first rule first (R: same_zone,\n"
                 "                    nearest, priority, channel_order; default channel_order)"},
    [O_WINDOW] = {"window", "N", false, 0, 0,
                  "requests in flight (default 512; keep it within\n"
                  "                    stockd's --max-pipeline, 1024 by default)"},
    [O_HTTP] = {"http", "HOST:PORT", false, 0, 0,
                "stockd's --http listener (env STOCKCTL_HTTP;\n"
                "                    default 127.0.0.1:9400)"},
    [O_INTERVAL] = {"interval-ms", "N", false, 0, 0,
                    "redraw every N ms, 100..3600000 (default 1000)"},
    [O_ONCE] = {"once", NULL, false, 0, 0, "print one frame as plain text and exit (for scripts)"},
};

/* --- the command table ---------------------------------------------------- */

static int run_import(struct ctl *ctl, const struct command *cmd, const struct cli *cli,
                      char **args, int n);

/* Shorthands for the param lists below. */
/* clang-format off */
#define IDENT(key, what, i) {key, what, SRC_ARG, i, K_IDENT, 0, 0, false}
#define OPT(key, what, o, kind) {key, what, SRC_OPT, o, kind, 0, 0, false}
#define STOCK_NUM(key, what, src, i, min, nz) {key, what, src, i, K_INT, min, STOCK_MAX, nz}
#define PARAMS_END {.key = NULL}
/* clang-format on */

/* stock.set's backorder_limit (the low-stock threshold goes up to
 * STOCK_MAX, like the counts it is compared with). */
#define BACKORDER_LIMIT_MAX_CTL 1000000000LL

static const struct param p_none[] = {PARAMS_END};
static const struct param p_stock_get[] = {
    IDENT("sku", "SKU", 0),
    {"locations", "LOCATION", SRC_REST, 1, K_IDENT_LIST, 0, MAX_LOCATIONS, false},
    PARAMS_END};
static const struct param p_stock_set[] = {
    IDENT("sku", "SKU", 0),
    IDENT("location", "LOCATION", 1),
    STOCK_NUM("on_hand", "ON_HAND", SRC_ARG, 2, 0, false),
    STOCK_NUM("safety_stock", "--safety", SRC_OPT, O_SAFETY, 0, false),
    {"backorder_limit", "--backorder-limit", SRC_OPT, O_BACKORDER_LIMIT, K_INT, 0,
     BACKORDER_LIMIT_MAX_CTL, false},
    {"low_stock_threshold", "--low-stock-threshold", SRC_OPT, O_LOW_STOCK, K_INT_OR_NONE, 0,
     STOCK_MAX, false},
    PARAMS_END};
static const struct param p_stock_adjust[] = {
    IDENT("sku", "SKU", 0), IDENT("location", "LOCATION", 1),
    STOCK_NUM("delta", "DELTA", SRC_ARG, 2, -STOCK_MAX, true),
    OPT("reason", "--reason", O_REASON, K_TEXT), PARAMS_END};
static const struct param p_channel_get[] = {IDENT("channel", "CHANNEL", 0), PARAMS_END};
static const struct param p_channel_set[] = {
    IDENT("channel", "CHANNEL", 0),
    {"locations", "LOCATION", SRC_REST, 1, K_IDENT_LIST, 0, MAX_LOCATIONS, false},
    OPT("rules", "--rules", O_RULES, K_RULES),
    PARAMS_END};
static const struct param p_location_get[] = {IDENT("location", "LOCATION", 0), PARAMS_END};
static const struct param p_location_set[] = {
    IDENT("location", "LOCATION", 0),
    {"lat", "--lat", SRC_OPT, O_LAT, K_NUMBER, -90, 90, false},
    {"lng", "--lng", SRC_OPT, O_LNG, K_NUMBER, -180, 180, false},
    OPT("zone", "--zone", O_ZONE, K_IDENT),
    {"priority", "--priority", SRC_OPT, O_PRIORITY, K_INT, -PRIORITY_MAX, PRIORITY_MAX, false},
    {"tags", "--tag", SRC_OPT, O_TAG, K_IDENT_LIST, 0, MAX_TAGS, false},
    PARAMS_END};
static const struct param p_reserve[] = {
    OPT("order_id", "--order-id", O_ORDER_ID, K_IDENT),
    {"items", "SKU=QTY", SRC_REST, 0, K_ITEMS, 1, QTY_MAX, false},
    OPT("channel", "--channel", O_CHANNEL, K_IDENT),
    {"locations", "--location", SRC_OPT, O_LOCATION, K_IDENT_LIST, 0, MAX_LOCATIONS, false},
    OPT("strategy", "--strategy", O_STRATEGY, K_STRATEGY),
    {"ttl_ms", "--ttl-ms", SRC_OPT, O_TTL, K_INT, TTL_MIN_MS, TTL_MAX_MS, false},
    OPT("destination", "--ship-to", O_SHIP_TO, K_DESTINATION),
    {"max_distance_km", "--max-distance-km", SRC_OPT, O_MAX_DISTANCE, K_NUMBER, 0, NO_MAX, true},
    OPT("explain", "--explain", O_EXPLAIN, K_FLAG),
    OPT("allow_backorder", "--allow-backorder", O_ALLOW_BACKORDER, K_FLAG),
    OPT("allow_partial", "--allow-partial", O_ALLOW_PARTIAL, K_FLAG),
    PARAMS_END};
static const struct param p_update[] = {
    IDENT("reservation_id", "RESERVATION_ID", 0),
    {"items", "SKU=QTY", SRC_REST, 1, K_ITEMS, 0, QTY_MAX, false},
    PARAMS_END};
static const struct param p_transfer[] = {
    IDENT("reservation_id", "RESERVATION_ID", 0),
    IDENT("sku", "SKU", 1),
    IDENT("from", "FROM", 2),
    {"to", "TO", SRC_ARG, 3, K_IDENT_OTHER, 0, 0, false},
    {"quantity", "--quantity", SRC_OPT, O_QUANTITY, K_INT, 1, QTY_MAX, false},
    PARAMS_END};
static const struct param p_reservation[] = {IDENT("reservation_id", "RESERVATION_ID", 0),
                                             PARAMS_END};
static const struct param p_release[] = {IDENT("reservation_id", "RESERVATION_ID", 0),
                                         OPT("reason", "--reason", O_REASON, K_TEXT), PARAMS_END};
static const struct param p_extend[] = {
    IDENT("reservation_id", "RESERVATION_ID", 0),
    {"ttl_ms", "TTL_MS", SRC_ARG, 1, K_INT, TTL_MIN_MS, TTL_MAX_MS, false},
    PARAMS_END};
static const struct param p_audit[] = {IDENT("sku", "SKU", 0), PARAMS_END};

#define RESERVE_OPTS                                                                               \
    (OPT_BIT(O_ORDER_ID) | OPT_BIT(O_CHANNEL) | OPT_BIT(O_LOCATION) | OPT_BIT(O_STRATEGY) |        \
     OPT_BIT(O_TTL) | OPT_BIT(O_SHIP_TO) | OPT_BIT(O_MAX_DISTANCE) | OPT_BIT(O_EXPLAIN) |          \
     OPT_BIT(O_ALLOW_BACKORDER) | OPT_BIT(O_ALLOW_PARTIAL))
#define LOCATION_OPTS                                                                              \
    (OPT_BIT(O_LAT) | OPT_BIT(O_LNG) | OPT_BIT(O_ZONE) | OPT_BIT(O_PRIORITY) | OPT_BIT(O_TAG))

static const struct command commands[] = {
    {"ping", NULL, 0, 0, 0, "ping", p_none, show_pong, redis_verdict, NULL, "",
     "check that stockd answers and that Redis is up (redis down: exit 4)"},
    {"stock", "get", 1, 1 + MAX_LOCATIONS, 0, "stock.get", p_stock_get, show_stock, NULL, NULL,
     "SKU [LOCATION...]", "stock levels per location, with totals"},
    {"stock", "set", 3, 3, OPT_BIT(O_SAFETY) | OPT_BIT(O_BACKORDER_LIMIT) | OPT_BIT(O_LOW_STOCK),
     "stock.set", p_stock_set, show_row, NULL, NULL,
     "SKU LOCATION ON_HAND [--safety N] [--backorder-limit N] [--low-stock-threshold N|none]",
     "set the absolute on-hand count (a cycle count)"},
    {"stock", "adjust", 3, 3, OPT_BIT(O_REASON), "stock.adjust", p_stock_adjust, show_row, NULL,
     NULL, "SKU LOCATION DELTA [--reason TEXT]", "add (or, negative, take) units on hand"},
    {"location", "set", 1, 1, LOCATION_OPTS, "location.set", p_location_set, show_location, NULL,
     NULL, "LOCATION [--lat N --lng N] [--zone Z] [--priority N] [--tag T...]",
     "record where a location is and how it ranks (replaces its whole record)"},
    {"location", "get", 1, 1, 0, "location.get", p_location_get, show_location, NULL, NULL,
     "LOCATION", "a location's coordinates, zone, priority and tags"},
    {"location", "list", 0, 0, 0, "location.list", p_none, show_locations, NULL, NULL, "",
     "every location with a record, by name"},
    {"channel", "get", 1, 1, 0, "channel.get", p_channel_get, show_channel, NULL, NULL, "CHANNEL",
     "the locations that serve a sales channel, and its ranking rules"},
    {"channel", "set", 2, 1 + MAX_LOCATIONS, OPT_BIT(O_RULES), "channel.set", p_channel_set,
     show_channel, NULL, NULL, "CHANNEL LOCATION... [--rules R,...]",
     "set a channel's locations (channel order) and how to rank them"},
    {"reserve", NULL, 1, -1, RESERVE_OPTS, "reserve", p_reserve, show_reservation, NULL, NULL,
     "[--order-id ID] [--channel C] [--location L...] [--strategy S] [--ttl-ms N] "
     "[--ship-to LAT,LNG[,ZONE]] [--max-distance-km N] [--explain] [--allow-backorder] "
     "[--allow-partial] SKU=QTY...",
     "hold stock for an order, all lines or none (unless --allow-partial)"},
    {"update", NULL, 2, -1, 0, "reservation.update", p_update, show_reservation, NULL, NULL,
     "RESERVATION_ID SKU=QTY...",
     "new quantities for a hold's lines (0 drops a line; lines not named stay)"},
    {"transfer", NULL, 4, 4, OPT_BIT(O_QUANTITY), "reservation.transfer", p_transfer,
     show_reservation, NULL, NULL, "RESERVATION_ID SKU FROM TO [--quantity N]",
     "move a line's held units from one location to another"},
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
    {"top", NULL, 0, 0, OPT_BIT(O_HTTP) | OPT_BIT(O_INTERVAL) | OPT_BIT(O_ONCE), NULL, NULL, NULL,
     NULL, top_run, "[--http HOST:PORT] [--interval-ms N] [--once]",
     "live view of stockd: rates, errors, latency, Redis, holds (q quits)"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* --- messages ------------------------------------------------------------ */

void say(const char *fmt, ...)
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

int usage_fail(const struct command *cmd, const char *fmt, ...)
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

/* One option's help line: the flag in an 18-column field (a longer flag
 * gets a line of its own), then, when with_commands, the commands it
 * applies to as the table says, then its help. */
static void print_option(int o, bool with_commands)
{
    char flag[40];
    snprintf(flag, sizeof flag, "--%s%s%s", options[o].name, options[o].arg ? " " : "",
             options[o].arg ? options[o].arg : "");
    if (strlen(flag) < 18)
        printf("  %-18s", flag);
    else
        printf("  %s\n%20s", flag, "");
    for (size_t i = 0, n = 0; with_commands && i < N_COMMANDS; i++)
        if (commands[i].opts & OPT_BIT(o)) {
            char name[64];
            command_name(&commands[i], name, sizeof name);
            printf("%s%s", n++ ? ", " : "", name);
        }
    printf("%s%s\n", with_commands && !options[o].global ? ": " : "", options[o].help);
}

static void print_help(void)
{
    printf("usage: stockctl [OPTIONS] COMMAND [ARGS...]\n"
           "\n"
           "The operator's client for stockd: stock levels, locations, sales channels\n"
           "and their routing rules, reservations, audits and bulk imports, over\n"
           "stockd's JSON-RPC protocol.\n"
           "\n"
           "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char name[64];
        command_name(&commands[i], name, sizeof name);
        printf("  %s", name);
        /* A long synopsis wraps between words (an option in brackets is one
         * word), under the command's name. */
        size_t col = 2 + strlen(name);
        for (const char *w = commands[i].usage; *w != '\0';) {
            size_t len = 0;
            for (int depth = 0; w[len] != '\0' && (w[len] != ' ' || depth > 0); len++)
                depth += (w[len] == '[') - (w[len] == ']');
            if (col + 1 + len > 79) {
                printf("\n%*s", (int)(3 + strlen(name)), "");
                col = 3 + strlen(name);
            } else {
                putchar(' ');
                col++;
            }
            printf("%.*s", (int)len, w);
            col += len;
            w += len + (w[len] == ' ');
        }
        printf("\n      %s\n", commands[i].summary);
    }
    printf("\nOptions may come anywhere on the line; \"--\" ends them, so that an argument\n"
           "may begin with \"--\" (reservation ids can: `stockctl commit -- \"$ID\"` is safe\n"
           "in scripts). A flag wins over its environment variable.\n"
           "\nOptions:\n");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            printf("\nCommand options:\n");
        for (int o = 0; o < O_COUNT; o++)
            if (options[o].global == (pass == 0))
                print_option(o, true);
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

/* `stockctl COMMAND --help`: the synopsis, the summary, the method it calls
 * and the options that apply to it. */
static void print_command_help(const struct command *cmd)
{
    print_command_usage(stdout, cmd);
    printf("  %s\n", cmd->summary);
    if (cmd->method != NULL)
        printf("  (stockd method: %s)\n", cmd->method);
    if (cmd->opts != 0) {
        printf("\nOptions:\n");
        for (int o = 0; o < O_COUNT; o++)
            if (cmd->opts & OPT_BIT(o))
                print_option(o, false);
    }
    printf("\nGlobal options (--host, --port, --token, --tenant-token, --timeout-ms, --json): "
           "see `stockctl --help`.\n");
}

/* --- running a command ---------------------------------------------------- */

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
        if (options[o].repeat > 0) {
            if (cli->many[o] == NULL)
                cli->many[o] = xcalloc(options[o].repeat, sizeof *cli->many[o]);
            if (cli->n_many[o] == options[o].repeat)
                return usage_fail(NULL, "at most %u --%s options", options[o].repeat,
                                  options[o].name);
            cli->many[o][cli->n_many[o]++] = value;
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
    /* Both tokens are sent with auth: stockd with --tenants-file takes the
     * tenant's, otherwise its own. A flag wins over both variables. */
    if (cli->val[O_TOKEN] != NULL && cli->val[O_TENANT_TOKEN] != NULL)
        return usage_fail(NULL, "give --token or --tenant-token, not both");
    if (cli->val[O_TENANT_TOKEN] != NULL || cli->val[O_TOKEN] != NULL)
        ctl->token = cli->val[O_TENANT_TOKEN] ? cli->val[O_TENANT_TOKEN] : cli->val[O_TOKEN];
    else
        ctl->token = setting(NULL, "STOCKCTL_TENANT_TOKEN",
                             setting(NULL, "STOCKD_AUTH_TOKEN", NULL));
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
        print_command_help(cmd);
        return CTL_EXIT_OK;
    }
    for (int o = 0; o < O_COUNT; o++)
        if (cli->set[o] && !options[o].global && !(cmd->opts & OPT_BIT(o)))
            return usage_fail(cmd, "option --%s does not apply here", options[o].name);
    /* Options that only make sense together (--lat and --lng), checked
     * before any argument so that the message names the real mistake. */
    for (int o = 0; o < O_COUNT; o++)
        for (int k = 0; cli->set[o] && k < O_COUNT; k++)
            if ((options[o].needs & OPT_BIT(k)) && !cli->set[k])
                return usage_fail(cmd, "option --%s needs --%s too", options[o].name,
                                  options[k].name);
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
    rc = params_build(&params, cmd, cli, args, n);
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
    for (int o = 0; o < O_COUNT; o++)
        free(cli.many[o]);
    return rc;
}
