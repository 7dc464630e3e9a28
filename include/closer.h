/* The one shutdown pattern. A module that owns libuv handles (and maybe
 * other work that ends in a callback, such as a name lookup) closes them
 * through a closer and is told once, after the last close callback, that
 * everything has ended; only then does it free its memory (libuv: a handle's
 * memory lives until its close callback).
 *
 *   closer_begin(&c, done, data);     pending = 1 (the begin itself)
 *   closer_close(&c, handle) ...      one per handle
 *   closer_hold(&c) ...               one per other piece of pending work,
 *                                     each later matched by closer_release
 *   closer_end(&c);                   drops the begin's count: done(data)
 *                                     runs when pending reaches 0 */
#ifndef STOCKD_CLOSER_H
#define STOCKD_CLOSER_H

#include <uv.h>

struct closer {
    unsigned pending;
    void (*done)(void *data);
    void *data;
};

void closer_begin(struct closer *c, void (*done)(void *data), void *data);
/* Closes h (which must not be closing yet); its data now points to c. */
void closer_close(struct closer *c, uv_handle_t *h);
void closer_hold(struct closer *c);
void closer_release(struct closer *c);
void closer_end(struct closer *c);

#endif
