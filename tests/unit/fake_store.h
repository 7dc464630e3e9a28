/* A fake store for the request layer's unit tests: the seam
 * where the real store.c is not linked. It records each call the request
 * layer makes and lets the test answer it with a canned reply tree, an
 * outcome (never sent, unknown) or nothing at all. Also the request kernel
 * these tests run over it (fake_kernel_setup). */
#ifndef STOCKD_TEST_FAKE_STORE_H
#define STOCKD_TEST_FAKE_STORE_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "args.h"
#include "config.h"
#include "metrics.h"
#include "request.h"
#include "scripts.h"
#include "store.h"

struct fake_call {
    int script;      /* enum script_id, or -1 for a plain command */
    int nkeys;
    struct args args; /* a copy of what was sent */
    store_fn fn;
    void *data;
};

struct fake_store {
    int calls;              /* calls made so far */
    bool pending;           /* the last call waits for an answer */
    struct fake_call last;
    bool down;              /* refuse calls: Redis known down */
    enum store_health health;
};

/* The one fake; reset between tests. */
extern struct fake_store fake;
void fake_reset(void);

/* Answers the pending call with reply (or with an outcome and no reply). */
void fake_reply(const redisReply *reply);
void fake_outcome(enum store_outcome outcome);

/* Argument i of the last call (KEYS first), as a NUL-terminated copy in a
 * static buffer. */
const char *fake_arg(int i);

/* A canned reply tree from a compact text:
 *   12  -3            integers
 *   'text'            a bulk string ('' is empty; no quote inside)
 *   [ ... ]           an array
 *   nil               a nil reply
 *   !ERR message...   an error reply (the rest of the text)
 *   +OK               a status reply
 * Free with fake_reply_free. */
redisReply *fake_parse(const char *text);
void fake_reply_free(redisReply *r);

/* The request kernel over the fake: stockd's defaults (no flags, no
 * environment), fresh metrics and a pool with the dispatch table. A
 * request started by fake_start is answered into answer (NUL-terminated,
 * cut to fit) and counted in answers. */
struct fake_kernel {
    struct config cfg;
    struct metrics metrics;
    struct request_pool *pool;
    int answers;
    char answer[65536];
};
extern struct fake_kernel kernel;
/* Sets up the kernel after fake_reset, with logging off: the errors the
 * tests cause on purpose stay out of cmocka's report. */
void fake_kernel_setup(void);
void fake_kernel_teardown(void);
/* Starts line on session s; returns the request (answered or calling). */
struct request *fake_start(struct session *s, const char *line);
/* kernel.answer parsed, failing the test (named by name) when it is not
 * JSON; *code is its error's code, 0 for a result. Free with cJSON_Delete. */
cJSON *fake_answer(const char *name, int *code);

#endif
