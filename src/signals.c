/* SIGTERM, SIGINT and SIGPIPE for both programs (see signals.h). */
#include "signals.h"

#include <signal.h>
#include <unistd.h>

#include "log.h"

static void on_signal(uv_signal_t *h, int signum)
{
    struct signals *s = h->data;
    if (++s->received > 1) {
        log_warn("%s", s->second);
        _exit(1);
    }
    s->on_stop(s->data, signum);
}

void signals_start(struct signals *s, uv_loop_t *loop, void (*on_stop)(void *data, int signum),
                   void *data, const char *second)
{
    signal(SIGPIPE, SIG_IGN);
    s->received = 0;
    s->on_stop = on_stop;
    s->data = data;
    s->second = second;
    uv_signal_init(loop, &s->term);
    uv_signal_init(loop, &s->intr);
    s->term.data = s->intr.data = s;
    uv_signal_start(&s->term, on_signal, SIGTERM);
    uv_signal_start(&s->intr, on_signal, SIGINT);
}

void signals_close(struct signals *s)
{
    uv_close((uv_handle_t *)&s->term, NULL);
    uv_close((uv_handle_t *)&s->intr, NULL);
}
