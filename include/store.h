/* The Redis side: one hiredis async connection per process, over which every
 * client's scripts are pipelined; script loading, EVALSHA calls, per-request
 * deadlines, and reconnecting with backoff. Callers get each outcome exactly
 * once: a reply, or an error that says whether anything may have happened. */
#ifndef STOCKD_STORE_H
#define STOCKD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "keys.h"
#include "metrics.h"
#include "scripts.h"

/* The outcome of one call. reply is valid only during the call (hiredis
 * frees it). err is 0 with a reply (which may be a Redis error reply), or
 * -E_TIMEOUT (sent, no answer in time: outcome unknown), or -E_UNAVAILABLE
 * (never reached Redis: nothing happened). */
typedef void (*store_fn)(void *data, const redisReply *reply, int err);

/* A command's arguments, built in one buffer (no allocation once warm). */
struct args {
    struct buf bytes; /* owned: all arguments back to back */
    struct arg_span {
        size_t off, len;
    } *v; /* owned */
    int n, cap;
};

void args_init(struct args *a);
void args_free(struct args *a);
void args_reset(struct args *a);
void args_add(struct args *a, const char *p, size_t n);
void args_add_int(struct args *a, long long v);
void args_add_ident(struct args *a, const struct ident *id);
/* Adds a key built by keys_build. */
void args_add_key(struct args *a, const struct ident *ns, enum key_kind kind,
                  const struct ident *id);

struct store;

/* Creates the store; nothing connects until store_start. The config and
 * metrics must outlive the store. Free with store_close. */
struct store *store_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m);
void store_start(struct store *s);
/* The loop's clock (uv_now), the time base of deadlines. */
uint64_t store_now(const struct store *s);
/* True when connected, authenticated and the scripts are loaded. */
bool store_is_up(const struct store *s);

/* Calls script with the first nkeys entries of a as KEYS and the rest as
 * ARGV. deadline is in uv_now() milliseconds: past it the call is answered
 * -E_TIMEOUT and the connection is reset. Returns 0 when queued (fn will be
 * called exactly once, never from inside store_eval), or -E_UNAVAILABLE when
 * Redis is not up (fn is not called). */
int store_eval(struct store *s, enum script_id id, int nkeys, const struct args *a,
               uint64_t deadline, store_fn fn, void *data);

/* Sends a plain, read-only command (a whole argv in a): for listing keys
 * and index entries. Same contract as store_eval. Stock never changes
 * through here: every change is a script. */
int store_command(struct store *s, const struct args *a, uint64_t deadline, store_fn fn,
                  void *data);

/* Answers every pending call -E_UNAVAILABLE or -E_TIMEOUT, closes the
 * connection and the timers, then calls done(data) and frees the store. */
void store_close(struct store *s, void (*done)(void *), void *data);

#endif
