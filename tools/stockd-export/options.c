/* stockd-export's command line (see options.h). Each option is declared
 * once in EXPORT_OPTIONS; parsing, the environment and --help derive from
 * it. */
#include "options.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STOCKD_VERSION
#define STOCKD_VERSION "0.0.0"
#endif

enum opt_kind {
    OPT_REDIS_URL,
    OPT_PATH,
    OPT_IDENT,
    OPT_CONNINFO,
    OPT_TABLE,
    OPT_INT,
    OPT_HOSTPORT,
    OPT_INSERT,
    OPT_LEVEL,
    OPT_FORMAT,
};

#define CFG(member) offsetof(struct export_config, member)
#define SIZE(member) sizeof(((struct export_config *)0)->member)

/* X(flag, env, default, kind, where, size, min, max, help) */
#define EXPORT_OPTIONS(X)                                                                          \
    X("redis", "STOCKD_REDIS_URL", "redis://127.0.0.1:6379/0", OPT_REDIS_URL, CFG(redis),          \
      SIZE(redis), 0, 0,                                                                           \
      "redis://[USER:@]host:port[/db] or unix:///path; a password only through the\n"              \
      "environment variable or --redis-password-file")                                             \
    X("redis-password-file", "STOCKD_REDIS_PASSWORD_FILE", "", OPT_PATH, CFG(redis_password_file), \
      SIZE(redis_password_file), 0, 0, "file holding Redis's password (wins over one in the URL)") \
    X("namespace", "STOCKD_NAMESPACE", "inv", OPT_IDENT, CFG(namespace_buf), SIZE(namespace_buf),  \
      0, 0, "stockd's key namespace: the ledger is {NS}:events")                                   \
    X("pg", "STOCKD_EXPORT_PG", "", OPT_CONNINFO, CFG(pg), SIZE(pg), 0, 0,                         \
      "libpq connection string or URI (empty: libpq's PGHOST, PGSERVICE, ...);\n"                  \
      "a password only through the environment, --pg-password-file or PGPASSFILE")                 \
    X("pg-password-file", "STOCKD_EXPORT_PG_PASSWORD_FILE", "", OPT_PATH, CFG(pg_password_file),   \
      SIZE(pg_password_file), 0, 0, "file holding PostgreSQL's password")                          \
    X("table", "STOCKD_EXPORT_TABLE", "stockd_ledger", OPT_TABLE, CFG(table), SIZE(table), 0, 0,   \
      "the table, [schema.]name of [A-Za-z_][A-Za-z0-9_]*; created if missing")                    \
    X("group", "STOCKD_EXPORT_GROUP", "stockd-export", OPT_IDENT, CFG(group), SIZE(group), 0, 0,   \
      "the consumer group on the ledger (created at its start if missing)")                        \
    X("consumer", "STOCKD_EXPORT_CONSUMER", "export", OPT_IDENT, CFG(consumer), SIZE(consumer), 0, \
      0, "this exporter's name in the group (keep it across restarts)")                            \
    X("batch", "STOCKD_EXPORT_BATCH", "1000", OPT_INT, CFG(batch), SIZE(batch), 1, 5000,           \
      "most entries in one transaction")                                                           \
    X("block-ms", "STOCKD_EXPORT_BLOCK_MS", "500", OPT_INT, CFG(block_ms), SIZE(block_ms), 10,     \
      2000, "longest wait for new entries before looking again (and for SIGTERM)")                 \
    X("linger-ms", "STOCKD_EXPORT_LINGER_MS", "100", OPT_INT, CFG(linger_ms), SIZE(linger_ms), 0,  \
      5000,                                                                                        \
      "after a batch that was not full, wait this long before reading again, so\n"                 \
      "that a steady trickle is written in fewer, larger transactions (0: at once)")               \
    X("insert", "STOCKD_EXPORT_INSERT", "copy", OPT_INSERT, CFG(insert), SIZE(insert), 0, 0,       \
      "copy (COPY into a temp table, then INSERT ... SELECT) or values (one multi-row\n"           \
      "INSERT ... VALUES); docs/export.md has both measured")                                      \
    X("http", "STOCKD_EXPORT_HTTP", "127.0.0.1:9401", OPT_HOSTPORT, CFG(http_host),                \
      SIZE(http_host), 0, 0, "HOST:PORT for /healthz, /readyz and /metrics (port 0: any)")         \
    X("log-level", "STOCKD_LOG_LEVEL", "info", OPT_LEVEL, CFG(log_level), SIZE(log_level), 0, 0,   \
      "debug, info, warn or error")                                                                \
    X("log-format", "STOCKD_LOG_FORMAT", "text", OPT_FORMAT, CFG(log_format), SIZE(log_format), 0, \
      0, "text or json")

