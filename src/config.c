/* Start-up configuration (see config.h). Each option is declared once in
 * STOCKD_OPTIONS; parsing, the environment lookup and --help derive from it. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STOCKD_VERSION
#define STOCKD_VERSION "0.0.0"
#endif

enum opt_kind {
    OPT_HOSTPORT,
    OPT_REDIS_URL,
    OPT_IDENT,
    OPT_PATH,
    OPT_INT,
    OPT_LEVEL,
    OPT_FORMAT,
    OPT_URLS, /* repeatable: each flag adds; white space separates several in one value */
};

#define CFG(member) offsetof(struct config, member)
#define NONE 0

/* X(flag, env, default, kind, where, port (hostport only), min, max, help) */
#define STOCKD_OPTIONS(X)                                                                          \
    X("listen", "STOCKD_LISTEN", "127.0.0.1:7400", OPT_HOSTPORT, CFG(listen_host),                 \
      CFG(listen_port), 0, 0, "HOST:PORT of the JSON-RPC listener (port 0: any free port)")       \
    X("http", "STOCKD_HTTP", "127.0.0.1:9400", OPT_HOSTPORT, CFG(http_host), CFG(http_port), 0, 0, \
      "HOST:PORT for health, readiness and metrics")                                              \
    X("redis", "STOCKD_REDIS_URL", "redis://127.0.0.1:6379/0", OPT_REDIS_URL, CFG(redis), NONE, 0, \
      0, "redis://[user:pass@]host:port[/db] or unix:///path")                                    \
    X("namespace", "STOCKD_NAMESPACE", "inv", OPT_IDENT, CFG(namespace_buf), NONE, 0, 0,           \
      "key namespace (hash tag)")                                                                 \
    X("auth-token-file", NULL, "", OPT_PATH, CFG(auth_token_file), NONE, 0, 0,                     \
      "file holding the token clients must send with auth (env STOCKD_AUTH_TOKEN: the token)")    \
    X("request-timeout-ms", "STOCKD_REQUEST_TIMEOUT_MS", "2000", OPT_INT, CFG(request_timeout_ms), \
      NONE, 10, 600000, "longest a request waits for Redis")                                      \
    X("redis-stuck-ms", "STOCKD_REDIS_STUCK_MS", "5000", OPT_INT, CFG(redis_stuck_ms), NONE, 100,  \
      600000, "Redis answering nothing this long while calls wait is stuck: reconnect")          \
    X("batch-max", "STOCKD_BATCH_MAX", "64", OPT_INT, CFG(batch_max), NONE, 1, 1024,              \
      "most reserves in one coalesced script call (1: none coalesced)")                          \
    X("default-ttl-ms", "STOCKD_DEFAULT_TTL_MS", "900000", OPT_INT, CFG(default_ttl_ms), NONE,     \
      1000, 86400000, "hold time of a reservation without ttl_ms")                                \
    X("sweep-interval-ms", "STOCKD_SWEEP_INTERVAL_MS", "250", OPT_INT, CFG(sweep_interval_ms),     \
      NONE, 10, 60000, "how often expired holds are released")                                    \
    X("retention-s", "STOCKD_RETENTION_S", "86400", OPT_INT, CFG(retention_s), NONE, 1, 31536000,  \
      "how long finished reservations stay readable")                                             \
    X("max-request-bytes", "STOCKD_MAX_REQUEST_BYTES", "65536", OPT_INT, CFG(max_request_bytes),   \
      NONE, 256, 16777216, "longest request line")                                                \
    X("max-items", "STOCKD_MAX_ITEMS", "100", OPT_INT, CFG(max_items), NONE, 1, 1000,              \
      "most lines in one reserve")                                                                \
    X("max-connections", "STOCKD_MAX_CONNECTIONS", "10000", OPT_INT, CFG(max_connections), NONE,   \
      1, 1000000, "most client connections at once")                                              \
    X("max-pipeline", "STOCKD_MAX_PIPELINE", "1024", OPT_INT, CFG(max_pipeline), NONE, 1, 1000000, \
      "requests in flight on one connection; beyond: 2003")                                       \
    X("max-inflight", "STOCKD_MAX_INFLIGHT", "100000", OPT_INT, CFG(max_inflight), NONE, 1,       \
      10000000, "requests in flight in the process; beyond: 2003")                                \
    X("max-output-bytes", "STOCKD_MAX_OUTPUT_BYTES", "1048576", OPT_INT, CFG(max_output_bytes),   \
      NONE, 4096, 1073741824, "unwritten answers to a client before it is not read from")         \
    X("idle-timeout-ms", "STOCKD_IDLE_TIMEOUT_MS", "300000", OPT_INT, CFG(idle_timeout_ms), NONE,  \
      100, 86400000, "a connection with nothing in flight and no new line is closed")             \
    X("auth-timeout-ms", "STOCKD_AUTH_TIMEOUT_MS", "10000", OPT_INT, CFG(auth_timeout_ms), NONE,   \
      100, 3600000, "with auth on, a connection must authenticate within this time")             \
    X("write-timeout-ms", "STOCKD_WRITE_TIMEOUT_MS", "30000", OPT_INT, CFG(write_timeout_ms),      \
      NONE, 100, 3600000, "a client that takes no answer bytes for this long is closed")         \
    X("line-timeout-ms", "STOCKD_LINE_TIMEOUT_MS", "10000", OPT_INT, CFG(line_timeout_ms), NONE,   \
      100, 3600000, "a request line must be finished within this time once started")             \
    X("ledger-maxlen", "STOCKD_LEDGER_MAXLEN", "1000000", OPT_INT, CFG(ledger_maxlen), NONE, 1000, \
      1000000000, "about how many movements the ledger stream keeps")                             \
    X("webhook-url", "STOCKD_WEBHOOK_URL", "", OPT_URLS, CFG(webhook_urls), NONE, 0, 0,             \
      "POST every stock-level event to this http(s) URL (repeatable, up to 8; env: "              \
      "space-separated)")                                                                         \
    X("webhook-secret-file", "STOCKD_WEBHOOK_SECRET_FILE", "", OPT_PATH, CFG(webhook_secret_file),  \
      NONE, 0, 0, "file holding the HMAC-SHA256 key of X-Stockd-Signature (needed with a URL)")   \
    X("webhook-timeout-ms", "STOCKD_WEBHOOK_TIMEOUT_MS", "5000", OPT_INT, CFG(webhook_timeout_ms), \
      NONE, 100, 600000, "a POST without a whole answer in this time failed")                     \
    X("webhook-max-age-s", "STOCKD_WEBHOOK_MAX_AGE_S", "86400", OPT_INT, CFG(webhook_max_age_s),   \
      NONE, 1, 2592000, "an event is retried until it is this old, then moved to the dead letters") \
    X("webhook-max-inflight", "STOCKD_WEBHOOK_MAX_INFLIGHT", "16", OPT_INT,                       \
      CFG(webhook_max_inflight), NONE, 1, 1000, "POSTs in flight at once, per URL")               \
    X("webhook-queue", "STOCKD_WEBHOOK_QUEUE", "1000", OPT_INT, CFG(webhook_queue), NONE, 1,       \
      100000, "events held in memory per URL (read from Redis only while there is room)")         \
    X("webhook-backoff-ms", "STOCKD_WEBHOOK_BACKOFF_MS", "1000", OPT_INT, CFG(webhook_backoff_ms), \
      NONE, 1, 3600000, "longest wait before the first retry (doubles per failure, full jitter)") \
    X("webhook-backoff-max-ms", "STOCKD_WEBHOOK_BACKOFF_MAX_MS", "300000", OPT_INT,               \
      CFG(webhook_backoff_max_ms), NONE, 1, 86400000, "longest wait before any retry")            \
    X("webhook-lease-ms", "STOCKD_WEBHOOK_LEASE_MS", "30000", OPT_INT, CFG(webhook_lease_ms), NONE, \
      1000, 3600000, "events of a replica silent this long are delivered by another")             \
    X("webhook-lag-warn-s", "STOCKD_WEBHOOK_LAG_WARN_S", "300", OPT_INT, CFG(webhook_lag_warn_s),  \
      NONE, 1, 2592000, "/readyz warns when an undelivered event is this old")                    \
    X("webhook-max-rate", "STOCKD_WEBHOOK_MAX_RATE", "1000", OPT_INT, CFG(webhook_max_rate), NONE, \
      0, 1000000,                                                                                 \
      "POSTs started per second over all URLs, in bursts of a tenth of it (0: no limit), so "     \
      "that delivering a burst of events leaves the CPU to reservations")                        \
    X("log-level", "STOCKD_LOG_LEVEL", "info", OPT_LEVEL, CFG(log_level), NONE, 0, 0,              \
      "debug, info, warn or error")                                                               \
    X("log-format", "STOCKD_LOG_FORMAT", "text", OPT_FORMAT, CFG(log_format), NONE, 0, 0,          \
      "text or json")

