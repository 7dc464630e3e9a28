/* stockd: start-up, signals and shutdown. Wires config -> store (Redis) ->
 * request pool (requests) -> server (clients) onto one libuv loop, with the
 * sweeper, the webhook deliverer (when URLs are configured) and the HTTP
 * endpoint beside them; with --tenants-file, the tenants they all share. */
#include <errno.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "closer.h"
#include "config.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "server.h"
#include "signals.h"
#include "store.h"
#include "sweeper.h"
#include "tenants.h"
#include "webhook.h"
#include "webhook_http.h"

struct app {
    uv_loop_t *loop;
    struct config cfg;
    struct store *store;
    struct sweeper *sweeper;
    struct webhook *webhook; /* NULL without --webhook-url */
    struct request_pool *pool;
    struct server *server;
    struct http_server *http;
    struct metrics metrics;
    struct tenants tenants; /* with --tenants-file; empty without */
    struct signals signals;
    uv_timer_t housekeeping; /* once a second: summaries of repeated log lines */
    struct closer closer;    /* the store, the sweeper and the webhooks, then the rest */
};

/* Reads the secret in path (flag names the flag that gave it) into out
 * (size bytes, NUL-terminated): the whole file but the trailing white space
 * an editor leaves, 1 to size - 1 bytes, and with text no NUL byte either
 * (a token or a password is a C string). *len (when not NULL) gets its
 * length. Returns 0, or -1 with out wiped and a message in err that never
 * shows the secret. */
static int load_secret(const char *path, const char *flag, const char *what, bool text, char *out,
                       size_t size, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "stockd: cannot read --%s: %s", flag, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, size - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 &&
           (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    if (more || n == 0 || (text && strlen(out) != n)) {
        memset(out, 0, size);
        snprintf(err, errlen, "stockd: --%s must hold one %s of 1 to %zu bytes", flag, what,
                 size - 1);
        return -1;
    }
    if (len != NULL)
        *len = n;
    return 0;
}

/* Reads the secrets that come from files into cfg; a password file wins
 * over the environment and the URL. Returns 0, or -1 with err. */
static int load_secrets(struct config *cfg, char *err, size_t errlen)
{
    struct redis_url *u = &cfg->redis;
    if (cfg->auth_token_file[0] != '\0' &&
        load_secret(cfg->auth_token_file, "auth-token-file", "token", true, cfg->auth_token,
                    sizeof cfg->auth_token, NULL, err, errlen) != 0)
        return -1;
    if (cfg->n_webhook_urls > 0 &&
        load_secret(cfg->webhook_secret_file, "webhook-secret-file", "secret", false,
                    cfg->webhook_secret, sizeof cfg->webhook_secret, &cfg->webhook_secret_len, err,
                    errlen) != 0)
        return -1;
    if (cfg->redis_password_file[0] != '\0' &&
        load_secret(cfg->redis_password_file, "redis-password-file", "password", true, u->password,
                    sizeof u->password, NULL, err, errlen) != 0)
        return -1;
    if (cfg->sentinel_password_file[0] != '\0' &&
        load_secret(cfg->sentinel_password_file, "sentinel-password-file", "password", true,
                    u->sentinel_password, sizeof u->sentinel_password, NULL, err, errlen) != 0)
        return -1;
    return 0;
}

/* --tenants-file: what it cannot go with, then the file. Returns 0, or -1
 * with err (a line that never shows a token). */
static int load_tenants(struct config *cfg, struct tenants *ts, char *err, size_t errlen)
{
    if (cfg->tenants_file[0] == '\0')
        return 0;
    /* A tenant's token is its only key: one shared token besides would let
     * its holder in as nobody in particular. */
    if (cfg->auth_token_file[0] != '\0' || cfg->auth_token[0] != '\0') {
        snprintf(err, errlen,
                 "stockd: --tenants-file cannot be used with --auth-token-file or "
                 "STOCKD_AUTH_TOKEN: each tenant's token is its auth token");
        return -1;
    }
    /* The deliverer reads one namespace's events; tenants have one each. */
    if (cfg->n_webhook_urls > 0) {
        snprintf(err, errlen,
                 "stockd: --tenants-file cannot be used with --webhook-url: webhook delivery "
                 "is per namespace and not offered with tenants");
        return -1;
    }
    char why[4608];
    if (tenants_load(ts, cfg->tenants_file, why, sizeof why) != 0) {
        snprintf(err, errlen, "stockd: --tenants-file: %s", why);
        return -1;
    }
    return 0;
}

/* Each client connection is a file descriptor: allow as many as the hard
 * limit permits, so --max-connections is what limits them. */
static void raise_fd_limit(const struct config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the open-file limit: %s", strerror(errno));
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)cfg->max_connections + 64)
        log_warn("open-file limit %llu is below --max-connections %lld: connections beyond it "
                 "will be refused by accept",
                 (unsigned long long)rl.rlim_cur, cfg->max_connections);
}

