/* stockd-export's command line (see options.h). Each option is declared
 * once in EXPORT_OPTIONS; flags.c derives parsing, the environment and
 * --help from it, and this file sets the kinds only stockd-export has. */
#include "options.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of value only stockd-export has (flags.h sets the others). */
enum opt_kind {
    OPT_REDIS_URL = FLAG_CUSTOM,
    OPT_CONNINFO,
    OPT_TABLE,
    OPT_INSERT,
};

#define CFG(member) offsetof(struct export_config, member)
#define SIZE(member) sizeof(((struct export_config *)0)->member)

/* X(flag, env, default, kind, member, min, max, help) */
#define EXPORT_OPTIONS(X)                                                                          \
    X("redis", "STOCKD_REDIS_URL", "redis://127.0.0.1:6379/0", OPT_REDIS_URL, redis, 0, 0,         \
      "redis://[USER:@]host:port[/db] or unix:///path of the master (no Sentinel\n"                \
      "nor Cluster: not redis+sentinel:// nor redis+cluster://); a password never\n"               \
      "on the command line (ps shows it):\n"                                                       \
      "only through the environment variable or --redis-password-file")                            \
    X("redis-password-file", "STOCKD_REDIS_PASSWORD_FILE", "", FLAG_STRING, redis_password_file,   \
      0, 0, "file holding Redis's password (wins over one in the URL)")                            \
    X("namespace", "STOCKD_NAMESPACE", "inv", FLAG_IDENT, namespace_buf, 0, 0,                     \
      "stockd's key namespace: the ledger is {NS}:events")                                         \
    X("pg", "STOCKD_EXPORT_PG", "", OPT_CONNINFO, pg, 0, 0,                                        \
      "libpq connection string or URI (empty: libpq's PGHOST, PGSERVICE, ...);\n"                  \
      "a password only through the environment, --pg-password-file or PGPASSFILE")                 \
    X("pg-password-file", "STOCKD_EXPORT_PG_PASSWORD_FILE", "", FLAG_STRING, pg_password_file, 0,  \
      0, "file holding PostgreSQL's password")                                                     \
    X("table", "STOCKD_EXPORT_TABLE", "stockd_ledger", OPT_TABLE, table, 0, 0,                     \
      "the table, [schema.]name of [A-Za-z_][A-Za-z0-9_]*; created if missing")                    \
    X("group", "STOCKD_EXPORT_GROUP", "stockd-export", FLAG_IDENT, group, 0, 0,                    \
      "the consumer group on the ledger (created at its start if missing)")                        \
    X("consumer", "STOCKD_EXPORT_CONSUMER", "export", FLAG_IDENT, consumer, 0, 0,                  \
      "this exporter's name in the group (keep it across restarts)")                               \
    X("batch", "STOCKD_EXPORT_BATCH", "1000", FLAG_INT, batch, 1, 5000,                            \
      "most entries in one transaction")                                                           \
    X("block-ms", "STOCKD_EXPORT_BLOCK_MS", "500", FLAG_INT, block_ms, 10, 2000,                   \
      "longest wait for new entries before looking again (and for SIGTERM)")                       \
    X("linger-ms", "STOCKD_EXPORT_LINGER_MS", "100", FLAG_INT, linger_ms, 0, 5000,                 \
      "after a batch that was not full, wait this long before reading again, so\n"                 \
      "that a steady trickle is written in fewer, larger transactions (0: at once)")               \
    X("insert", "STOCKD_EXPORT_INSERT", "copy", OPT_INSERT, insert, 0, 0,                          \
      "copy (COPY into a temp table, then INSERT ... SELECT) or values (one multi-row\n"           \
      "INSERT ... VALUES); docs/export.md has both measured")                                      \
    X("http", "STOCKD_EXPORT_HTTP", "127.0.0.1:9401", FLAG_HOSTPORT, http_host, 0, 0,              \
      "HOST:PORT for /healthz, /readyz and /metrics (port 0: any)")                                \
    X("log-level", "STOCKD_LOG_LEVEL", "info", FLAG_LEVEL, log_level, 0, 0,                        \
      "debug, info, warn or error")                                                                \
    X("log-format", "STOCKD_LOG_FORMAT", "text", FLAG_FORMAT, log_format, 0, 0, "text or json")

