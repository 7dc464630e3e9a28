/* Start-up configuration (see config.h). Each option is declared once in
 * STOCKD_OPTIONS; flags.c derives parsing, the environment lookup and --help
 * from it, and this file sets the kinds only stockd has. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of value only stockd has (flags.h sets the others). */
enum opt_kind {
    OPT_REDIS_URL = FLAG_CUSTOM,
    OPT_URLS, /* repeatable: each flag adds; white space separates several in one value */
};

#define CFG(member) offsetof(struct config, member)
#define SIZE(member) sizeof(((struct config *)0)->member)
#define NONE 0

/* X(flag, env, default, kind, member, port (FLAG_HOSTPORT only), min, max, help) */
#define STOCKD_OPTIONS(X)                                                                          \
    X("listen", "STOCKD_LISTEN", "127.0.0.1:7400", FLAG_HOSTPORT, listen_host, CFG(listen_port),   \
      0, 0, "HOST:PORT of the JSON-RPC listener (port 0: any free port)")                          \
    X("http", "STOCKD_HTTP", "127.0.0.1:9400", FLAG_HOSTPORT, http_host, CFG(http_port), 0, 0,     \
      "HOST:PORT for health, readiness and metrics")                                               \
    X("redis", "STOCKD_REDIS_URL", "redis://127.0.0.1:6379/0", OPT_REDIS_URL, redis, NONE, 0, 0,   \
      "redis://[user:pass@]host:port[/db] or unix:///path")                                        \
    X("namespace", "STOCKD_NAMESPACE", "inv", FLAG_IDENT, namespace_buf, NONE, 0, 0,               \
      "key namespace (hash tag)")                                                                  \
    X("auth-token-file", NULL, "", FLAG_STRING, auth_token_file, NONE, 0, 0,                       \
      "file holding the token clients must send with auth (env STOCKD_AUTH_TOKEN: the token)")     \
    X("request-timeout-ms", "STOCKD_REQUEST_TIMEOUT_MS", "2000", FLAG_INT, request_timeout_ms,     \
      NONE, 10, 600000, "longest a request waits for Redis")                                       \
    X("redis-stuck-ms", "STOCKD_REDIS_STUCK_MS", "5000", FLAG_INT, redis_stuck_ms, NONE, 100,      \
      600000, "Redis answering nothing this long while calls wait is stuck: reconnect")            \
    X("batch-max", "STOCKD_BATCH_MAX", "64", FLAG_INT, batch_max, NONE, 1, 1024,                   \
      "most reserves in one coalesced script call (1: none coalesced)")                            \
    X("default-ttl-ms", "STOCKD_DEFAULT_TTL_MS", "900000", FLAG_INT, default_ttl_ms, NONE, 1000,   \
      86400000, "hold time of a reservation without ttl_ms")                                       \
    X("sweep-interval-ms", "STOCKD_SWEEP_INTERVAL_MS", "250", FLAG_INT, sweep_interval_ms, NONE,   \
      10, 60000, "how often expired holds are released")                                           \
    X("retention-s", "STOCKD_RETENTION_S", "86400", FLAG_INT, retention_s, NONE, 1, 31536000,      \
      "how long finished reservations stay readable")                                              \
    X("max-request-bytes", "STOCKD_MAX_REQUEST_BYTES", "65536", FLAG_INT, max_request_bytes, NONE, \
      256, 16777216, "longest request line")                                                       \
    X("max-items", "STOCKD_MAX_ITEMS", "100", FLAG_INT, max_items, NONE, 1, 1000,                  \
      "most lines in one reserve")                                                                 \
    X("max-connections", "STOCKD_MAX_CONNECTIONS", "10000", FLAG_INT, max_connections, NONE, 1,    \
      1000000, "most client connections at once")                                                  \
    X("max-pipeline", "STOCKD_MAX_PIPELINE", "1024", FLAG_INT, max_pipeline, NONE, 1, 1000000,     \
      "requests in flight on one connection; beyond: 2003")                                        \
    X("max-inflight", "STOCKD_MAX_INFLIGHT", "100000", FLAG_INT, max_inflight, NONE, 1, 10000000,  \
      "requests in flight in the process; beyond: 2003")                                           \
    X("max-output-bytes", "STOCKD_MAX_OUTPUT_BYTES", "1048576", FLAG_INT, max_output_bytes, NONE,  \
      4096, 1073741824, "unwritten answers to a client before it is not read from")                \
    X("idle-timeout-ms", "STOCKD_IDLE_TIMEOUT_MS", "300000", FLAG_INT, idle_timeout_ms, NONE, 100, \
      86400000, "a connection with nothing in flight and no new line is closed")                   \
    X("auth-timeout-ms", "STOCKD_AUTH_TIMEOUT_MS", "10000", FLAG_INT, auth_timeout_ms, NONE, 100,  \
      3600000, "with auth on, a connection must authenticate within this time")                    \
    X("write-timeout-ms", "STOCKD_WRITE_TIMEOUT_MS", "30000", FLAG_INT, write_timeout_ms, NONE,    \
      100, 3600000, "a client that takes no answer bytes for this long is closed")                 \
    X("line-timeout-ms", "STOCKD_LINE_TIMEOUT_MS", "10000", FLAG_INT, line_timeout_ms, NONE, 100,  \
      3600000, "a request line must be finished within this time once started")                    \
    X("ledger-maxlen", "STOCKD_LEDGER_MAXLEN", "1000000", FLAG_INT, ledger_maxlen, NONE, 1000,     \
      1000000000, "about how many movements the ledger stream keeps")                              \
    X("webhook-url", "STOCKD_WEBHOOK_URL", "", OPT_URLS, webhook_urls, NONE, 0, 0,                 \
      "POST every stock-level event to this http(s) URL (repeatable, up to 8; env: "               \
      "space-separated)")                                                                          \
    X("webhook-secret-file", "STOCKD_WEBHOOK_SECRET_FILE", "", FLAG_STRING, webhook_secret_file,   \
      NONE, 0, 0, "file holding the HMAC-SHA256 key of X-Stockd-Signature (needed with a URL)")    \
    X("webhook-timeout-ms", "STOCKD_WEBHOOK_TIMEOUT_MS", "5000", FLAG_INT, webhook_timeout_ms,     \
      NONE, 100, 600000, "a POST without a whole answer in this time failed")                      \
    X("webhook-max-age-s", "STOCKD_WEBHOOK_MAX_AGE_S", "86400", FLAG_INT, webhook_max_age_s, NONE, \
      1, 2592000, "an event is retried until it is this old, then moved to the dead letters")      \
    X("webhook-max-inflight", "STOCKD_WEBHOOK_MAX_INFLIGHT", "16", FLAG_INT, webhook_max_inflight, \
      NONE, 1, 1000, "POSTs in flight at once, per URL")                                           \
    X("webhook-queue", "STOCKD_WEBHOOK_QUEUE", "1000", FLAG_INT, webhook_queue, NONE, 1, 100000,   \
      "events held in memory per URL (read from Redis only while there is room)")                  \
    X("webhook-backoff-ms", "STOCKD_WEBHOOK_BACKOFF_MS", "1000", FLAG_INT, webhook_backoff_ms,     \
      NONE, 1, 3600000, "longest wait before the first retry (doubles per failure, full jitter)")  \
    X("webhook-backoff-max-ms", "STOCKD_WEBHOOK_BACKOFF_MAX_MS", "300000", FLAG_INT,               \
      webhook_backoff_max_ms, NONE, 1, 86400000, "longest wait before any retry")                  \
    X("webhook-lease-ms", "STOCKD_WEBHOOK_LEASE_MS", "30000", FLAG_INT, webhook_lease_ms, NONE,    \
      1000, 3600000, "events of a replica silent this long are delivered by another")              \
    X("webhook-lag-warn-s", "STOCKD_WEBHOOK_LAG_WARN_S", "300", FLAG_INT, webhook_lag_warn_s,      \
      NONE, 1, 2592000, "/readyz warns when an undelivered event is this old")                     \
    X("webhook-max-rate", "STOCKD_WEBHOOK_MAX_RATE", "1000", FLAG_INT, webhook_max_rate, NONE, 0,  \
      1000000,                                                                                     \
      "POSTs started per second over all URLs, in bursts of a tenth of it (0: no limit), so "      \
      "that delivering a burst of events leaves the CPU to reservations")                          \
    X("log-level", "STOCKD_LOG_LEVEL", "info", FLAG_LEVEL, log_level, NONE, 0, 0,                  \
      "debug, info, warn or error")                                                                \
    X("log-format", "STOCKD_LOG_FORMAT", "text", FLAG_FORMAT, log_format, NONE, 0, 0,              \
      "text or json")

