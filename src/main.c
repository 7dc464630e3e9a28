/* stockd: start-up, signals and shutdown. Wires config -> store (Redis) ->
 * request pool (requests) -> server (clients) onto one libuv loop, with the
 * sweeper, the webhook deliverer (when URLs are configured) and the HTTP
 * endpoint beside them. */
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
    struct signals signals;
    uv_timer_t housekeeping; /* once a second: summaries of repeated log lines */
    struct closer closer;    /* the store, the sweeper and the webhooks, then the rest */
};

/* Reads the auth token from its file into cfg (trailing white space, as
 * an editor leaves it, is not part of it). Returns 0, or -1 with a message
 * that never shows the token. */
static int load_token(struct config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(cfg->auth_token_file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "stockd: cannot read --auth-token-file: %s", strerror(errno));
        return -1;
    }
    size_t n = fread(cfg->auth_token, 1, sizeof cfg->auth_token - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && (cfg->auth_token[n - 1] == '\n' || cfg->auth_token[n - 1] == '\r' ||
                     cfg->auth_token[n - 1] == ' ' || cfg->auth_token[n - 1] == '\t'))
        n--;
    cfg->auth_token[n] = '\0';
    if (more || n == 0 || strlen(cfg->auth_token) != n) {
        snprintf(err, errlen, "stockd: --auth-token-file must hold one token of 1 to %zu bytes",
                 sizeof cfg->auth_token - 1);
        return -1;
    }
    return 0;
}

/* Reads the webhook secret from its file into cfg (trailing white space is
 * not part of it). Returns 0, or -1 with a message that never shows it. */
static int load_webhook_secret(struct config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(cfg->webhook_secret_file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "stockd: cannot read --webhook-secret-file: %s", strerror(errno));
        return -1;
    }
    size_t n = fread(cfg->webhook_secret, 1, sizeof cfg->webhook_secret - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && (cfg->webhook_secret[n - 1] == '\n' || cfg->webhook_secret[n - 1] == '\r' ||
                     cfg->webhook_secret[n - 1] == ' ' || cfg->webhook_secret[n - 1] == '\t'))
        n--;
    cfg->webhook_secret[n] = '\0';
    cfg->webhook_secret_len = n;
    if (more || n == 0) {
        snprintf(err, errlen,
                 "stockd: --webhook-secret-file must hold one secret of 1 to %zu bytes",
                 sizeof cfg->webhook_secret - 1);
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
    char err[512];

    int status = flags_exit_status(
        config_parse(&app.cfg, argc, argv, flags_getenv, stdout, err, sizeof err), err, stderr);
    if (status >= 0)
        return status;
    log_setup(app.cfg.log_level, app.cfg.log_format);
    if (app.cfg.auth_token_file[0] != '\0' && load_token(&app.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CONFIG_EXIT_USAGE;
    }
    if (app.cfg.n_webhook_urls > 0 && load_webhook_secret(&app.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CONFIG_EXIT_USAGE;
    }
    raise_fd_limit(&app.cfg);

    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    app.loop = uv_default_loop();
    metrics_init(&app.metrics);
    app.store = store_new(app.loop, &app.cfg, &app.metrics);
    app.sweeper = sweeper_new(app.loop, app.store, &app.cfg, &app.metrics);
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
    app.pool =
        request_pool_new(app.store, &app.cfg, &app.metrics, dispatch_handlers);
    app.server = server_start(app.loop, &app.cfg, app.pool, &app.metrics);
    if (app.server == NULL)
        return 1;
    app.http = http_start(app.loop, &app.cfg, &app.metrics, app.store);
    if (app.http == NULL)
        return 1;

    signals_start(&app.signals, app.loop, on_stop, &app, "second signal: exiting at once");
    uv_timer_init(app.loop, &app.housekeeping);
    uv_timer_start(&app.housekeeping, on_housekeeping, 1000, 1000);

    store_start(app.store);
    sweeper_start(app.sweeper);
    if (app.webhook != NULL)
        webhook_start(app.webhook);
    log_info("listening on %s:%d%s", app.cfg.listen_host, server_port(app.server),
             app.cfg.auth_token[0] ? " (clients must auth)" : "");
    log_info("health and metrics on http://%s:%d/", app.cfg.http_host, http_port(app.http));

    uv_run(app.loop, UV_RUN_DEFAULT);

    request_pool_free(app.pool);
    log_flush_repeats();
    uv_loop_close(app.loop);
    if (app.cfg.n_webhook_urls > 0)
        webhook_http_global_cleanup();
    log_info("stopped");
    return 0;
}