/* The one HOST:PORT flag, --http, keeps its port in http_port. */
#define PORT(kind) ((int)(kind) == FLAG_HOSTPORT ? CFG(http_port) : 0)

static const struct flag options[] = {
#define X(flag, env, def, kind, member, min, max, help)                                            \
    {flag, env, def, kind, CFG(member), SIZE(member), PORT(kind), min, max, help},
    EXPORT_OPTIONS(X)
#undef X
};

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

/* The kinds only stockd-export has (flags_set_fn). */
static int set_option(void *data, const struct flags_table *t, const struct flag *f, const char *v,
                      enum flag_source from, char *errbuf, size_t errlen)
{
    struct export_config *cfg = data;
    char *where = (char *)cfg + f->where;
    bool from_argv = from >= FLAG_FROM_ARGV;
    switch (f->kind) {
    case OPT_REDIS_URL: {
        struct redis_url *u = (struct redis_url *)(void *)where;
        if (config_set_redis_url(t->program, f->name, v, u, errbuf, errlen) != 0)
            return -1;
        if (u->mode == REDIS_CLUSTER) {
            /* Nor does it route by slot: it reads one namespace's streams,
             * which all live on the master of that namespace's slot. */
            memset(u, 0, sizeof *u);
            snprintf(errbuf, errlen,
                     "%s: --%s: stockd-export does not speak Redis Cluster: it needs a "
                     "redis:// URL of the master that holds the namespace's slot, not "
                     "redis+cluster://",
                     t->program, f->name);
            return -1;
        }
        if (u->mode != REDIS_DIRECT) {
            /* The exporter keeps one blocking connection and does not follow
             * a failover: it must be pointed at the master itself. */
            memset(u, 0, sizeof *u);
            snprintf(errbuf, errlen,
                     "%s: --%s: stockd-export does not follow Sentinel: it needs a redis:// or "
                     "unix:// URL of the Redis master, not redis+sentinel://",
                     t->program, f->name);
            return -1;
        }
        if (from_argv && u->password[0] != '\0') {
            memset(u->password, 0, sizeof u->password);
            snprintf(errbuf, errlen,
                     "stockd-export: --%s must not hold a password (every user sees the command "
                     "line): use %s or --redis-password-file",
                     f->name, f->env);
            return -1;
        }
        return 0;
    }
    case OPT_CONNINFO:
        if (strlen(v) >= f->size)
            return flags_bad_value(t, f, NULL, errbuf, errlen); /* it may hold a password */
        strcpy(where, v);
        cfg->pg_from_argv = from_argv;
        return 0;
    case OPT_TABLE:
        if (set_table(cfg, v) != 0)
            return flags_bad_value(t, f, v, errbuf, errlen);
        return 0;
    case OPT_INSERT:
        if (strcmp(v, "values") == 0)
            cfg->insert = INSERT_VALUES;
        else if (strcmp(v, "copy") == 0)
            cfg->insert = INSERT_COPY;
        else
            return flags_bad_value(t, f, v, errbuf, errlen);
        return 0;
    }
    return flags_bad_value(t, f, v, errbuf, errlen);
}

static const struct flags_table export_flags = {
    .program = "stockd-export",
    .about = "Copies stockd's movement ledger ({NS}:events in Redis) into a PostgreSQL table,\n"
             "each entry exactly once, through a consumer group. docs/export.md has the\n"
             "details. libpq's own variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE,\n"
             "PGPASSFILE, PGSSLMODE, ...) apply to what --pg does not say.",
    .epilogue = "SIGTERM or SIGINT: the batch in hand is finished or left whole to the next\n"
                "start, then exit 0.",
    .flags = options,
    .n_flags = sizeof options / sizeof options[0],
    .cfg_size = sizeof(struct export_config),
    .unknown_name_only = true,
    .set = set_option,
};

enum config_result export_options_parse(struct export_config *cfg, int argc, char **argv,
                                        config_getenv_fn env, void *out, char *errbuf,
                                        size_t errlen)
{
    enum config_result r = flags_parse(&export_flags, cfg, argc, argv, env, out, errbuf, errlen);
    if (r == CONFIG_OK)
        ident_check(cfg->namespace_buf, strlen(cfg->namespace_buf), &cfg->ns);
    return r;
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