struct option {
    const char *flag;
    const char *env;
    const char *def;
    enum opt_kind kind;
    size_t where, port; /* offsets into struct config */
    long long min, max;
    const char *help;
};

static const struct option options[] = {
#define X(flag, env, def, kind, where, port, min, max, help)                                        \
    {flag, env, def, kind, where, port, min, max, help},
    STOCKD_OPTIONS(X)
#undef X
};
#define N_OPTIONS (sizeof options / sizeof options[0])

int config_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hn;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = s + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hn = (size_t)(colon - s);
    }
    if (hn == 0 || hn >= hostlen)
        return -1;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || p < 0 || p > 65535)
        return -1;
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (int)p;
    return 0;
}

static int copy_part(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (n >= dstlen)
        return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

int config_parse_redis_url(const char *s, struct redis_url *u)
{
    memset(u, 0, sizeof *u);
    if (strncmp(s, "unix://", 7) == 0) {
        const char *path = s + 7;
        if (path[0] != '/' || copy_part(u->unix_path, sizeof u->unix_path, path, strlen(path)))
            return -1;
        return 0;
    }
    if (strncmp(s, "redis://", 8) != 0)
        return -1;
    const char *p = s + 8;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) {
            /* redis://password@host: the legacy single-password form. */
            if (copy_part(u->password, sizeof u->password, p, (size_t)(at - p)))
                return -1;
        } else if (copy_part(u->user, sizeof u->user, p, (size_t)(colon - p)) ||
                   copy_part(u->password, sizeof u->password, colon + 1,
                             (size_t)(at - colon - 1))) {
            return -1;
        }
        p = at + 1;
    }
    char hostport[300];
    if (copy_part(hostport, sizeof hostport, p, (size_t)(end - p)))
        return -1;
    if (strchr(hostport, ':') == NULL || hostport[strlen(hostport) - 1] == ']') {
        /* No port: the Redis default. */
        if (strlen(hostport) + 6 >= sizeof hostport)
            return -1;
        strcat(hostport, ":6379");
    }
    if (config_parse_hostport(hostport, u->host, sizeof u->host, &u->port) != 0 || u->port == 0)
        return -1;
    if (slash != NULL && slash[1] != '\0') {
        char *e;
        errno = 0;
        long db = strtol(slash + 1, &e, 10);
        if (slash[1] < '0' || slash[1] > '9' || *e != '\0' || errno != 0 || db > 65535)
            return -1;
        u->db = (int)db;
    }
    return 0;
}

