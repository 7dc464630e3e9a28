/* stockd-bench's blocking side: a connection made at once (or the program
 * exits with the reason), and the one connection that loads the catalogue
 * and reads the books, one request and one answer line at a time. */
#ifndef STOCKD_BENCH_SYNC_H
#define STOCKD_BENCH_SYNC_H

#include <stddef.h>

/* A TCP connection to host:port with TCP_NODELAY; exits on failure. */
int sync_dial(const char *host, int port);
/* The connection sync_send, sync_line and sync_call_ok use. */
void sync_use(int fd);
void sync_send(const char *s, size_t n);
/* Reads one answer line into line (NUL-terminated, cut at cap - 1). */
void sync_line(char *line, size_t cap);
/* Sends a request line; exits when its answer is an error. */
void sync_call_ok(const char *req);
/* The integer after key in s (e.g. "\"reserved\":"), or -1. */
long long json_ll(const char *s, const char *key);

#endif
