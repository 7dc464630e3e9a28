/* stockd-bench's blocking connection for setup and the books (see sync.h). */
#include "sync.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

static int sync_fd = -1;
static char sync_buf[1 << 20];
static size_t sync_len;

void sync_use(int fd)
{
    sync_fd = fd;
}

int sync_dial(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "stockd-bench: cannot connect to %s:%d: %s\n", host, port,
                strerror(errno));
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void sync_send(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(sync_fd, s, n);
        if (w <= 0) {
            perror("stockd-bench: write");
            exit(1);
        }
        s += w;
        n -= (size_t)w;
    }
}

void sync_line(char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(sync_buf, '\n', sync_len);
        if (nl) {
            size_t n = (size_t)(nl - sync_buf);
            size_t c = n < cap - 1 ? n : cap - 1;
            memcpy(line, sync_buf, c);
            line[c] = '\0';
            memmove(sync_buf, nl + 1, sync_len - n - 1);
            sync_len -= n + 1;
            return;
        }
        ssize_t r = read(sync_fd, sync_buf + sync_len, sizeof sync_buf - sync_len);
        if (r <= 0) {
            fprintf(stderr, "stockd-bench: connection closed\n");
            exit(1);
        }
        sync_len += (size_t)r;
    }
}

long long json_ll(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? atoll(p + strlen(key)) : -1;
}

void sync_call_ok(const char *req)
{
    char line[4096];
    sync_send(req, strlen(req));
    sync_line(line, sizeof line);
    if (strstr(line, "\"error\"")) {
        fprintf(stderr, "stockd-bench: setup failed: %s\n", line);
        exit(1);
    }
}
