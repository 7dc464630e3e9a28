/* stockd-bench: a load generator for stockd. N connections each keep a
 * pipeline of requests in flight for a duration or a request count, with
 * one of several workloads, and report throughput, latency percentiles
 * (from a log-linear histogram) and counts per result code. Afterwards it
 * checks its own books against stock.get: the units it was told it holds
 * and sold must be what stockd's counts say. The ranked workload also
 * checks that every hold went to the location nearest its destination.
 *
 *   stockd-bench --port 7400 -c 50 -d 1 --duration 10 --workload hot
 *   stockd-bench --port 7400 -c 50 --duration 10 --workload ranked --locations 50
 *   stockd-bench --idle 10000 --hold 30          (idle connections only)
 *   STOCKD_BENCH_TOKEN=... stockd-bench ...      (auth first on every connection:
 *                                                 a token, or a tenant's token)
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "buf.h" /* xmalloc and friends: allocation failure aborts */
#include "hist.h"
#include "ranked.h"
#include "sync.h"

/* --- options ------------------------------------------------------------ */

enum workload { HOT, UNIFORM, MULTI, COMMIT, RELEASE, RANKED, N_WORKLOADS };
static const char *const workload_names[] = {"hot",    "uniform", "multi",
                                             "commit", "release", "ranked"};

static struct {
    const char *host;
    int port;
    int connections, depth;
    double duration;
    long long requests;
    enum workload workload;
    int skus, locations;
    long long ttl_ms;
    bool json;
    int idle;
    double hold;
    char prefix[32];
    int lines;     /* multi: lines per order; 0: 1 to 5 at random */
    bool no_setup; /* the catalogue under prefix is loaded already */
    bool skus_given, locations_given; /* ranked: else 1 sku at 50 locations */
    const char *token; /* sent with auth first on every connection; NULL: none */
} opt = {"127.0.0.1", 7400, 50, 1, 10, 0, HOT, 1000, 4, 3600000, false, 0, 30, "", 0, false,
         false, false, NULL};

static void usage(void)
{
    fprintf(stderr,
            "usage: stockd-bench [--host H] [--port P] [-c CONNECTIONS] [-d PIPELINE]\n"
            "         [--duration S | --requests N]\n"
            "         [--workload hot|uniform|multi|commit|release|ranked]\n"
            "         [--skus M] [--locations K] [--ttl-ms T] [--lines N] [--json]\n"
            "         [--prefix P --no-setup]   (skus P-<i> at P-L<j>, channel P, on_hand 1e12)\n"
            "  ranked: --skus default 1, --locations default 50, each location with\n"
            "  coordinates (location.set), channel P with rules [\"nearest\"], every\n"
            "  reserve with a destination (both drawn from fixed seeds: reproducible)\n"
            "       stockd-bench --idle N [--hold S]\n"
            "  STOCKD_BENCH_TOKEN: sent with auth first on every connection (stockd's\n"
            "  token, or a tenant's: the load then goes to that tenant)\n");
    exit(2);
}

/* The auth line for opt.token, or NULL. Tokens are 1..1023 bytes without
 * whitespace; one with a quote or a backslash is refused rather than
 * escaped. */
static const char *auth_line(void)
{
    static char line[1200];
    if (opt.token == NULL)
        return NULL;
    if (line[0] == '\0') {
        if (strlen(opt.token) > 1023 || strpbrk(opt.token, "\"\\ \t\r\n") != NULL) {
            fprintf(stderr, "stockd-bench: STOCKD_BENCH_TOKEN must be 1..1023 bytes without "
                            "quotes, backslashes or whitespace\n");
            exit(2);
        }
        snprintf(line, sizeof line, "{\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}\n",
                 opt.token);
    }
    return line;
}

#define ON_HAND 1000000000000LL

/* --- ranked: see ranked.h ----------------------------------------------- */

static long long routed, misrouted;

