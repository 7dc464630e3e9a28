/* Exact checks for the requests that had their hold to themselves: no
 * other commit, release, update or transfer of that hold was in flight
 * from the moment one was sent until its answer was taken, and the hold's
 * allocations were known when it was sent. Only expiry can race such a
 * request, so its answer follows from the state before it: an update
 * leaves every line at its new or old quantity, gives units back from the
 * line's last allocations first and grows a line only where its strategy
 * allows; a transfer moves exactly its units, to the place CONTRACT.md
 * names, or is refused for exactly the reason the state gives. */
#ifndef STOCKD_TEST_WORKLOAD_EXACT_H
#define STOCKD_TEST_WORKLOAD_EXACT_H

#include "workload_model.h"
#include "workload_ops.h"

/* Notes that c is sent about h: whether it is alone, and h's state then. */
void exact_send(struct wl_client *c, struct wl_hold *h);

/* Notes that c's answer has come: true when c had h to itself all along
 * and h's state before it is known (c->before). */
bool exact_answered(struct wl_client *c, struct wl_hold *h);

/* After c's answer was judged (and read into h when it was a result):
 * whether h's allocations are now known. */
void exact_settle(const struct wl_client *c, struct wl_hold *h, bool result);

/* The exact checks of an update and of a transfer answered with code
 * (0: res is the result) and error data. */
void exact_update(struct wl *w, const struct wl_client *c, const struct wl_hold *h, int code,
                  const cJSON *res, const cJSON *data);
void exact_transfer(struct wl *w, const struct wl_client *c, const struct wl_hold *h, int code,
                    const cJSON *res, const cJSON *data);

#endif
