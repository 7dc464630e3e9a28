/* stockd-export: copies stockd's movement ledger ({ns}:events in Redis) into
 * a PostgreSQL table, each entry exactly once. The main thread runs a libuv
 * loop with the signals and the HTTP endpoint (health, readiness, metrics);
 * the export itself (exporter.c) runs on a second thread with blocking,
 * time-bounded calls, so that /metrics answers whatever Redis or PostgreSQL
 * do. A signal sets the stop flag and wakes the export thread through an
 * eventfd; the thread finishes the batch in hand, closes its connections
 * and tells the loop, which closes its handles and exits 0. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uv.h>

#include "exporter.h"
#include "http.h"
#include "log.h"
#include "options.h"
#include "signals.h"
#include "sink.h"
#include "stats.h"

struct app {
    uv_loop_t *loop;
    struct export_config cfg;
    char pg_password[1024];
    struct export_stats stats;
    struct responder *http;
    struct exporter *exporter;
    uv_thread_t thread;
    struct signals signals;
    uv_async_t done; /* the export thread has returned */
    atomic_bool stopping;
    int stop_fd; /* eventfd: readable once a stop is asked */
};

static void export_thread(void *data)
{
    struct app *app = data;
    exporter_run(app->exporter);
    uv_async_send(&app->done);
}

static void ask_stop(struct app *app)
{
    atomic_store(&app->stopping, true);
    uint64_t one = 1;
    if (write(app->stop_fd, &one, sizeof one) != sizeof one)
        log_warn("cannot wake the export thread: %s", strerror(errno));
}

static void on_http_stopped(void *data)
{
    struct app *app = data;
    app->http = NULL;
    signals_close(&app->signals);
    uv_close((uv_handle_t *)&app->done, NULL);
}

static void on_export_done(uv_async_t *a)
{
    struct app *app = a->data;
    uv_thread_join(&app->thread);
    /* Health and metrics stay up to the end; they go last. */
    responder_stop(app->http, on_http_stopped, app);
}

/* The first SIGTERM or SIGINT (signals.h). */
static void on_stop(void *data, int signum)
{
    struct app *app = data;
    log_info("signal %d: stopping once the batch in hand is written", signum);
    ask_stop(app);
}

/* Reads the password files into the config. Returns 0, or -1 with err. */
static int load_secrets(struct app *app, char *err, size_t errlen)
{
    struct export_config *cfg = &app->cfg;
    if (cfg->redis_password_file[0] &&
        export_read_secret(cfg->redis_password_file, "--redis-password-file", cfg->redis.password,
                           sizeof cfg->redis.password, err, errlen) != 0)
        return -1;
    if (cfg->pg_password_file[0] &&
        export_read_secret(cfg->pg_password_file, "--pg-password-file", app->pg_password,
                           sizeof app->pg_password, err, errlen) != 0)
        return -1;
    return sink_check_conninfo(cfg, err, errlen);
}

int main(int argc, char **argv)
{
    static struct app app;
    char err[512];

    int status = flags_exit_status(
        export_options_parse(&app.cfg, argc, argv, flags_getenv, stdout, err, sizeof err), err,
        stderr);
    if (status >= 0)
        return status;
    log_setup(app.cfg.log_level, app.cfg.log_format);
    if (load_secrets(&app, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CONFIG_EXIT_USAGE;
    }
    app.stop_fd = eventfd(0, EFD_CLOEXEC);
    if (app.stop_fd < 0) {
        log_error("eventfd: %s", strerror(errno));
        return 1;
    }
    atomic_init(&app.stopping, false);
    export_stats_init(&app.stats);
    app.loop = uv_default_loop();
    app.http = export_http_start(app.loop, app.cfg.http_host, app.cfg.http_port, &app.stats);
    if (app.http == NULL)
        return 1;
    signals_start(&app.signals, app.loop, on_stop, &app,
                  "second signal: exiting at once (entries read and not written stay pending "
                  "and are written by the next start)");
    uv_async_init(app.loop, &app.done, on_export_done);
    app.done.data = &app;
    log_info("health and metrics on http://%s:%d/", app.cfg.http_host, responder_port(app.http));

    app.exporter = exporter_new(&app.cfg, &app.stats, &app.stopping, app.stop_fd,
                                app.pg_password[0] ? app.pg_password : NULL);
    if (uv_thread_create(&app.thread, export_thread, &app) != 0) {
        log_error("cannot start the export thread");
        return 1;
    }
    uv_run(app.loop, UV_RUN_DEFAULT);

    exporter_free(app.exporter);
    export_stats_destroy(&app.stats);
    close(app.stop_fd);
    uv_loop_close(app.loop);
    memset(app.pg_password, 0, sizeof app.pg_password);
    log_info("stopped");
    return 0;
}
