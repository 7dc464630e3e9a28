/* stockd: start-up, signals and shutdown. Wires config -> store (Redis) ->
 * service (requests) -> server (clients) onto one libuv loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "service.h"
#include "store.h"
#include "sweeper.h"

struct app {
    uv_loop_t *loop;
    struct config cfg;
    struct store *store;
    struct sweeper *sweeper;
    struct service *svc;
    struct server *server;
    uv_signal_t sigterm, sigint;
    int signals;
    int closing; /* store and sweeper still closing */
};

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static void on_part_closed(void *data)
{
    struct app *app = data;
    if (--app->closing > 0)
        return;
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
}

static void on_server_stopped(void *data)
{
    struct app *app = data;
    app->server = NULL;
    log_info("all connections answered and closed");
    /* The store first: closing it answers the sweeper's call in flight,
     * while the sweeper is still there to take the answer. */
    app->closing = 2;
    store_close(app->store, on_part_closed, app);
    sweeper_close(app->sweeper, on_part_closed, app);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *app = h->data;
    if (++app->signals > 1) {
        log_warn("second signal: exiting at once");
        _exit(1);
    }
    log_info("signal %d: draining (answering every request already read)", signum);
    server_stop(app->server, on_server_stopped, app);
}

int main(int argc, char **argv)
{
    static struct app app;
    char err[512];

    switch (config_parse(&app.cfg, argc, argv, env_lookup, stdout, err, sizeof err)) {
    case CONFIG_EXIT:
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "%s\n", err);
        return CONFIG_EXIT_USAGE;
    case CONFIG_OK:
        break;
    }
    log_setup(app.cfg.log_level, app.cfg.log_format);
    if (app.cfg.auth_token_file[0] != '\0' || app.cfg.auth_token[0] != '\0') {
        fprintf(stderr, "stockd: client authentication is not available in this version\n");
        return CONFIG_EXIT_USAGE;
    }

    /* A write to a socket the peer closed must be an error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    app.loop = uv_default_loop();
    app.store = store_new(app.loop, &app.cfg);
    app.sweeper = sweeper_new(app.loop, app.store, &app.cfg);
    app.svc = service_new(app.store, app.sweeper, &app.cfg);
    app.server = server_start(app.loop, &app.cfg, app.svc);
    if (app.server == NULL)
        return 1;

    uv_signal_init(app.loop, &app.sigterm);
    uv_signal_init(app.loop, &app.sigint);
    app.sigterm.data = app.sigint.data = &app;
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);

    store_start(app.store);
    sweeper_start(app.sweeper);
    log_info("listening on %s:%d", app.cfg.listen_host, server_port(app.server));

    uv_run(app.loop, UV_RUN_DEFAULT);

    service_free(app.svc);
    uv_loop_close(app.loop);
    log_info("stopped");
    return 0;
}