/* The ranked workload's own check, beside the books. */
static void check_route(const char *line, size_t len, int nearest)
{
    if (ranked_at_nearest(line, len, opt.prefix, nearest))
        routed++;
    else
        misrouted++;
}

/* --- setup -------------------------------------------------------------- */

static void setup(void)
{
    char req[4096]; /* channel.set: up to 64 names of up to 35 bytes */
    if (opt.workload == RANKED)
        for (int l = 0; l < opt.locations; l++) {
            snprintf(req, sizeof req,
                     "{\"id\":1,\"method\":\"location.set\",\"params\":{\"location\":"
                     "\"%s-L%d\",%s}}\n",
                     opt.prefix, l, ranked_location_json(l));
            sync_call_ok(req);
        }
    for (int s = 0; s < opt.skus; s++)
        for (int l = 0; l < opt.locations; l++) {
            snprintf(req, sizeof req,
                     "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"%s-%d\","
                     "\"location\":\"%s-L%d\",\"on_hand\":%lld}}\n",
                     opt.prefix, s, opt.prefix, l, ON_HAND);
            sync_call_ok(req);
        }
    size_t n = (size_t)snprintf(req, sizeof req,
                                "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":"
                                "\"%s\",\"locations\":[",
                                opt.prefix);
    for (int l = 0; l < opt.locations; l++)
        n += (size_t)snprintf(req + n, sizeof req - n, "%s\"%s-L%d\"", l ? "," : "", opt.prefix, l);
    snprintf(req + n, sizeof req - n, "]%s}}\n",
             opt.workload == RANKED ? ",\"rules\":[\"nearest\"]" : "");
    sync_call_ok(req);
}

/* --- the load ----------------------------------------------------------- */

enum kind { K_RESERVE, K_FOLLOW, K_AUTH }; /* a reserve, its commit/release, auth */

struct pending {
    uint64_t sent_ns;
    enum kind kind;
    int units;
    int nearest; /* ranked: the location the hold must be at; -1: not checked */
};

struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    struct pending *fifo; /* ring of in-flight requests, in order */
    int head, count, cap;
    char *in;             /* unconsumed answer bytes */
    size_t in_len, in_cap;
    char *out, *writing;  /* requests to write, and the write in flight */
    size_t out_len, out_cap, writing_cap;
    uv_write_t w;
    bool write_active;
    unsigned rng;
};

static uv_loop_t *loop;
static struct conn *conns;
static struct histogram hist;
static uint64_t started_ns, stop_ns;
static long long sent, answered, operations;
static long long codes[9]; /* 0, 1001, 1003, 2001, 2002, 2003, 2004, parse, other */
static long long held_units, sold_units;
static bool stopping;
static int open_conns;

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static int code_slot(long long code)
{
    switch (code) {
    case 0:
        return 0;
    case 1001:
        return 1;
    case 1003:
        return 2;
    case 2001:
        return 3;
    case 2002:
        return 4;
    case 2003:
        return 5;
    case 2004:
        return 6;
    case -32700:
        return 7;
    default:
        return 8;
    }
}

static const char *const code_names[] = {"ok",   "1001", "1003",  "2001", "2002",
                                         "2003", "2004", "parse", "other"};

static void out_reserve(struct conn *c, size_t n)
{
    if (c->out_cap - c->out_len >= n)
        return;
    while (c->out_cap - c->out_len < n)
        c->out_cap = c->out_cap ? c->out_cap * 2 : 8192;
    c->out = xrealloc(c->out, c->out_cap);
}

static void push(struct conn *c, enum kind kind, int units, int nearest)
{
    if (c->count == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        struct pending *f = xmalloc((size_t)cap * sizeof *f);
        for (int i = 0; i < c->count; i++)
            f[i] = c->fifo[(c->head + i) % c->cap];
        free(c->fifo);
        c->fifo = f;
        c->head = 0;
        c->cap = cap;
    }
    c->fifo[(c->head + c->count) % c->cap] = (struct pending){now_ns(), kind, units, nearest};
    c->count++;
    if (kind != K_AUTH)
        sent++;
}

