/* Start-up configuration (see config.h). Each option is declared once in
 * STOCKD_OPTIONS; flags.c derives parsing, the environment lookup and --help
 * from it, and this file sets the kinds only stockd has. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of value only stockd has (flags.h sets the others). */
enum opt_kind {
    OPT_REDIS_URL = FLAG_CUSTOM,
    OPT_URLS,       /* repeatable: each flag adds; white space separates several in one value */
    OPT_DURABILITY, /* none, replica or replica:N: int at where */
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
      "redis://[user:pass@]host:port[/db], unix:///path or\n"                                      \
      "redis+sentinel://[user:pass@]host[:port][,host[:port]...]/MASTER[/db]\n"                    \
      "(a sentinel's port: 26379 when left out) or\n"                                              \
      "redis+cluster://[user:pass@]host[:port][,host[:port]...] (a Cluster's seeds).\n"            \
      "A password never belongs on the command line (ps shows it to every user):\n"                \
      "put it in STOCKD_REDIS_URL, STOCKD_REDIS_PASSWORD or --redis-password-file")                \
    X("redis-user", "STOCKD_REDIS_USER", "", FLAG_STRING, redis_user, NONE, 0, 0,                  \
      "the Redis master's ACL user (wins over the URL's)")                                         \
    X("redis-password-file", "STOCKD_REDIS_PASSWORD_FILE", "", FLAG_STRING, redis_password_file,   \
      NONE, 0, 0,                                                                                  \
      "file holding the master's password; wins over env STOCKD_REDIS_PASSWORD\n"                  \
      "(the password itself, never a flag), which wins over the URL's")                            \
    X("sentinel-user", "STOCKD_SENTINEL_USER", "", FLAG_STRING, sentinel_user, NONE, 0, 0,         \
      "the sentinels' ACL user (none: the master's user and password)")                            \
    X("sentinel-password-file", "STOCKD_SENTINEL_PASSWORD_FILE", "", FLAG_STRING,                  \
      sentinel_password_file, NONE, 0, 0,                                                          \
      "file holding the sentinels' password; wins over env\n"                                      \
      "STOCKD_SENTINEL_PASSWORD (the password itself, never a flag); none: the\n"                  \
      "master's")                                                                                  \
    X("namespace", "STOCKD_NAMESPACE", "inv", FLAG_IDENT, namespace_buf, NONE, 0, 0,               \
      "key namespace (hash tag)")                                                                  \
    X("auth-token-file", NULL, "", FLAG_STRING, auth_token_file, NONE, 0, 0,                       \
      "file holding the token clients must send with auth (env STOCKD_AUTH_TOKEN: the token)")     \
    X("tenants-file", "STOCKD_TENANTS_FILE", "", FLAG_STRING, tenants_file, NONE, 0, 0,            \
      "file of '<tenant> <token>' lines: auth picks the connection's tenant, whose\n"               \
      "keys carry the hash tag {<tenant>} (none: one namespace)")                                  \
    X("request-timeout-ms", "STOCKD_REQUEST_TIMEOUT_MS", "2000", FLAG_INT, request_timeout_ms,     \
      NONE, 10, 600000, "longest a request waits for Redis")                                       \
    X("redis-stuck-ms", "STOCKD_REDIS_STUCK_MS", "5000", FLAG_INT, redis_stuck_ms, NONE, 100,      \
      600000, "Redis answering nothing this long while calls wait is stuck: reconnect")            \
    X("durability", "STOCKD_DURABILITY", "none", OPT_DURABILITY, durability_replicas, NONE, 0, 0,  \
      "none, replica (replica:1) or replica:N, N from 1 to 16: a write is\n"                       \
      "answered once WAIT says N replicas have it; fewer in time: 2002 replication")               \
    X("durability-timeout-ms", "STOCKD_DURABILITY_TIMEOUT_MS", "1000", FLAG_INT,                   \
      durability_timeout_ms, NONE, 1, 600000,                                                      \
      "WAIT's timeout with --durability replica (below --request-timeout-ms\n"                     \
      "and --redis-stuck-ms)")                                                                     \
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

