/* Listening sockets (see listener.h). */
#include "listener.h"

#include "log.h"

int listener_open(uv_loop_t *loop, uv_tcp_t *tcp, const char *what, const char *host, int port,
                  int backlog, uv_connection_cb on_connection, void *data)
{
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
        log_error("%s: '%s' is not an IP address", what, host);
        return -1;
    }
    uv_tcp_init(loop, tcp);
    tcp->data = data;
    int rc = uv_tcp_bind(tcp, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)tcp, backlog, on_connection);
    if (rc != 0) {
        log_error("%s: cannot listen on %s:%d: %s", what, host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)tcp, NULL);
        return -1;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(tcp, (struct sockaddr *)&bound, &len);
    return ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);
}