static void queue_reserve(struct conn *c)
{
    out_reserve(c, 1024);
    char *p = c->out + c->out_len;
    size_t room = c->out_cap - c->out_len;
    int n, units, nearest = -1;
    if (opt.workload == MULTI) {
        int lines = opt.lines > 0 ? opt.lines : 1 + (int)(rand_r(&c->rng) % 5);
        int first = (int)(rand_r(&c->rng) % (unsigned)opt.skus);
        n = snprintf(p, room, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"channel\":\"%s\","
                              "\"ttl_ms\":%lld,\"items\":[",
                     opt.prefix, opt.ttl_ms);
        for (int i = 0; i < lines; i++)
            n += snprintf(p + n, room - (size_t)n, "%s{\"sku\":\"%s-%d\",\"quantity\":1}",
                          i ? "," : "", opt.prefix, (first + i) % opt.skus);
        n += snprintf(p + n, room - (size_t)n, "]}}\n");
        units = lines;
    } else if (opt.workload == RANKED) {
        int sku = (int)(rand_r(&c->rng) % (unsigned)opt.skus);
        const struct ranked_dest *d = ranked_dest_at(rand_r(&c->rng));
        n = snprintf(p, room,
                     "{\"id\":1,\"method\":\"reserve\",\"params\":{\"channel\":\"%s\","
                     "\"strategy\":\"auto\",\"ttl_ms\":%lld,\"destination\":%s,"
                     "\"items\":[{\"sku\":\"%s-%d\",\"quantity\":1}]}}\n",
                     opt.prefix, opt.ttl_ms, d->json, opt.prefix, sku);
        units = 1;
        nearest = d->nearest;
    } else {
        int sku = opt.workload == HOT ? 0 : (int)(rand_r(&c->rng) % (unsigned)opt.skus);
        n = snprintf(p, room,
                     "{\"id\":1,\"method\":\"reserve\",\"params\":{\"channel\":\"%s\","
                     "\"ttl_ms\":%lld,\"items\":[{\"sku\":\"%s-%d\",\"quantity\":1}]}}\n",
                     opt.prefix, opt.ttl_ms, opt.prefix, sku);
        units = 1;
    }
    c->out_len += (size_t)n;
    push(c, K_RESERVE, units, nearest);
}

static void queue_follow(struct conn *c, const char *id, size_t id_len, int units)
{
    out_reserve(c, 256);
    c->out_len += (size_t)snprintf(c->out + c->out_len, c->out_cap - c->out_len,
                                   "{\"id\":2,\"method\":\"%s\",\"params\":{\"reservation_id\":"
                                   "\"%.*s\"}}\n",
                                   opt.workload == COMMIT ? "commit" : "release", (int)id_len, id);
    push(c, K_FOLLOW, units, -1);
}

static void flush(struct conn *c);

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    c->write_active = false;
    if (status < 0) {
        fprintf(stderr, "stockd-bench: write: %s\n", uv_strerror(status));
        exit(1);
    }
    flush(c);
}

