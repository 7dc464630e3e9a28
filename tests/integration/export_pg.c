/* A real PostgreSQL for the export tests (see export_pg.h). */
#include "export_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define READY_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 30000

static const char *bin_dir(void)
{
    const char *d = getenv("STOCKD_PG_BIN_DIR");
    return d ? d : "/usr/lib/postgresql/15/bin";
}

static const struct passwd *pg_user(void)
{
    if (getuid() != 0)
        return NULL;
    const struct passwd *pw = getpwnam("postgres");
    if (pw == NULL) {
        fprintf(stderr, "export_pg: running as root and there is no user postgres\n");
        exit(1);
    }
    return pw;
}

static void print_tail(const char *path)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "tail -n 20 '%s' >&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "(no %s)\n", path);
}

void export_pg_init(struct export_pg *pg)
{
    memset(pg, 0, sizeof *pg);
    const struct passwd *pw = pg_user();
    /* The user postgres must reach its dir inside the harness's. */
    if (pw && chmod(H.dir, 0711) != 0) {
        fprintf(stderr, "export_pg: chmod %s: %s\n", H.dir, strerror(errno));
        exit(1);
    }
    snprintf(pg->dir, sizeof pg->dir, "%.400s/pg", H.dir);
    if (mkdir(pg->dir, 0700) != 0 || (pw && chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0)) {
        fprintf(stderr, "export_pg: %s: %s\n", pg->dir, strerror(errno));
        exit(1);
    }
    char cmd[2048], log[600];
    snprintf(log, sizeof log, "%s/initdb.log", pg->dir);
    snprintf(cmd, sizeof cmd,
             "%s'%s/initdb' -D '%s/data' --no-locale -E UTF8 -A trust -U postgres --no-sync "
             ">'%s' 2>&1",
             pw ? "runuser -u postgres -- " : "", bin_dir(), pg->dir, log);
    if (system(cmd) != 0) {
        print_tail(log);
        fprintf(stderr, "export_pg: initdb failed\n");
        exit(1);
    }
    pg->port = harness_free_port();
    snprintf(pg->conninfo, sizeof pg->conninfo, "host=%s port=%d user=postgres dbname=postgres",
             pg->dir, pg->port);
}

/* The child: becomes the user postgres, dies with the test program, and
 * runs the server in the foreground. */
static void run_server(const struct export_pg *pg, pid_t parent)
{
    char log[600], data[600], port[16], sock[600];
    snprintf(log, sizeof log, "%s/server.log", pg->dir);
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(port, sizeof port, "%d", pg->port);
    snprintf(sock, sizeof sock, "%s", pg->dir);
    const struct passwd *pw = pg_user();
    if (pw && (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0))
        _exit(126);
    /* After setuid: a change of user clears the parent-death signal. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    char server[600];
    snprintf(server, sizeof server, "%s/postgres", bin_dir());
    char *argv[] = {server,
                    "-D",
                    data,
                    "-p",
                    port,
                    "-k",
                    sock,
                    "-c",
                    "listen_addresses=",
                    "-c",
                    "max_connections=20",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "log_min_messages=warning",
                    NULL};
    execv(server, argv);
    _exit(127);
}

void export_pg_start(struct export_pg *pg)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "export_pg: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid == 0)
        run_server(pg, parent);
    pg->pid = pid;
    long long deadline = harness_now_ms() + READY_TIMEOUT_MS;
    while (PQping(pg->conninfo) != PQPING_OK) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid || harness_now_ms() > deadline) {
            char log[600];
            snprintf(log, sizeof log, "%s/server.log", pg->dir);
            print_tail(log);
            fail_msg("postgres did not start (status 0x%x)", st);
        }
        poll(NULL, 0, 20); /* a readiness probe's pace, not a wait for an event */
    }
}

void export_pg_stop(struct export_pg *pg, bool immediate)
{
    if (pg->pid <= 0)
        return;
    /* SIGINT: fast shutdown; SIGQUIT: immediate, recovery at the next start. */
    kill(pg->pid, immediate ? SIGQUIT : SIGINT);
    long long deadline = harness_now_ms() + STOP_TIMEOUT_MS;
    int st;
    while (waitpid(pg->pid, &st, WNOHANG) == 0) {
        if (harness_now_ms() > deadline) {
            kill(pg->pid, SIGKILL);
            waitpid(pg->pid, &st, 0);
            break;
        }
        poll(NULL, 0, 20);
    }
    pg->pid = 0;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *export_pg_connect(const struct export_pg *pg)
{
    PGconn *c = PQconnectdb(pg->conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect to postgres: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

PGresult *export_pg_query(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    return r;
}

long long export_pg_number(PGconn *c, const char *sql)
{
    PGresult *r = export_pg_query(c, sql);
    if (PQntuples(r) != 1 || PQnfields(r) != 1)
        fail_msg("%s: %d rows", sql, PQntuples(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}