int config_check_webhook_url(const char *s, size_t n)
{
    size_t scheme = n >= 7 && strncmp(s, "http://", 7) == 0    ? 7
                    : n >= 8 && strncmp(s, "https://", 8) == 0 ? 8
                                                               : 0;
    if (scheme == 0 || n >= WEBHOOK_URL_MAX || n == scheme || s[scheme] == '/' ||
        s[scheme] == '?' || s[scheme] == '#')
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return -1;
    return 0;
}

/* Adds the white-space separated URLs of v. A URL is never echoed in a
 * message: it may carry a token. */
static int add_urls(struct config *cfg, const char *flag, const char *v, char *errbuf,
                    size_t errlen)
{
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0')
            return 0;
        size_t n = strcspn(p, " \t\n\r");
        if (config_check_webhook_url(p, n) != 0) {
            snprintf(errbuf, errlen,
                     "stockd: invalid value for --%s: webhook URL %d is not an http:// or "
                     "https:// URL with a host, without spaces, shorter than %d bytes",
                     flag, cfg->n_webhook_urls + 1, WEBHOOK_URL_MAX);
            return -1;
        }
        for (int i = 0; i < cfg->n_webhook_urls; i++)
            if (strlen(cfg->webhook_urls[i]) == n && memcmp(cfg->webhook_urls[i], p, n) == 0) {
                snprintf(errbuf, errlen, "stockd: --%s: webhook URL %d is the same as URL %d", flag,
                         cfg->n_webhook_urls + 1, i + 1);
                return -1;
            }
        if (cfg->n_webhook_urls == WEBHOOK_MAX_URLS) {
            snprintf(errbuf, errlen, "stockd: --%s: at most %d webhook URLs", flag,
                     WEBHOOK_MAX_URLS);
            return -1;
        }
        memcpy(cfg->webhook_urls[cfg->n_webhook_urls], p, n);
        cfg->webhook_urls[cfg->n_webhook_urls++][n] = '\0';
        p += n;
    }
}