/* Says what is wrong with a URL (why may be NULL). The caller never passes
 * a part that could hold the password. Returns -1. */
static int url_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int url_fail(char *why, size_t whylen, const char *fmt, ...)
{
    if (why != NULL && whylen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Takes "[user:]password@" off the front of the authority p..end into u.
 * Returns where the hosts start, or NULL with why. The last '@' ends it, so
 * that a password may hold one. */
static const char *take_userinfo(const char *p, const char *end, struct redis_url *u, char *why,
                                 size_t whylen)
{
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at == NULL)
        return p;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p; /* no colon: the legacy password-only form */
    if (colon != NULL && copy_part(u->user, sizeof u->user, p, (size_t)(colon - p)) != 0) {
        url_fail(why, whylen, "the user name is longer than %zu bytes", sizeof u->user - 1);
        return NULL;
    }
    if (copy_part(u->password, sizeof u->password, pw, (size_t)(at - pw)) != 0) {
        url_fail(why, whylen, "the password is longer than %zu bytes", sizeof u->password - 1);
        return NULL;
    }
    return at + 1;
}

enum hostport_result { HOSTPORT_OK, HOSTPORT_NO_HOST, HOSTPORT_BAD_HOST, HOSTPORT_BAD_PORT };

/* Splits the n bytes at s, "host[:port]" or "[v6][:port]", into hp; the
 * port is defport when left out. Without brackets the last ':' starts the
 * port, as flags_parse_hostport has it. On HOSTPORT_BAD_PORT, *port_text
 * and *port_len say what stood there. */
static enum hostport_result split_hostport(const char *s, size_t n, int defport,
                                           struct redis_hostport *hp, const char **port_text,
                                           size_t *port_len)
{
    const char *end = s + n;
    const char *host = s, *host_end, *port = NULL;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || (close + 1 < end && close[1] != ':'))
            return HOSTPORT_BAD_HOST;
        host = s + 1;
        host_end = close;
        if (close + 1 < end)
            port = close + 2;
    } else {
        host_end = end;
        for (const char *q = s; q < end; q++)
            if (*q == ':')
                host_end = q;
        if (host_end < end)
            port = host_end + 1;
    }
    if (host_end == host)
        return HOSTPORT_NO_HOST;
    if (copy_part(hp->host, sizeof hp->host, host, (size_t)(host_end - host)) != 0)
        return HOSTPORT_BAD_HOST;
    for (const char *q = host; q < host_end; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return HOSTPORT_BAD_HOST;
    if (port == NULL) {
        hp->port = defport;
        return HOSTPORT_OK;
    }
    long v = 0;
    for (const char *q = port; q < end && v <= 65535; q++)
        v = *q >= '0' && *q <= '9' ? v * 10 + (*q - '0') : 65536;
    *port_text = port;
    *port_len = (size_t)(end - port);
    if (port == end || v < 1 || v > 65535)
        return HOSTPORT_BAD_PORT;
    hp->port = (int)v;
    return HOSTPORT_OK;
}

/* The db after the path's slash: empty (0) or a number. */
static int parse_db(const char *s, struct redis_url *u, char *why, size_t whylen)
{
    long db = 0;
    for (const char *q = s; *q != '\0'; q++) {
        if (*q < '0' || *q > '9')
            return url_fail(why, whylen, "db is not a number");
        db = db * 10 + (*q - '0');
        if (db > 65535)
            return url_fail(why, whylen, "db is above 65535");
    }
    u->db = (int)db;
    return 0;
}

/* A port that failed, quoted only when nothing after the user part holds
 * an '@': else the "port" may be a piece of a password that held a '/'. */
static int bad_port(char *why, size_t whylen, bool quotable, const char *text, size_t n,
                    const char *where)
{
    bool printable = n <= 16;
    for (size_t i = 0; i < n && printable; i++)
        printable = text[i] > 0x20 && text[i] < 0x7f;
    if (quotable && printable)
        return url_fail(why, whylen, "bad port '%.*s'%s", (int)n, text, where);
    return url_fail(why, whylen, "bad port%s", where);
}

