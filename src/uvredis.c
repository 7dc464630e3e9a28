/* libuv adapter for hiredis (see uvredis.h). */
#include "uvredis.h"

#include <stdlib.h>

#include "buf.h"

struct uvredis {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uv_poll_t poll;        /* memory freed in on_close */
    int events;
};

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct uvredis *p = handle->data;
    if (p->ac == NULL)
        return;
    if (status < 0) {
        /* libuv reports POLLERR as an error and stops the handle. hiredis
         * only learns of the failure by touching the socket: a write event
         * while connecting makes it read SO_ERROR, a read event afterwards
         * makes read() fail. Either way it disconnects. */
        redisAsyncContext *ac = p->ac;
        if (ac->c.flags & REDIS_CONNECTED)
            redisAsyncHandleRead(ac);
        else
            redisAsyncHandleWrite(ac);
        if (p->ac != NULL) {
            /* The socket looked fine to hiredis, but the poll handle is
             * stopped and will never fire again: fail the context ourselves. */
            redisAsyncFree(p->ac);
        }
        return;
    }
    if (events & UV_READABLE)
        redisAsyncHandleRead(p->ac);
    if (p->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
}

static void update(struct uvredis *p)
{
    if (p->events)
        uv_poll_start(&p->poll, p->events, on_poll);
    else
        uv_poll_stop(&p->poll);
}

static void add_read(void *data)
{
    struct uvredis *p = data;
    if (!(p->events & UV_READABLE)) {
        p->events |= UV_READABLE;
        update(p);
    }
}

static void del_read(void *data)
{
    struct uvredis *p = data;
    if (p->events & UV_READABLE) {
        p->events &= ~UV_READABLE;
        update(p);
    }
}

static void add_write(void *data)
{
    struct uvredis *p = data;
    if (!(p->events & UV_WRITABLE)) {
        p->events |= UV_WRITABLE;
        update(p);
    }
}

static void del_write(void *data)
{
    struct uvredis *p = data;
    if (p->events & UV_WRITABLE) {
        p->events &= ~UV_WRITABLE;
        update(p);
    }
}

static void on_close(uv_handle_t *handle)
{
    free(handle->data);
}

static void cleanup(void *data)
{
    struct uvredis *p = data;
    /* hiredis may call cleanup more than once for one context. */
    if (p == NULL || p->ac == NULL)
        return;
    p->ac->ev.data = NULL;
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->poll, on_close);
}

int uvredis_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (ac->ev.data != NULL)
        return -1;
    struct uvredis *p = xcalloc(1, sizeof *p);
    if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    p->ac = ac;
    p->poll.data = p;
    ac->ev.data = p;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