/* A value quoted in an error message: control bytes become '?', so the
 * message stays on one line, and it is cut short. */
static const char *printable(const char *v, char *out, size_t outlen)
{
    size_t i = 0;
    for (; v[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    out[i] = '\0';
    return out;
}

static bool starts_like_number(const char *v)
{
    return (v[0] >= '0' && v[0] <= '9') || (v[0] == '-' && v[1] >= '0' && v[1] <= '9');
}

static int set_option(struct config *cfg, const struct option *o, const char *v, char *errbuf,
                      size_t errlen)
{
    char *where = (char *)cfg + o->where;
    char shown[128];
    switch (o->kind) {
    case OPT_HOSTPORT:
        if (config_parse_hostport(v, where, sizeof cfg->listen_host,
                                  (int *)(void *)((char *)cfg + o->port)) != 0)
            goto bad;
        return 0;
    case OPT_REDIS_URL:
        if (config_parse_redis_url(v, (struct redis_url *)(void *)where) != 0)
            goto bad;
        return 0;
    case OPT_IDENT: {
        struct ident id;
        if (!ident_check(v, strlen(v), &id))
            goto bad;
        memcpy(where, v, id.s.n + 1);
        ident_check(cfg->namespace_buf, id.s.n, &cfg->ns); /* the stored copy */
        return 0;
    }
    case OPT_PATH:
        if (strlen(v) >= sizeof cfg->auth_token_file)
            goto bad;
        strcpy(where, v);
        return 0;
    case OPT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!starts_like_number(v) || *end != '\0' || errno != 0 || x < o->min || x > o->max) {
            snprintf(errbuf, errlen, "stockd: --%s must be a whole number from %lld to %lld, not '%s'",
                     o->flag, o->min, o->max, printable(v, shown, sizeof shown));
            return -1;
        }
        *(long long *)(void *)where = x;
        return 0;
    }
    case OPT_LEVEL: {
        static const char *const levels[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, levels[i]) == 0) {
                *(enum log_level *)(void *)where = (enum log_level)i;
                return 0;
            }
        goto bad;
    }
    case OPT_URLS:
        return add_urls(cfg, o->flag, v, errbuf, errlen);
    case OPT_FORMAT:
        if (strcmp(v, "text") == 0)
            *(enum log_format *)(void *)where = LOG_TEXT;
        else if (strcmp(v, "json") == 0)
            *(enum log_format *)(void *)where = LOG_JSON;
        else
            goto bad;
        return 0;
    }
