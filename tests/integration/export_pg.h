/* A real PostgreSQL for the export tests: Debian's postgresql (initdb and
 * the server from /usr/lib/postgresql/15/bin, or STOCKD_PG_BIN_DIR), in the
 * harness's temp dir, reachable only through a unix socket there, under a
 * port number that was free. Run as the user `postgres` when the tests run
 * as root (PostgreSQL refuses root). The server is a child of the test
 * program that the kernel kills when the program dies, and its files go
 * with the harness's temp dir, however the program ends. */
#ifndef STOCKD_TEST_EXPORT_PG_H
#define STOCKD_TEST_EXPORT_PG_H

#include <stdbool.h>
#include <sys/types.h>

#include <libpq-fe.h>

struct export_pg {
    char dir[512]; /* the data dir's parent and the socket's dir */
    int port;
    pid_t pid; /* the postmaster; 0 when stopped */
    char conninfo[700];
};

/* initdb in <H.dir>/pg (H must be running). Fails the test program when it
 * cannot. */
void export_pg_init(struct export_pg *pg);
/* Starts the server and waits until it accepts connections. */
void export_pg_start(struct export_pg *pg);
/* Stops it: a fast shutdown, or an immediate one (no checkpoint: the next
 * start recovers from the WAL, as after a crash). Waits for it to end. */
void export_pg_stop(struct export_pg *pg, bool immediate);

/* A connection; fails the test when there is none. PQfinish it. */
PGconn *export_pg_connect(const struct export_pg *pg);
/* Runs sql; fails the test unless it succeeds. PQclear the result. */
PGresult *export_pg_query(PGconn *c, const char *sql);
/* The one value sql returns, as a number (-1 for NULL). */
long long export_pg_number(PGconn *c, const char *sql);

#endif