/* unix:///path */
static int parse_unix(const char *path, struct redis_url *u, char *why, size_t whylen)
{
    if (path[0] != '/')
        return url_fail(why, whylen, "unix:// needs an absolute path (unix:///path)");
    if (copy_part(u->unix_path, sizeof u->unix_path, path, strlen(path)) != 0)
        return url_fail(why, whylen, "the socket path is longer than %zu bytes",
                        sizeof u->unix_path - 1);
    return 0;
}

/* redis://[user:pass@]host[:port][/db] */
static int parse_direct(const char *p, struct redis_url *u, char *why, size_t whylen)
{
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *hosts = take_userinfo(p, end, u, why, whylen);
    if (hosts == NULL)
        return -1;
    struct redis_hostport hp;
    const char *port_text = NULL;
    size_t port_len = 0;
    switch (split_hostport(hosts, (size_t)(end - hosts), 6379, &hp, &port_text, &port_len)) {
    case HOSTPORT_OK:
        break;
    case HOSTPORT_NO_HOST:
        return url_fail(why, whylen, "no host");
    case HOSTPORT_BAD_HOST:
        return url_fail(why, whylen, "bad host (HOST, [IPV6] or either with :PORT)");
    case HOSTPORT_BAD_PORT:
        return bad_port(why, whylen, strchr(hosts, '@') == NULL, port_text, port_len, "");
    }
    memcpy(u->host, hp.host, sizeof u->host);
    u->port = hp.port;
    return slash != NULL ? parse_db(slash + 1, u, why, whylen) : 0;
}

/* A master name goes into SENTINEL commands and log lines: printable ASCII
 * without spaces ('/' already ends it). */
