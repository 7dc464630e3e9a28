/* The signals both programs handle alike: the first SIGTERM or SIGINT asks
 * the program to stop (its on_stop decides how: stockd drains, stockd-export
 * finishes its batch), a second one exits at once with status 1; SIGPIPE is
 * ignored, so that a write to a socket the peer closed is an error rather
 * than the end of the process. */
#ifndef STOCKD_SIGNALS_H
#define STOCKD_SIGNALS_H

#include <uv.h>

struct signals {
    uv_signal_t term, intr;
    int received;
    void (*on_stop)(void *data, int signum);
    void *data;
    const char *second; /* borrowed: logged before the exit at once */
};

/* Ignores SIGPIPE and watches SIGTERM and SIGINT on loop: on the first,
 * on_stop(data, signum); on any later one, second is logged as a warning
 * and the process exits 1 without cleaning up. s's memory holds the
 * handles: it must stay valid until signals_close's callbacks have run. */
void signals_start(struct signals *s, uv_loop_t *loop, void (*on_stop)(void *data, int signum),
                   void *data, const char *second);
/* Closes both handles (the loop frees nothing: they live in s). */
void signals_close(struct signals *s);

#endif