struct option {
    const char *flag;
    const char *env;
    const char *def;
    enum opt_kind kind;
    size_t where, size; /* into struct export_config */
    long long min, max;
    const char *help;
};

static const struct option options[] = {
#define X(flag, env, def, kind, where, size, min, max, help)                                       \
    {flag, env, def, kind, where, size, min, max, help},
    EXPORT_OPTIONS(X)
#undef X
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* A value quoted in an error message: one line, cut short. */
static const char *printable(const char *v, char *out, size_t outlen)
{
    size_t i = 0;
    for (; v[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    out[i] = '\0';
    return out;
}

/* A PostgreSQL name this program writes unquoted in messages and quoted in
 * SQL: [A-Za-z_][A-Za-z0-9_]*, short enough to take "_ms_seq" for its
 * index. */
static bool sql_name(const char *s, size_t n)
{
    if (n == 0 || n > EXPORT_NAME_MAX - 7)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && (i == 0 || c < '0' || c > '9'))
            return false;
    }
    return true;
}

static int set_table(struct export_config *cfg, const char *v)
{
    const char *dot = strchr(v, '.');
    const char *name = dot ? dot + 1 : v;
    size_t schema_len = dot ? (size_t)(dot - v) : 0;
    if ((dot && !sql_name(v, schema_len)) || !sql_name(name, strlen(name)))
        return -1;
    memcpy(cfg->table_schema, v, schema_len);
    cfg->table_schema[schema_len] = '\0';
    strcpy(cfg->table, name);
    return 0;
}

static int set_option(struct export_config *cfg, const struct option *o, const char *v,
                      bool from_argv, char *errbuf, size_t errlen)
{
    char *where = (char *)cfg + o->where;
    char shown[128];
    switch (o->kind) {
    case OPT_REDIS_URL: {
        struct redis_url *u = (struct redis_url *)(void *)where;
        if (config_parse_redis_url(v, u) != 0)
            goto bad;
        if (from_argv && u->password[0] != '\0') {
            memset(u->password, 0, sizeof u->password);
            snprintf(errbuf, errlen,
                     "stockd-export: --%s must not hold a password (every user sees the command "
                     "line): use %s or --redis-password-file",
                     o->flag, o->env);
            return -1;
        }
        return 0;
    }
    case OPT_PATH:
    case OPT_CONNINFO:
        if (strlen(v) >= o->size)
            goto bad;
        strcpy(where, v);
        if (o->kind == OPT_CONNINFO)
            cfg->pg_from_argv = from_argv;
        return 0;
    case OPT_IDENT: {
        struct ident id;
        if (!ident_check(v, strlen(v), &id))
            goto bad;
        memcpy(where, v, id.s.n + 1);
        return 0;
    }
    case OPT_TABLE:
        if (set_table(cfg, v) != 0)
            goto bad;
        return 0;
    case OPT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || x < o->min || x > o->max) {
            snprintf(errbuf, errlen,
                     "stockd-export: --%s must be a whole number from %lld to %lld, not '%s'",
                     o->flag, o->min, o->max, printable(v, shown, sizeof shown));
            return -1;
        }
        *(long long *)(void *)where = x;
        return 0;
    }
    case OPT_HOSTPORT:
        if (config_parse_hostport(v, where, o->size, &cfg->http_port) != 0)
            goto bad;
        return 0;
    case OPT_INSERT:
        if (strcmp(v, "values") == 0)
            cfg->insert = INSERT_VALUES;
        else if (strcmp(v, "copy") == 0)
            cfg->insert = INSERT_COPY;
        else
            goto bad;
        return 0;
    case OPT_LEVEL: {
        static const char *const levels[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, levels[i]) == 0) {
                cfg->log_level = (enum log_level)i;
                return 0;
            }
        goto bad;
    }
    case OPT_FORMAT:
        if (strcmp(v, "text") == 0)
            cfg->log_format = LOG_TEXT;
        else if (strcmp(v, "json") == 0)
            cfg->log_format = LOG_JSON;
        else
            goto bad;
        return 0;
    }