static int check_master(const char *s, size_t n, char *why, size_t whylen)
{
    if (n >= sizeof((struct redis_url *)0)->master_name)
        return url_fail(why, whylen, "the master name is longer than %zu bytes",
                        sizeof((struct redis_url *)0)->master_name - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return url_fail(why, whylen,
                            "the master name may hold printable ASCII only, without spaces or "
                            "slashes");
    return 0;
}

/* The comma-separated "host[:port]" list hosts..end into hp (at most
 * REDIS_SENTINELS_MAX; *n of them), each port defport when left out. what
 * names an element in messages ("sentinel", "node"). */
static int parse_hosts(const char *hosts, const char *end, int defport, const char *what,
                       struct redis_hostport *hp, int *n, char *why, size_t whylen)
{
    bool quotable = strchr(hosts, '@') == NULL;
    if (hosts == end)
        return url_fail(why, whylen, "empty host list (host:port[,host:port...] of the %ss)", what);
    for (const char *e = hosts;;) {
        const char *comma = memchr(e, ',', (size_t)(end - e));
        const char *e_end = comma ? comma : end;
        int k = *n + 1; /* counted from 1 in messages */
        char where[48];
        snprintf(where, sizeof where, " in %s address %d", what, k);
        if (k > REDIS_SENTINELS_MAX)
            return url_fail(why, whylen, "more than %d %ss", REDIS_SENTINELS_MAX, what);
        const char *port_text = NULL;
        size_t port_len = 0;
        switch (split_hostport(e, (size_t)(e_end - e), defport, &hp[k - 1], &port_text,
                               &port_len)) {
        case HOSTPORT_OK:
            break;
        case HOSTPORT_NO_HOST:
            if (e == e_end)
                return url_fail(why, whylen, "empty host list element (%s address %d)", what, k);
            return url_fail(why, whylen, "no host%s", where);
        case HOSTPORT_BAD_HOST:
            return url_fail(why, whylen, "bad host%s (HOST, [IPV6] or either with :PORT)", where);
        case HOSTPORT_BAD_PORT:
            return bad_port(why, whylen, quotable, port_text, port_len, where);
        }
        *n = k;
        if (comma == NULL)
            return 0;
        e = comma + 1;
    }
}

/* redis+sentinel://[user:pass@]host[:port][,host[:port]...]/master[/db] */
static int parse_sentinel(const char *p, struct redis_url *u, char *why, size_t whylen)
{
    u->mode = REDIS_SENTINEL;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *hosts = take_userinfo(p, end, u, why, whylen);
    if (hosts == NULL ||
        parse_hosts(hosts, end, 26379, "sentinel", u->sentinels, &u->n_sentinels, why, whylen) != 0)
        return -1;
    const char *master = slash ? slash + 1 : NULL;
    const char *master_end = master ? master + strcspn(master, "/") : NULL;
    if (master == NULL || master_end == master)
        return url_fail(why, whylen,
                        "redis+sentinel URL has no master name "
                        "(redis+sentinel://host:port[,host:port...]/<master>[/<db>])");
    if (check_master(master, (size_t)(master_end - master), why, whylen) != 0)
        return -1;
    memcpy(u->master_name, master, (size_t)(master_end - master));
    u->master_name[master_end - master] = '\0';
    return *master_end == '/' ? parse_db(master_end + 1, u, why, whylen) : 0;
}

/* redis+cluster://[user:pass@]host[:port][,host[:port]...][/0]: the seeds
 * the slot map is first asked of. Cluster has db 0 only. */
static int parse_cluster(const char *p, struct redis_url *u, char *why, size_t whylen)
{
    u->mode = REDIS_CLUSTER;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *hosts = take_userinfo(p, end, u, why, whylen);
    if (hosts == NULL ||
        parse_hosts(hosts, end, 6379, "node", u->seeds, &u->n_seeds, why, whylen) != 0)
        return -1;
    if (slash == NULL)
        return 0;
    if (parse_db(slash + 1, u, why, whylen) != 0)
        return -1;
    if (u->db != 0)
        return url_fail(why, whylen, "db %d: Redis Cluster has db 0 only", u->db);
    return 0;
}

int config_parse_redis_url(const char *s, struct redis_url *u, char *why, size_t whylen)
{
    memset(u, 0, sizeof *u);
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    int rc;
    if (strncmp(s, "unix://", 7) == 0)
        rc = parse_unix(s + 7, u, why, whylen);
    else if (strncmp(s, "redis://", 8) == 0)
        rc = parse_direct(s + 8, u, why, whylen);
    else if (strncmp(s, "redis+sentinel://", 17) == 0)
        rc = parse_sentinel(s + 17, u, why, whylen);
    else if (strncmp(s, "redis+cluster://", 16) == 0)
        rc = parse_cluster(s + 16, u, why, whylen);
    else
        rc = url_fail(why, whylen,
                      "not a redis://, redis+sentinel://, redis+cluster:// or unix:// URL");
    if (rc != 0)
        memset(u, 0, sizeof *u); /* no half-parsed password left behind */
    return rc;
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

/* --durability: none (0), replica (1) or replica:N (N from 1 to 16). */
static int parse_durability(const char *v, int *replicas)
{
    if (strcmp(v, "none") == 0) {
        *replicas = 0;
        return 0;
    }
    if (strcmp(v, "replica") == 0) {
        *replicas = 1;
        return 0;
    }
    if (strncmp(v, "replica:", 8) != 0)
        return -1;
    int n = 0;
    for (const char *q = v + 8; *q != '\0'; q++) {
        if (*q < '0' || *q > '9' || n > 16)
            return -1;
        n = n * 10 + (*q - '0');
    }
    if (n < 1 || n > 16)
        return -1;
    *replicas = n;
    return 0;
}

int config_set_redis_url(const char *program, const char *flag, const char *v, struct redis_url *u,
                         char *errbuf, size_t errlen)
{
    char why[200];
    if (config_parse_redis_url(v, u, why, sizeof why) == 0)
        return 0;
    /* why never quotes the password. */
    snprintf(errbuf, errlen, "%s: invalid value for --%s: %s", program, flag, why);
    return -1;
}

/* The kinds only stockd has (flags_set_fn). */
static int set_option(void *data, const struct flags_table *t, const struct flag *f, const char *v,
                      enum flag_source from, char *errbuf, size_t errlen)
{
    struct config *cfg = data;
    char *where = (char *)cfg + f->where;
    switch (f->kind) {
    case OPT_REDIS_URL: {
        struct redis_url *u = (struct redis_url *)(void *)where;
        if (config_set_redis_url(t->program, f->name, v, u, errbuf, errlen) != 0)
            return -1;
        if (from >= FLAG_FROM_ARGV && u->password[0] != '\0')
            cfg->redis_password_in_argv = true; /* main warns: ps shows it */
        return 0;
    }
    case OPT_DURABILITY:
        if (parse_durability(v, (int *)(void *)where) != 0)
            return flags_bad_value(t, f, v, errbuf, errlen);
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

/* One env-only password into dst (dstlen bytes); unset or empty: none. */
static int read_password(const char *name, config_getenv_fn env, char *dst, size_t dstlen,
                         char *errbuf, size_t errlen)
{
    const char *v = env(name);
    if (v == NULL || v[0] == '\0')
        return 0;
    if (copy_part(dst, dstlen, v, strlen(v)) != 0) {
        snprintf(errbuf, errlen, "stockd: %s is longer than %zu bytes", name, dstlen - 1);
        return -1;
    }
    return 0;
}

/* The credentials given beside the URL win over the URL's own. They are
 * applied after every source is read, not as each is read: a --redis flag
 * comes last and replaces the whole URL, credentials included. Password
 * files are read later, by main, and win over both. */
static int apply_credentials(struct config *cfg, config_getenv_fn env, char *errbuf, size_t errlen)
{
    struct redis_url *u = &cfg->redis;
    if (cfg->redis_user[0] != '\0')
        memcpy(u->user, cfg->redis_user, sizeof u->user);
    if (cfg->sentinel_user[0] != '\0')
        memcpy(u->sentinel_user, cfg->sentinel_user, sizeof u->sentinel_user);
    if (read_password("STOCKD_REDIS_PASSWORD", env, u->password, sizeof u->password, errbuf,
                      errlen) != 0 ||
        read_password("STOCKD_SENTINEL_PASSWORD", env, u->sentinel_password,
                      sizeof u->sentinel_password, errbuf, errlen) != 0)
        return -1;
    return 0;
}

/* The rules that tie options to each other. */
static enum config_result check_together(const struct config *cfg, char *errbuf, size_t errlen)
{
    /* A request waits for its write's WAIT, and the link counts a WAIT in
     * flight as Redis answering nothing: the WAIT must end before either. */
    if (cfg->durability_replicas > 0 && cfg->durability_timeout_ms >= cfg->request_timeout_ms) {
        snprintf(errbuf, errlen,
                 "stockd: --durability-timeout-ms (%lld) must be below --request-timeout-ms "
                 "(%lld) with --durability replica:%d: a write's request waits for its WAIT",
                 cfg->durability_timeout_ms, cfg->request_timeout_ms, cfg->durability_replicas);
        return CONFIG_ERROR;
    }
    if (cfg->durability_replicas > 0 && cfg->durability_timeout_ms >= cfg->redis_stuck_ms) {
        snprintf(errbuf, errlen,
                 "stockd: --durability-timeout-ms (%lld) must be below --redis-stuck-ms (%lld) "
                 "with --durability replica:%d: a WAIT that long looks like a stuck Redis",
                 cfg->durability_timeout_ms, cfg->redis_stuck_ms, cfg->durability_replicas);
        return CONFIG_ERROR;
    }
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
    .epilogue = "Secrets never belong on the command line, where ps shows them to every user:\n"
                "passwords and tokens come from the environment (STOCKD_REDIS_URL,\n"
                "STOCKD_REDIS_PASSWORD, STOCKD_SENTINEL_PASSWORD, STOCKD_AUTH_TOKEN) or from\n"
                "files (--redis-password-file, --sentinel-password-file, --auth-token-file,\n"
                "--webhook-secret-file).",
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
    if (apply_credentials(cfg, env, errbuf, errlen) != 0)
        return CONFIG_ERROR;
    return check_together(cfg, errbuf, errlen);
}
