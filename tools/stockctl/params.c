/* stockctl's params: the command line turned into a JSON-RPC params object
 * by a command's declarative param list (stockctl.c), every value checked
 * here first, so that a typo is a usage error and not a round trip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctl.h"
#include "ident.h"
#include "jsonstr.h"
#include "validate.h"

/* The ranking rules a channel may have, as stockd names them. */
static const char *const rule_names[] = {"same_zone", "nearest", "priority", "channel_order"};
#define N_RULES (sizeof rule_names / sizeof rule_names[0])

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

bool parse_number(const char *s, double *out)
{
    /* strtod alone would also take hex, inf, nan and leading blanks. */
    bool digit = false;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (strchr("+-.eE", *p) == NULL)
            return false;
    }
    if (!digit)
        return false;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

void format_number(double v, char *out, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
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

/* Starts the next member of the JSON object that b holds (opened with '{'
 * by params_build or append_destination). */
static void member(struct buf *b, size_t start, const char *key)
{
    if (b->len > start + 1)
        buf_appendc(b, ',');
    json_write_string(b, key, strlen(key));
    buf_appendc(b, ':');
}

static void append_number(struct buf *b, double v)
{
    char s[40];
    format_number(v, s, sizeof s);
    buf_appends(b, s);
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

/* Checks a list of identifiers: valid, distinct, at most max of them. */
static int check_ident_list(const struct command *cmd, const char *what, const char *const *v,
                            int n, long long max)
{
    if (n > max)
        return usage_fail(cmd, "at most %lld %s values", max, what);
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

/* Appends the rules array from "R,R,...": 1..MAX_RULES distinct names of
 * rule_names. */
static int append_rules(struct buf *b, const struct command *cmd, const struct param *p,
                        const char *value)
{
    const char *names[MAX_RULES];
    size_t lens[MAX_RULES];
    int n = 0;
    const char *s = value;
    if (*s == '\0')
        return usage_fail(cmd,
                          "%s needs at least one rule (same_zone, nearest, priority, "
                          "channel_order)",
                          p->what);
    for (;;) {
        size_t len = strcspn(s, ",");
        if (len == 0)
            return usage_fail(cmd,
                              "%s '%s' has an empty rule name (give R,R,... without "
                              "blanks or doubled commas)",
                              p->what, value);
        size_t r = 0;
        while (r < N_RULES && !(strlen(rule_names[r]) == len && memcmp(rule_names[r], s, len) == 0))
            r++;
        if (r == N_RULES)
            return usage_fail(cmd,
                              "%s: unknown rule '%.*s' (known: same_zone, nearest, priority, "
                              "channel_order)",
                              p->what, (int)len, s);
        for (int k = 0; k < n; k++)
            if (lens[k] == len && memcmp(names[k], s, len) == 0)
                return usage_fail(cmd, "%s: rule '%.*s' is given twice", p->what, (int)len, s);
        if (n == MAX_RULES)
            return usage_fail(cmd, "%s: at most %d rules", p->what, MAX_RULES);
        names[n] = s;
        lens[n++] = len;
        if (s[len] == '\0')
            break;
        s += len + 1;
    }
    buf_appendc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            buf_appendc(b, ',');
        json_write_string(b, names[i], lens[i]);
    }
    buf_appendc(b, ']');
    return 0;
}

/* Appends the destination object {lat, lng, zone?} from "LAT,LNG[,ZONE]". A
 * zone cannot hold a comma (it is an identifier), so the split is exact. */
static int append_destination(struct buf *b, const struct command *cmd, const struct param *p,
                              const char *value)
{
    char copy[3 * 160];
    char *part[4];
    int n = 0;
    if (strlen(value) >= sizeof copy)
        return usage_fail(cmd, "%s '%.40s...' is too long", p->what, value);
    snprintf(copy, sizeof copy, "%s", value);
    for (char *s = copy; n < 4; n++) {
        part[n] = s;
        s = strchr(s, ',');
        if (s == NULL) {
            n++;
            break;
        }
        *s++ = '\0';
    }
    if (n < 2 || n > 3)
        return usage_fail(cmd, "%s '%s' must be LAT,LNG or LAT,LNG,ZONE (e.g. 52.52,13.405,de)",
                          p->what, value);
    double lat, lng;
    if (!parse_number(part[0], &lat) || lat < -90 || lat > 90)
        return usage_fail(cmd, "%s latitude '%s' must be a number from -90 to 90", p->what,
                          part[0]);
    if (!parse_number(part[1], &lng) || lng < -180 || lng > 180)
        return usage_fail(cmd, "%s longitude '%s' must be a number from -180 to 180", p->what,
                          part[1]);
    if (n == 3 && !ident_ok(part[2]))
        return bad_ident(cmd, "zone in --ship-to", part[2]);
    size_t start = b->len;
    buf_appendc(b, '{');
    member(b, start, "lat");
    append_number(b, lat);
    member(b, start, "lng");
    append_number(b, lng);
    if (n == 3) {
        member(b, start, "zone");
        json_write_string(b, part[2], strlen(part[2]));
    }
    buf_appendc(b, '}');
    return 0;
}

/* Checks a K_NUMBER value against the param's range. */
static int append_checked_number(struct buf *b, const struct command *cmd, const struct param *p,
                                 const char *value)
{
    double v;
    bool ok = parse_number(value, &v) && v >= (double)p->min &&
              (p->max == NO_MAX || v <= (double)p->max) && !(p->nonzero && v == 0);
    if (!ok && p->max == NO_MAX)
        return usage_fail(cmd, "%s '%s' must be a number greater than %s%lld", p->what, value,
                          p->nonzero ? "" : "or equal to ", p->min);
    if (!ok)
        return usage_fail(cmd, "%s '%s' must be a %snumber from %lld to %lld", p->what, value,
                          p->nonzero ? "non-zero " : "", p->min, p->max);
    append_number(b, v);
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
    } else if (p->src == SRC_OPT && p->kind == K_IDENT_LIST) {
        rest = (char **)cli->many[p->at];
        n_rest = (int)cli->n_many[p->at];
    } else if (p->src == SRC_OPT && p->kind == K_FLAG)
        value = cli->set[p->at] ? "true" : NULL;
    else if (p->src == SRC_OPT)
        value = cli->val[p->at];
    if (value == NULL && n_rest == 0)
        return 0;

    /* A transfer from a location to itself is a typo, not a request. */
    if (p->kind == K_IDENT_OTHER && p > cmd->params && p[-1].src == SRC_ARG && p[-1].at < n &&
        strcmp(value, args[p[-1].at]) == 0)
        return usage_fail(cmd, "%s '%s' is the same as %s: give two different ones", p->what, value,
                          p[-1].what);

    long long num;
    switch (p->kind) {
    case K_IDENT:
    case K_IDENT_OTHER:
        if (!ident_ok(value))
            return bad_ident(cmd, p->what, value);
        member(b, 0, p->key);
        json_write_string(b, value, strlen(value));
        return 0;
    case K_INT:
        if (!parse_int(value, p->min, p->max, &num) || (p->nonzero && num == 0))
            return usage_fail(cmd, "%s '%s' must be a %swhole number from %lld to %lld", p->what,
                              value, p->nonzero ? "non-zero " : "", p->min, p->max);
        member(b, 0, p->key);
        buf_append_int(b, num);
        return 0;
    case K_INT_OR_NONE:
        if (strcmp(value, "none") == 0) {
            member(b, 0, p->key);
            buf_appends(b, "null");
            return 0;
        }
        if (!parse_int(value, p->min, p->max, &num))
            return usage_fail(cmd, "%s '%s' must be a whole number from %lld to %lld, or none",
                              p->what, value, p->min, p->max);
        member(b, 0, p->key);
        buf_append_int(b, num);
        return 0;
    case K_NUMBER:
        member(b, 0, p->key);
        return append_checked_number(b, cmd, p, value);
    case K_TEXT:
        if (!text_ok(value))
            return usage_fail(cmd, "%s must be 1 to %d bytes of printable UTF-8", p->what,
                              TEXT_MAX);
        member(b, 0, p->key);
        json_write_string(b, value, strlen(value));
        return 0;
    case K_STRATEGY:
        for (int s = STRATEGY_AUTO; s <= STRATEGY_SPLIT; s++)
            if (strcmp(value, strategy_name((enum strategy)s)) == 0) {
                member(b, 0, p->key);
                json_write_string(b, value, strlen(value));
                return 0;
            }
        return usage_fail(cmd, "%s must be one of auto, single, per_line, split", p->what);
    case K_IDENT_LIST: {
        int rc = check_ident_list(cmd, p->what, (const char *const *)rest, n_rest, p->max);
        if (rc != 0)
            return rc;
        member(b, 0, p->key);
        append_ident_list(b, (const char *const *)rest, n_rest);
        return 0;
    }
    case K_ITEMS:
        member(b, 0, p->key);
        return append_items(b, cmd, p, rest, n_rest);
    case K_RULES:
        member(b, 0, p->key);
        return append_rules(b, cmd, p, value);
    case K_DESTINATION:
        member(b, 0, p->key);
        return append_destination(b, cmd, p, value);
    case K_FLAG:
        member(b, 0, p->key);
        buf_appends(b, "true");
        return 0;
    }
    return 0;
}

int params_build(struct buf *b, const struct command *cmd, const struct cli *cli, char **args,
                 int n)
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
