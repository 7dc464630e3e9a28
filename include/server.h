/* The JSON-RPC listener and its client connections. Each connection frames
 * its bytes into lines, hands each line to the service as a request, and
 * writes the responses back strictly in the order the requests arrived. */
#ifndef STOCKD_SERVER_H
#define STOCKD_SERVER_H

#include <uv.h>

#include "config.h"
#include "service.h"

struct server;

/* Binds and listens. Returns the server, or NULL with the reason logged. The
 * config and service are borrowed and must outlive the server. */
struct server *server_start(uv_loop_t *loop, const struct config *cfg, struct service *svc,
                            struct metrics *m);

/* The port actually bound (useful with port 0). */
int server_port(const struct server *srv);

/* Stops accepting; every connection stops reading, answers what it has read,
 * flushes and closes. Then done(data) runs and the server is freed. */
void server_stop(struct server *srv, void (*done)(void *), void *data);

#endif