static void on_http_stopped(void *data)
{
    struct app *app = data;
    app->http = NULL;
    signals_close(&app->signals);
    uv_close((uv_handle_t *)&app->housekeeping, NULL);
}

static void on_parts_closed(void *data)
{
    struct app *app = data;
    app->store = NULL;
    app->sweeper = NULL;
    app->webhook = NULL;
    /* Health and metrics stay up to the end; they go last. */
    http_stop(app->http, on_http_stopped, app);
}

static void on_part_closed(void *data)
{
    closer_release(&((struct app *)data)->closer);
}

static void on_server_stopped(void *data)
{
    struct app *app = data;
    app->server = NULL;
    log_info("all connections answered and closed");
    /* The store first: closing it ends the sweeper's call in flight, while
     * the sweeper is still there to take the answer. */
    closer_begin(&app->closer, on_parts_closed, app);
    closer_hold(&app->closer);
    store_close(app->store, on_part_closed, app);
    closer_hold(&app->closer);
    sweeper_close(app->sweeper, on_part_closed, app);
    if (app->webhook != NULL) {
        closer_hold(&app->closer);
        webhook_close(app->webhook, on_part_closed, app);
    }
    closer_end(&app->closer);
}

static void on_housekeeping(uv_timer_t *t)
{
    (void)t;
    log_flush_repeats();
}

/* The first SIGTERM or SIGINT (signals.h). */
static void on_stop(void *data, int signum)
{
    struct app *app = data;
    log_info("signal %d: draining (answering every request already read)", signum);
    http_set_draining(app->http); /* /readyz: 503 from now on */
    server_stop(app->server, on_server_stopped, app);
}

int main(int argc, char **argv)
{
    static struct app app;
    char err[5120];

    int status = flags_exit_status(
        config_parse(&app.cfg, argc, argv, flags_getenv, stdout, err, sizeof err), err, stderr);
    if (status >= 0)
        return status;
    log_setup(app.cfg.log_level, app.cfg.log_format);
    if (load_tenants(&app.cfg, &app.tenants, err, sizeof err) != 0 ||
        load_secrets(&app.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CONFIG_EXIT_USAGE;
    }
    if (app.cfg.redis_password_in_argv)
        log_warn("the password in the --redis flag is visible to every user of this machine "
                 "(ps, /proc): give it in STOCKD_REDIS_URL, STOCKD_REDIS_PASSWORD or "
                 "--redis-password-file instead");
    raise_fd_limit(&app.cfg);

    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    app.loop = uv_default_loop();
    metrics_init(&app.metrics);
    app.store = store_new(app.loop, &app.cfg, &app.metrics, "redis");
    app.sweeper = sweeper_new(app.loop, app.store, &app.cfg, &app.metrics);
    struct tenants *tenants = app.tenants.n > 0 ? &app.tenants : NULL;
    if (tenants != NULL)
        sweeper_tenants(app.sweeper, tenants);
    if (app.cfg.n_webhook_urls > 0) {
        /* libcurl's (and its TLS library's) process-wide set-up: before any
         * thread, undone at exit. */
        if (webhook_http_global_init() != 0) {
            fprintf(stderr, "stockd: libcurl could not be initialised\n");
            return 1;
        }
        app.webhook = webhook_new(app.loop, &app.cfg, &app.metrics);
        if (app.webhook == NULL)
            return 1;
    }
    app.pool = request_pool_new(app.store, &app.cfg, &app.metrics, dispatch_handlers);
    if (tenants != NULL) {
        request_pool_tenants(app.pool, tenants);
        request_pool_on_hold(app.pool, sweeper_note_hold, app.sweeper);
    }
    app.server = server_start(app.loop, &app.cfg, app.pool, &app.metrics);
    if (app.server == NULL)
        return 1;
    app.http = http_start(app.loop, &app.cfg, &app.metrics, app.store, tenants, app.pool);
    if (app.http == NULL)
        return 1;

    signals_start(&app.signals, app.loop, on_stop, &app, "second signal: exiting at once");
    uv_timer_init(app.loop, &app.housekeeping);
    uv_timer_start(&app.housekeeping, on_housekeeping, 1000, 1000);

    store_start(app.store);
    sweeper_start(app.sweeper);
    if (app.webhook != NULL)
        webhook_start(app.webhook);
    if (tenants != NULL)
        log_info("tenants: %zu from %s (each connection authenticates as one)", tenants->n,
                 app.cfg.tenants_file);
    log_info("listening on %s:%d%s", app.cfg.listen_host, server_port(app.server),
             request_auth_required(app.pool) ? " (clients must auth)" : "");
    log_info("health and metrics on http://%s:%d/", app.cfg.http_host, http_port(app.http));

    uv_run(app.loop, UV_RUN_DEFAULT);

    request_pool_free(app.pool);
    tenants_free(&app.tenants);
    log_flush_repeats();
    uv_loop_close(app.loop);
    if (app.cfg.n_webhook_urls > 0)
        webhook_http_global_cleanup();
    log_info("stopped");
    return 0;
}
