/* The shutdown pattern (see closer.h). */
#include "closer.h"

#include <assert.h>

void closer_begin(struct closer *c, void (*done)(void *data), void *data)
{
    c->pending = 1;
    c->done = done;
    c->data = data;
}

static void on_closed(uv_handle_t *h)
{
    closer_release(h->data);
}

void closer_close(struct closer *c, uv_handle_t *h)
{
    assert(c->pending > 0 && !uv_is_closing(h));
    c->pending++;
    h->data = c;
    uv_close(h, on_closed);
}

void closer_hold(struct closer *c)
{
    assert(c->pending > 0);
    c->pending++;
}

void closer_release(struct closer *c)
{
    assert(c->pending > 0);
    if (--c->pending == 0)
        c->done(c->data);
}

void closer_end(struct closer *c)
{
    closer_release(c);
}
