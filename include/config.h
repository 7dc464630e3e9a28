/* Start-up configuration: command-line flags, each with an environment
 * variable and a default, declared once in the option table in config.c
 * (flags.c reads them). Pure: the environment is read through a callback
 * and nothing is opened, so unit tests drive it with plain arrays. */
#ifndef STOCKD_CONFIG_H
#define STOCKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "flags.h" /* enum config_result, config_getenv_fn, CONFIG_EXIT_USAGE */
#include "ident.h"
#include "log.h"

/* How stockd finds its Redis master. */
enum redis_mode {
    REDIS_DIRECT,   /* redis:// or unix://: the one address given */
    REDIS_SENTINEL, /* redis+sentinel://: asks the sentinels for the master */
    REDIS_CLUSTER,  /* redis+cluster://: the seeds' slot map, one connection per master */
};

#define REDIS_SENTINELS_MAX 16

struct redis_hostport {
    char host[256];
    int port;
};

/* Where Redis is: TCP host and port, or a unix socket path; or, with
 * Sentinel, the sentinels' addresses and the master's name. user and
 * password are the master's (ACL user, or the password alone); the
 * sentinels use sentinel_user and sentinel_password when those are set,
 * else the master's. */
struct redis_url {
    enum redis_mode mode;
    char host[256]; /* REDIS_DIRECT */
    int port;
    char unix_path[108];
    struct redis_hostport sentinels[REDIS_SENTINELS_MAX]; /* REDIS_SENTINEL, in the URL's order */
    int n_sentinels;
    struct redis_hostport seeds[REDIS_SENTINELS_MAX]; /* REDIS_CLUSTER: asked for the slot map */
    int n_seeds;
    bool cluster_node; /* a REDIS_DIRECT copy made for one master of a Cluster (cluster.c):
                        * its link leaves the process's redis_up and redis_master alone */
    char master_name[256]; /* REDIS_SENTINEL */
    char user[128];
    char password[256];
    char sentinel_user[128];
    char sentinel_password[256];
    int db;
};

/* Webhooks: how many URLs, and the longest one. */
#define WEBHOOK_MAX_URLS 8
#define WEBHOOK_URL_MAX 2048

struct config {
    char listen_host[256];
    int listen_port;
    char http_host[256];
    int http_port;
    struct redis_url redis;
    char namespace_buf[IDENT_MAX + 1];
    struct ident ns; /* points into namespace_buf */
    char auth_token_file[4096];
    char auth_token[1024]; /* from STOCKD_AUTH_TOKEN; empty: none */
    char tenants_file[4096]; /* --tenants-file; empty: one namespace, cfg->ns */
    long long request_timeout_ms;
    long long redis_stuck_ms;
    long long batch_max; /* most calls in one coalesced script call */
    long long auth_timeout_ms;
    long long write_timeout_ms;
    long long default_ttl_ms;
    long long sweep_interval_ms;
    long long retention_s;
    long long max_request_bytes;
    long long max_items;
    long long max_connections;
    long long max_pipeline;     /* requests in flight on one connection */
    long long max_inflight;     /* requests in flight in the process */
    long long max_output_bytes; /* unwritten answers before a client is not read */
    long long idle_timeout_ms;  /* a connection with nothing to do is closed */
    long long line_timeout_ms;  /* a started line must be finished within */
    long long ledger_maxlen;
    char redis_user[128];    /* --redis-user; config_parse copies it into redis.user */
    char sentinel_user[128]; /* --sentinel-user; config_parse copies it into redis.sentinel_user */
    bool redis_password_in_argv;       /* a --redis flag held a password: ps shows it, main warns */
    int durability_replicas;           /* --durability: 0 none, N: WAIT for N replicas */
    long long durability_timeout_ms;   /* WAIT's timeout */
    char redis_password_file[4096];    /* --redis-password-file; read by main */
    char sentinel_password_file[4096]; /* --sentinel-password-file; read by main */
    char webhook_urls[WEBHOOK_MAX_URLS][WEBHOOK_URL_MAX]; /* --webhook-url, in order */
    int n_webhook_urls;
    char webhook_secret_file[4096];
    char webhook_secret[4096]; /* read from the file by main; never logged */
    size_t webhook_secret_len;
    long long webhook_timeout_ms;     /* one POST, answer included */
    long long webhook_max_age_s;      /* retried until an event is this old, then dead */
    long long webhook_max_inflight;   /* POSTs in flight per URL */
    long long webhook_queue;          /* entries held in memory per URL */
    long long webhook_backoff_ms;     /* the first retry's longest wait */
    long long webhook_backoff_max_ms; /* the longest wait of any retry */
    long long webhook_lease_ms;       /* a replica's entries unclaimed this long are taken over */
    long long webhook_lag_warn_s;     /* /readyz warns when undelivered events get this old */
    long long webhook_max_rate;       /* POSTs started per second over all URLs; 0: no limit */
    enum log_level log_level;
    enum log_format log_format;
};

/* Fills cfg from defaults, then the environment, then argv (a flag wins over
 * its variable). The Redis credentials given beside the URL (--redis-user,
 * --sentinel-user, env STOCKD_REDIS_PASSWORD and STOCKD_SENTINEL_PASSWORD)
 * then win over the URL's; the password files are main's to read. --help
 * and --version write to out (a FILE *, as void * so this header needs no
 * stdio). On CONFIG_ERROR errbuf holds one line, never a password. */
enum config_result config_parse(struct config *cfg, int argc, char **argv, config_getenv_fn env,
                                void *out, char *errbuf, size_t errlen);

/* Parses redis://[user:pass@]host[:port][/db] (port 6379), unix:///path, or
 * redis+sentinel://[user:pass@]host[:port][,host[:port]...]/master[/db]
 * (port 26379, at most REDIS_SENTINELS_MAX sentinels), or
 * redis+cluster://[user:pass@]host[:port][,host[:port]...][/0] (port 6379,
 * at most REDIS_SENTINELS_MAX seeds; a db other than 0 is refused) into u. Returns 0, or
 * -1 with u zeroed and, when why is not NULL, what is wrong in why (whylen
 * bytes, one line without the URL's password, e.g. "empty host list"). */
int config_parse_redis_url(const char *s, struct redis_url *u, char *why, size_t whylen);
/* config_parse_redis_url for the value v of option `flag` of `program`:
 * -1 with errbuf "<program>: invalid value for --<flag>: <why>" (the URL
 * itself is never echoed: it may hold a password). */
int config_set_redis_url(const char *program, const char *flag, const char *v, struct redis_url *u,
                         char *errbuf, size_t errlen);
/* Checks a webhook URL: http:// or https://, a host, no white space or
 * control bytes, shorter than WEBHOOK_URL_MAX. Returns 0 or -1. */
int config_check_webhook_url(const char *s, size_t n);

#endif
