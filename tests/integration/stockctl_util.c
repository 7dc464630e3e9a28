/* Running stockctl as a process and checking what it did, for the stockctl
 * integration tests (see stockctl_util.h). */
#include "stockctl_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "buf.h"

/* The whole file as a string; the caller frees it. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *s = harness_read_all(f);
    fclose(f);
    return s;
}

struct run ctl_env_at(const char *env, int port, const char *fmt, ...)
{
    char args[4096], cmd[8192], out_path[512], err_path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(out_path, sizeof out_path, "%s/ctl.out", H.dir);
    snprintf(err_path, sizeof err_path, "%s/ctl.err", H.dir);
    /* STOCKCTL_VALGRIND=1: every run under memcheck; an error or a leak
     * makes it exit 99, which no test expects. */
    const char *vg = getenv("STOCKCTL_VALGRIND") != NULL
                         ? "valgrind -q --leak-check=full --show-leak-kinds=all "
                           "--errors-for-leak-kinds=all --error-exitcode=99"
                         : "";
    snprintf(cmd, sizeof cmd, "%s %s %s --port %d %s >%s 2>%s </dev/null", env, vg, STOCKCTL_BIN,
             port, args, out_path, err_path);
    int st = system(cmd);
    struct run r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out_path), slurp(err_path)};
    return r;
}

void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

void expect_status(const struct run *r, int want)
{
    if (r->status != want)
        print_error("stockctl exited %d, want %d\nstdout: %s\nstderr: %s\n", r->status, want,
                    r->out, r->err);
    assert_int_equal(r->status, want);
}

void expect_in(const struct run *r, const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        print_error("missing '%s'\nstdout: %s\nstderr: %s\n", needle, r->out, r->err);
    assert_non_null(strstr(text, needle));
}

void expect_refused(const char *args, ...)
{
    struct run r = ctl("%s", args);
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    va_list ap;
    va_start(ap, args);
    for (const char *n = va_arg(ap, const char *); n != NULL; n = va_arg(ap, const char *))
        expect_in(&r, r.err, n);
    va_end(ap);
    run_free(&r);
}

cJSON *json_out(const struct run *r)
{
    size_t n = strlen(r->out);
    assert_true(n > 1 && r->out[n - 1] == '\n');
    assert_null(memchr(r->out, '\n', n - 1));
    cJSON *j = cJSON_Parse(r->out);
    assert_non_null(j);
    return j;
}

cJSON *ctl_json(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    struct run r = ctl("--json %s", args);
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    run_free(&r);
    return j;
}

cJSON *ctl_json_refused(const char *args)
{
    struct run r = ctl("--json %s", args);
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    cJSON *e = cJSON_Parse(r.err);
    assert_non_null(e);
    run_free(&r);
    return e;
}

long long dbsize(void)
{
    redisReply *r = harness_redis(&H, "DBSIZE");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

int dead_port(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(*fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

int line_numbers(const char *text, const char *prefix, long long *v, int max)
{
    const char *p = text;
    while (p && strncmp(p, prefix, strlen(prefix)) != 0) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (p == NULL)
        print_error("no line starts with '%s' in:\n%s\n", prefix, text);
    assert_non_null(p);
    p += strlen(prefix);
    int n = 0;
    while (n < max) {
        char *end;
        while (*p == ' ')
            p++;
        long long x = strtoll(p, &end, 10);
        if (end == p)
            break;
        v[n++] = x;
        p = end;
    }
    return n;
}

const char *after(const struct run *r, const char *marker)
{
    expect_in(r, r->out, marker);
    return strstr(r->out, marker) + strlen(marker);
}

const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

char *raw_result(const char *method, const char *params)
{
    int fd = harness_client(0);
    char req[1024];
    snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":%s}\n",
             method, params);
    client_sends(fd, req);
    char *line = client_readline(fd, 5000);
    assert_non_null(line);
    const char *res = strstr(line, "\"result\":");
    assert_non_null(res);
    res += strlen("\"result\":");
    size_t n = strlen(res) - 1; /* without the envelope's closing brace */
    char *out = xmalloc(n + 2);
    memcpy(out, res, n);
    memcpy(out + n, "\n", 2);
    free(line);
    return out;
}

int stockctl_run_tests(const char *name, const struct CMUnitTest *tests, size_t n_tests)
{
    unsetenv("STOCKD_AUTH_TOKEN");
    unsetenv("STOCKCTL_HOST");
    unsetenv("STOCKCTL_PORT");
    unsetenv("STOCKCTL_TIMEOUT_MS");
    const char *args[] = {"--http", "127.0.0.1:0", NULL};
    return harness_run(name, tests, n_tests, 1, args);
}