static const struct flag options[] = {
#define X(flag, env, def, kind, member, port, min, max, help)                                      \
    {flag, env, def, kind, CFG(member), SIZE(member), port, min, max, help},
    STOCKD_OPTIONS(X)
#undef X
};

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
    if (flags_parse_hostport(hostport, u->host, sizeof u->host, &u->port) != 0 || u->port == 0)
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

/* The kinds only stockd has (flags_set_fn). */
static int set_option(void *data, const struct flags_table *t, const struct flag *f, const char *v,
                      enum flag_source from, char *errbuf, size_t errlen)
{
    struct config *cfg = data;
    switch (f->kind) {
    case OPT_REDIS_URL:
        if (config_parse_redis_url(v, (struct redis_url *)(void *)((char *)cfg + f->where)) != 0)
            return flags_bad_value(t, f, NULL, errbuf, errlen); /* it may hold a password */
        return 0;
    case OPT_URLS:
        if (from == FLAG_FROM_ARGV) /* the flags replace the environment's list */
            cfg->n_webhook_urls = 0;
        return add_urls(cfg, f->name, v, errbuf, errlen);
    }
    return flags_bad_value(t, f, v, errbuf, errlen);
}

/* STOCKD_AUTH_TOKEN: a token is never a flag (flags_env_fn). */
static int read_token(void *data, config_getenv_fn env, char *errbuf, size_t errlen)
{
    struct config *cfg = data;
    const char *token = env("STOCKD_AUTH_TOKEN");
    if (token != NULL && token[0] != '\0') {
        if (strlen(token) >= sizeof cfg->auth_token) {
            snprintf(errbuf, errlen, "stockd: STOCKD_AUTH_TOKEN is too long");
            return -1;
        }
        strcpy(cfg->auth_token, token);
    }
    return 0;
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

static const struct flags_table stockd_flags = {
    .program = "stockd",
    .about = "A stock-reservation service over Redis.",
    .flags = options,
    .n_flags = sizeof options / sizeof options[0],
    .cfg_size = sizeof(struct config),
    .help_in_errors = true,
    .set = set_option,
    .env_only = read_token,
};

enum config_result config_parse(struct config *cfg, int argc, char **argv, config_getenv_fn env,
                                void *out, char *errbuf, size_t errlen)
{
    enum config_result r = flags_parse(&stockd_flags, cfg, argc, argv, env, out, errbuf, errlen);
    if (r != CONFIG_OK)
        return r;
    ident_check(cfg->namespace_buf, strlen(cfg->namespace_buf), &cfg->ns); /* the stored copy */
    return check_together(cfg, errbuf, errlen);
}
