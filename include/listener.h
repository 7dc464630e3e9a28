/* A listening TCP socket on HOST:PORT (an IP address, v4 or v6; port 0
 * picks a free one): the JSON-RPC server and the HTTP endpoint both start
 * theirs here. */
#ifndef STOCKD_LISTENER_H
#define STOCKD_LISTENER_H

#include <uv.h>

/* Initialises tcp on loop, binds it and listens with on_connection; tcp's
 * data is set to data. Returns the port bound, or -1 with the reason logged
 * (what names the flag, e.g. "--listen"); tcp is then closed, and its memory
 * must stay valid until the loop has run its close callback. */
int listener_open(uv_loop_t *loop, uv_tcp_t *tcp, const char *what, const char *host, int port,
                  int backlog, uv_connection_cb on_connection, void *data);

#endif
