/* A fake store for the request layer's unit tests: the seam
 * where the real store.c is not linked. It records each call the request
 * layer makes and lets the test answer it with a canned reply tree, an
 * outcome (never sent, unknown) or nothing at all. */
#ifndef STOCKD_TEST_FAKE_STORE_H
#define STOCKD_TEST_FAKE_STORE_H

#include <stdbool.h>

#include <hiredis/hiredis.h>

#include "args.h"
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

#endif