bad:
    /* Never echo a URL or a connection string: it may hold a password. */
    if (o->kind == OPT_REDIS_URL || o->kind == OPT_CONNINFO)
        snprintf(errbuf, errlen, "stockd-export: invalid value for --%s", o->flag);
    else
        snprintf(errbuf, errlen, "stockd-export: invalid value for --%s: '%s'", o->flag,
                 printable(v, shown, sizeof shown));
    return -1;
}

static void print_help(FILE *out)
{
    fprintf(out, "usage: stockd-export [flags]\n\n"
                 "Copies stockd's movement ledger ({NS}:events in Redis) into a PostgreSQL table,\n"
                 "each entry exactly once, through a consumer group. docs/export.md has the\n"
                 "details. libpq's own variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE,\n"
                 "PGPASSFILE, PGSSLMODE, ...) apply to what --pg does not say.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option *o = &options[i];
        fprintf(out, "  --%-20s ", o->flag);
        for (const char *p = o->help; *p; p++) { /* continuation lines under the first */
            if (*p == '\n')
                fprintf(out, "\n%25s", "");
            else
                fputc(*p, out);
        }
        fprintf(out, "\n  %22s default: %s%s%s\n", "", o->def[0] ? o->def : "(none)",
                o->env ? ", env " : "", o->env ? o->env : "");
    }
    fprintf(out, "  --%-20s %s\n  --%-20s %s\n", "version", "print the version and exit", "help",
            "print this help and exit");
    fprintf(out, "\nSIGTERM or SIGINT: the batch in hand is finished or left whole to the next\n"
                 "start, then exit 0.\n");
}

enum config_result export_options_parse(struct export_config *cfg, int argc, char **argv,
                                        config_getenv_fn env, void *out, char *errbuf,
                                        size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    errbuf[0] = '\0';
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (set_option(cfg, &options[i], options[i].def, false, errbuf, errlen) != 0)
            return CONFIG_ERROR;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = options[i].env ? env(options[i].env) : NULL;
        if (v != NULL && set_option(cfg, &options[i], v, false, errbuf, errlen) != 0) {
            size_t n = strlen(errbuf);
            snprintf(errbuf + n, errlen - n, " (from %s)", options[i].env);
            return CONFIG_ERROR;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        char shown[128];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(out);
            return CONFIG_EXIT;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out, "stockd-export %s\n", STOCKD_VERSION);
            return CONFIG_EXIT;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(errbuf, errlen, "stockd-export: unexpected argument '%s' (see --help)",
                     printable(arg, shown, sizeof shown));
            return CONFIG_ERROR;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct option *o = NULL;
        for (size_t i = 0; i < N_OPTIONS && o == NULL; i++)
            if (strlen(options[i].flag) == nlen && strncmp(options[i].flag, name, nlen) == 0)
                o = &options[i];
        if (o == NULL) {
            /* Cut at '=': what follows may be a secret given to a misspelt flag. */
            snprintf(errbuf, errlen, "stockd-export: unknown flag '--%.*s' (see --help)",
                     (int)(nlen < 64 ? nlen : 64), name);
            return CONFIG_ERROR;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL) {
            if (a + 1 >= argc) {
                snprintf(errbuf, errlen, "stockd-export: --%s needs a value", o->flag);
                return CONFIG_ERROR;
            }
            v = argv[++a];
        }
        if (set_option(cfg, o, v, true, errbuf, errlen) != 0)
            return CONFIG_ERROR;
    }
    ident_check(cfg->namespace_buf, strlen(cfg->namespace_buf), &cfg->ns);
    return CONFIG_OK;
}

int export_read_secret(const char *path, const char *what, char *out, size_t n, char *errbuf,
                       size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errbuf, errlen, "stockd-export: cannot read %s: %s", what, strerror(errno));
        return -1;
    }
    size_t len = fread(out, 1, n - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' ' ||
                       out[len - 1] == '\t'))
        len--;
    out[len] = '\0';
    if (more || len == 0 || strlen(out) != len || memchr(out, '\n', len) != NULL) {
        memset(out, 0, n);
        snprintf(errbuf, errlen, "stockd-export: %s must hold one line of 1 to %zu bytes", what,
                 n - 1);
        return -1;
    }
    return 0;
}