static void flush(struct conn *c)
{
    if (c->write_active || c->out_len == 0)
        return;
    char *t = c->writing;
    size_t tc = c->writing_cap;
    c->writing = c->out;
    c->writing_cap = c->out_cap;
    uv_buf_t b = uv_buf_init(c->writing, (unsigned)c->out_len);
    c->out = t;
    c->out_cap = tc;
    c->out_len = 0;
    c->w.data = c;
    c->write_active = true;
    uv_write(&c->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
}

static bool more_wanted(void)
{
    if (stopping)
        return false;
    if (opt.requests > 0)
        return sent < opt.requests;
    return now_ns() < stop_ns;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
    open_conns--;
}

static void take_line(struct conn *c, const char *line, size_t len)
{
    if (c->count == 0) {
        fprintf(stderr, "stockd-bench: an answer nobody asked for\n");
        exit(1);
    }
    struct pending pd = c->fifo[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    if (pd.kind == K_AUTH) { /* not load: neither counted nor timed */
        if (memmem(line, len, "\"result\"", 8) == NULL) {
            fprintf(stderr, "stockd-bench: auth refused: %.*s\n", (int)len, line);
            exit(1);
        }
        return;
    }
    answered++;
    uint64_t us = (now_ns() - pd.sent_ns) / 1000;
    hist_add(&hist, us);

    long long code = 0;
    const char *e = memmem(line, len, "\"error\":{\"code\":", 16);
    if (e != NULL)
        code = atoll(e + 16);
    else if (memmem(line, len, "\"result\"", 8) == NULL)
        code = -32700;
    codes[code_slot(code)]++;

    if (pd.kind == K_RESERVE && code == 0) {
        held_units += pd.units;
        if (pd.nearest >= 0)
            check_route(line, len, pd.nearest);
        if (opt.workload == COMMIT || opt.workload == RELEASE) {
            const char *id = memmem(line, len, "\"reservation_id\":\"", 18);
            if (id) {
                id += 18;
                const char *end = memchr(id, '"', (size_t)(line + len - id));
                queue_follow(c, id, (size_t)(end - id), pd.units);
                return; /* the follow-up takes this request's slot */
            }
        } else {
            operations++;
        }
    } else if (pd.kind == K_FOLLOW) {
        if (code == 0) {
            held_units -= pd.units;
            if (opt.workload == COMMIT)
                sold_units += pd.units;
        }
        operations++;
    } else {
        operations++;
    }
    if (more_wanted())
        queue_reserve(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;
    (void)suggested;
    if (c->in_cap - c->in_len < 65536) {
        c->in_cap = c->in_cap ? c->in_cap * 2 : 131072;
        c->in = xrealloc(c->in, c->in_cap);
    }
    *b = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = s->data;
    (void)b;
    if (n < 0) {
        fprintf(stderr, "stockd-bench: connection lost: %s\n", uv_strerror((int)n));
        exit(1);
    }
    c->in_len += (size_t)n;
    size_t at = 0;
    char *nl;
    while ((nl = memchr(c->in + at, '\n', c->in_len - at)) != NULL) {
        take_line(c, c->in + at, (size_t)(nl - (c->in + at)));
        at = (size_t)(nl - c->in) + 1;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    flush(c);
    if (c->count == 0 && !more_wanted() && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (status < 0) {
        fprintf(stderr, "stockd-bench: connect: %s\n", uv_strerror(status));
        exit(1);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    const char *auth = auth_line();
    if (auth != NULL) {
        out_reserve(c, strlen(auth) + 1);
        memcpy(c->out + c->out_len, auth, strlen(auth));
        c->out_len += strlen(auth);
        push(c, K_AUTH, 0, -1);
    }
    for (int i = 0; i < opt.depth && more_wanted(); i++)
        queue_reserve(c);
    flush(c);
}

static void on_stop_timer(uv_timer_t *t)
{
    (void)t;
    /* Duration over: answers still in flight are awaited, nothing new goes. */
    stopping = true;
    uv_close((uv_handle_t *)t, NULL);
}

/* --- the books ------------------------------------------------------------ */

static bool check_books(long long *reserved, long long *sold)
{
    char req[256], line[1 << 16];
    *reserved = *sold = 0;
    for (int s = 0; s < opt.skus; s++) {
        snprintf(req, sizeof req,
                 "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"%s-%d\"}}\n",
                 opt.prefix, s);
        sync_send(req, strlen(req));
        sync_line(line, sizeof line);
        const char *totals = strstr(line, "\"totals\":");
        if (totals == NULL) {
            fprintf(stderr, "stockd-bench: stock.get failed: %s\n", line);
            return false;
        }
        *reserved += json_ll(totals, "\"reserved\":");
        *sold += (long long)opt.locations * ON_HAND - json_ll(totals, "\"on_hand\":");
    }
    return *reserved == held_units && *sold == sold_units;
}

/* --- idle connections (memory per connection) ------------------------------ */

static int idle_mode(void)
{
    int *fds = xmalloc((size_t)opt.idle * sizeof *fds);
    for (int i = 0; i < opt.idle; i++)
        fds[i] = sync_dial(opt.host, opt.port);
    /* One request on the last one proves they were all accepted. */
    sync_use(fds[opt.idle - 1]);
    sync_call_ok("{\"id\":1,\"method\":\"ping\"}\n");
    printf("{\"idle_connections\":%d}\n", opt.idle);
    fflush(stdout);
    struct timespec ts = {(time_t)opt.hold, (long)((opt.hold - (long)opt.hold) * 1e9)};
    nanosleep(&ts, NULL);
    for (int i = 0; i < opt.idle; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"host", required_argument, NULL, 'H'},     {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'c'}, {"pipeline", required_argument, NULL, 'd'},
        {"duration", required_argument, NULL, 't'}, {"requests", required_argument, NULL, 'n'},
        {"workload", required_argument, NULL, 'w'}, {"skus", required_argument, NULL, 's'},
        {"locations", required_argument, NULL, 'l'}, {"ttl-ms", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},           {"idle", required_argument, NULL, 'i'},
        {"hold", required_argument, NULL, 'h'},     {"lines", required_argument, NULL, 'L'},
        {"prefix", required_argument, NULL, 'P'},   {"no-setup", no_argument, NULL, 'N'},
        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "c:d:n:", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'H': opt.host = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'c': opt.connections = atoi(optarg); break;
        case 'd': opt.depth = atoi(optarg); break;
        case 't': opt.duration = atof(optarg); break;
        case 'n': opt.requests = atoll(optarg); break;
        case 's': opt.skus = atoi(optarg); opt.skus_given = true; break;
        case 'l': opt.locations = atoi(optarg); opt.locations_given = true; break;
        case 'T': opt.ttl_ms = atoll(optarg); break;
        case 'j': opt.json = true; break;
        case 'i': opt.idle = atoi(optarg); break;
        case 'h': opt.hold = atof(optarg); break;
        case 'L': opt.lines = atoi(optarg); break;
        case 'P': snprintf(opt.prefix, sizeof opt.prefix, "%s", optarg); break;
        case 'N': opt.no_setup = true; break;
        case 'w': {
            int w = -1;
            for (int k = 0; k < N_WORKLOADS; k++)
                if (strcmp(optarg, workload_names[k]) == 0)
                    w = k;
            if (w < 0)
                usage();
            opt.workload = (enum workload)w;
            break;
        }
        default: usage();
        }
    }
    if (opt.connections < 1 || opt.depth < 1 || opt.skus < 1 || opt.locations < 1 ||
        opt.locations > RANKED_MAX_LOCATIONS)
        usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    opt.token = getenv("STOCKD_BENCH_TOKEN");
    if (opt.token != NULL && opt.token[0] == '\0')
        opt.token = NULL;
    if (opt.idle > 0)
        return idle_mode();
    if (opt.workload == HOT)
        opt.skus = 1;
    if (opt.workload == RANKED) {
        if (!opt.skus_given)
            opt.skus = 1; /* as hot: one sku, so only the ranking differs */
        if (!opt.locations_given)
            opt.locations = 50;
        ranked_map_init(opt.locations);
    }
    if (opt.prefix[0] == '\0') {
        /* Fresh skus for every run: 48 random bits, so that two runs never
         * share stock (time and pid alone can collide). */
        unsigned char r[6] = {0};
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            perror("stockd-bench: getrandom");
            return 1;
        }
        snprintf(opt.prefix, sizeof opt.prefix, "b%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
                 r[3], r[4], r[5]);
    }
    if (opt.lines > opt.skus)
        usage();

    sync_use(sync_dial(opt.host, opt.port));
    if (auth_line() != NULL)
        sync_call_ok(auth_line());
    if (!opt.no_setup)
        setup();

    loop = uv_default_loop();
    conns = xcalloc((size_t)opt.connections, sizeof *conns);
    started_ns = now_ns();
    stop_ns = started_ns + (uint64_t)(opt.duration * 1e9);
    uv_timer_t stop_timer;
    if (opt.requests == 0) {
        uv_timer_init(loop, &stop_timer);
        uv_timer_start(&stop_timer, on_stop_timer, (uint64_t)(opt.duration * 1000), 0);
    }
    struct sockaddr_in addr;
    uv_ip4_addr(opt.host, opt.port, &addr);
    for (int i = 0; i < opt.connections; i++) {
        struct conn *c = &conns[i];
        c->rng = (unsigned)(i * 2654435761u + 1);
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        c->connect.data = c;
        uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr, on_connect);
        open_conns++;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    double secs = (double)(now_ns() - started_ns) / 1e9;

    long long reserved = 0, sold = 0;
    bool books = check_books(&reserved, &sold);
    bool routes = misrouted == 0;
    double rps = (double)answered / secs, ops = (double)operations / secs;
    if (opt.json) {
        printf("{\"workload\":\"%s\",\"connections\":%d,\"pipeline\":%d,\"seconds\":%.3f,"
               "\"requests\":%lld,\"rps\":%.0f,\"ops\":%.0f,\"p50_us\":%llu,\"p90_us\":%llu,"
               "\"p99_us\":%llu,\"p999_us\":%llu,\"max_us\":%llu,\"codes\":{",
               workload_names[opt.workload], opt.connections, opt.depth, secs, answered, rps, ops,
               (unsigned long long)hist_pct(&hist, 0.50), (unsigned long long)hist_pct(&hist, 0.90),
               (unsigned long long)hist_pct(&hist, 0.99), (unsigned long long)hist_pct(&hist, 0.999),
               (unsigned long long)hist.max);
        bool first = true;
        for (int i = 0; i < 9; i++)
            if (codes[i]) {
                printf("%s\"%s\":%lld", first ? "" : ",", code_names[i], codes[i]);
                first = false;
            }
        printf("},\"books\":\"%s\",\"held_units\":%lld,\"sold_units\":%lld",
               books ? "ok" : "MISMATCH", held_units, sold_units);
        if (opt.workload == RANKED)
            printf(",\"locations\":%d,\"routing\":\"%s\",\"routed\":%lld,\"misrouted\":%lld",
                   opt.locations, routes ? "ok" : "MISMATCH", routed, misrouted);
        printf("}\n");
    } else {
        printf("workload %s, %d connections x pipeline %d, %.2f s\n", workload_names[opt.workload],
               opt.connections, opt.depth, secs);
        printf("  %lld requests, %.0f requests/s, %.0f operations/s\n", answered, rps, ops);
        printf("  latency us: p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n",
               (unsigned long long)hist_pct(&hist, 0.50), (unsigned long long)hist_pct(&hist, 0.90),
               (unsigned long long)hist_pct(&hist, 0.99), (unsigned long long)hist_pct(&hist, 0.999),
               (unsigned long long)hist.max);
        printf("  answers:");
        for (int i = 0; i < 9; i++)
            if (codes[i])
                printf(" %s=%lld", code_names[i], codes[i]);
        printf("\n  books: %s (told held %lld, sold %lld; stockd says reserved %lld, sold %lld)\n",
               books ? "ok" : "MISMATCH", held_units, sold_units, reserved, sold);
        if (opt.workload == RANKED)
            printf("  routing: %s (%d locations; %lld holds at the location nearest their "
                   "destination, %lld elsewhere)\n",
                   routes ? "ok" : "MISMATCH", opt.locations, routed, misrouted);
    }
    return books && routes ? 0 : 3;
}
