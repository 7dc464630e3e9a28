/* The export tests' side of stockd-export: starting and stopping the real
 * binary against the harness's Redis and a test PostgreSQL, reading its
 * log and /metrics, filling the ledger, and comparing the table with the
 * ledger stream row by row. */
#ifndef STOCKD_TEST_EXPORT_PROC_H
#define STOCKD_TEST_EXPORT_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "export_pg.h"

#define EXPORT_LEDGER_KEY "{inv}:events"
#define EXPORT_GROUP "stockd-export"

struct export_proc {
    pid_t pid; /* 0 once it has ended */
    int http_port;
    char log_path[600];
};

/* Starts stockd-export (its own log file) writing into table, with extra
 * flags (NULL-terminated, may be NULL), and waits until it serves HTTP. It
 * is killed with the test program, or by export_kill_all. */
void export_start(struct export_proc *p, const struct export_pg *pg, const char *table,
                  const char *const *args);
/* SIGTERM, then waits for it (30 s at most). Returns the wait status. */
int export_stop(struct export_proc *p);
/* SIGKILL, then reaps it. */
void export_kill(struct export_proc *p);
/* Kills every exporter still running (a failed test's teardown), after
 * printing the end of its log. */
void export_kill_all(void);

/* One sample of its /metrics ("name{labels}"); -1 when absent. Fails the
 * test when /metrics does not answer. */
double export_metric(const struct export_proc *p, const char *series);
/* Lines of its log holding needle. */
int export_log_count(const struct export_proc *p, const char *needle);
/* The first line of its log holding needle (malloc'd), or NULL. */
char *export_log_line(const struct export_proc *p, const char *needle);
/* Waits until its log holds needle; fails the test after timeout_ms. */
void export_wait_log(const struct export_proc *p, const char *needle, int timeout_ms);
/* Waits until a sample reaches at least min; fails after timeout_ms. */
void export_wait_metric(const struct export_proc *p, const char *series, double min,
                        int timeout_ms);

/* Appends n entries in the ledger's format straight to the stream
 * (pipelined), with every type, signed quantities, empty and non-empty
 * reservations and reasons, and reasons with UTF-8, a backslash, a tab
 * and quotes. Entries differ by seed. */
void export_add_entries(long long n, unsigned seed);
/* Waits until the group has acknowledged every entry of the stream (which
 * the exporter does only once they are committed in the table). */
void export_wait_caught_up(int timeout_ms);
/* Compares the table with the stream, row by row in id order: every field,
 * and ms, seq and moved_at against the id. whole: the table must hold
 * exactly the stream; else only the table's rows from the stream's first
 * id on are compared (a trimmed stream). Fails the test at the first
 * difference; returns the rows compared. */
long long export_compare(PGconn *c, const char *table, bool whole);

#endif