bad:
    if (o->kind == OPT_REDIS_URL) /* never echo a URL: it may hold a password */
        snprintf(errbuf, errlen, "stockd: invalid value for --%s (%s)", o->flag, o->help);
    else
        snprintf(errbuf, errlen, "stockd: invalid value for --%s: '%s' (%s)", o->flag,
                 printable(v, shown, sizeof shown), o->help);
    return -1;
}

/* The rules that tie options to each other. */
static enum config_result check_together(const struct config *cfg, char *errbuf, size_t errlen)
{
    if (cfg->n_webhook_urls > 0 && cfg->webhook_secret_file[0] == '\0') {
        snprintf(errbuf, errlen,
                 "stockd: --webhook-url needs --webhook-secret-file (the key that signs every "
                 "POST in X-Stockd-Signature)");
        return CONFIG_ERROR;
    }
    if (cfg->webhook_backoff_max_ms < cfg->webhook_backoff_ms) {
        snprintf(errbuf, errlen,
                 "stockd: --webhook-backoff-max-ms (%lld) must not be below --webhook-backoff-ms "
                 "(%lld)",
                 cfg->webhook_backoff_max_ms, cfg->webhook_backoff_ms);
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

static void print_help(FILE *out)
{
    fprintf(out, "usage: stockd [flags]\n\nA stock-reservation service over Redis.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option *o = &options[i];
        fprintf(out, "  --%-20s %s\n  %22s default: %s%s%s\n", o->flag, o->help, "",
                o->def[0] ? o->def : "(none)", o->env ? ", env " : "", o->env ? o->env : "");
    }
    fprintf(out, "  --%-20s %s\n  --%-20s %s\n", "version", "print the version and exit", "help",
            "print this help and exit");
}

enum config_result config_parse(struct config *cfg, int argc, char **argv, config_getenv_fn env,
                                void *out, char *errbuf, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    errbuf[0] = '\0';

    for (size_t i = 0; i < N_OPTIONS; i++)
        if (set_option(cfg, &options[i], options[i].def, errbuf, errlen) != 0)
            return CONFIG_ERROR;

    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = options[i].env ? env(options[i].env) : NULL;
        if (v != NULL && set_option(cfg, &options[i], v, errbuf, errlen) != 0) {
            size_t n = strlen(errbuf);
            snprintf(errbuf + n, errlen - n, " (from %s)", options[i].env);
            return CONFIG_ERROR;
        }
    }
    const char *token = env("STOCKD_AUTH_TOKEN");
    if (token != NULL && token[0] != '\0') {
        if (strlen(token) >= sizeof cfg->auth_token) {
            snprintf(errbuf, errlen, "stockd: STOCKD_AUTH_TOKEN is too long");
            return CONFIG_ERROR;
        }
        strcpy(cfg->auth_token, token);
    }

    bool urls_from_flags = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(out);
            return CONFIG_EXIT;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out, "stockd %s\n", STOCKD_VERSION);
            return CONFIG_EXIT;
        }
        if (strncmp(arg, "--", 2) != 0) {
            char shown[128];
            snprintf(errbuf, errlen, "stockd: unexpected argument '%s' (see --help)",
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
            char shown[128];
            snprintf(errbuf, errlen, "stockd: unknown flag '%s' (see --help)",
                     printable(arg, shown, sizeof shown));
            return CONFIG_ERROR;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL) {
            if (a + 1 >= argc) {
                snprintf(errbuf, errlen, "stockd: --%s needs a value", o->flag);
                return CONFIG_ERROR;
            }
            v = argv[++a];
        }
        if (o->kind == OPT_URLS && !urls_from_flags) {
            /* The flags replace the environment's list; they add to each other. */
            urls_from_flags = true;
            cfg->n_webhook_urls = 0;
        }
        if (set_option(cfg, o, v, errbuf, errlen) != 0)
            return CONFIG_ERROR;
    }
    return check_together(cfg, errbuf, errlen);
}
