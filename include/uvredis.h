/* A libuv adapter for hiredis's async API. It replaces the adapter bundled
 * with hiredis 0.14, which ignores poll errors: with it, a refused connect or
 * a Redis killed under traffic is never noticed and requests hang. This one
 * hands every poll error to hiredis so the context fails and disconnects. */
#ifndef STOCKD_UVREDIS_H
#define STOCKD_UVREDIS_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac to loop. Returns 0, or -1 (ac is unchanged; free it). The
 * adapter's memory is released by hiredis's cleanup hook, through the poll
 * handle's close callback. */
int uvredis_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
