/* Integration: the README's runbook ("why is SKU X unavailable at location
 * Y?") runs as written. Sets up the demo catalogue's shape through stockd
 * with a live hold from order ord-1001, extracts the ```sh block between the
 * runbook markers from SOURCE_DIR/README.md, points it at this test's Redis
 * and stockd, and runs every command with /bin/sh: each must exit 0, print no
 * Redis error, and show the known state. A command the README adds runs too
 * (and must succeed); one it drops fails the test, so the runbook and this
 * test cannot drift apart silently. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "buf.h" /* xrealloc */

#define README SOURCE_DIR "/README.md"
#define MAX_CMDS 64

/* The state the commands must show. */
#define WH_EAST_ON_HAND 120
#define WH_EAST_SAFETY 4
#define HOLD_QTY 2

static char rid[160];
static long long hold_expires_at;
static char hold_location[64]; /* where its TSHIRT-M line was taken */

static void call_ok(const char *req)
{
    cJSON *r = client_call(harness_client(0), req);
    if (resp_error_code(r) != 0)
        fail_msg("%s failed: %s", req, cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}

/* The demo catalogue's shape (deploy/demo/catalogue.ndjson), with a safety
 * stock at wh-east so every counter of step 1 has a value, and one live
 * hold from order ord-1001. */
static void set_up_state(void)
{
    char req[512];
    snprintf(req, sizeof req,
             "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"TSHIRT-M\","
             "\"location\":\"wh-east\",\"on_hand\":%d,\"safety_stock\":%d}}",
             WH_EAST_ON_HAND, WH_EAST_SAFETY);
    call_ok(req);
    call_ok("{\"id\":2,\"method\":\"stock.set\",\"params\":{\"sku\":\"TSHIRT-M\","
            "\"location\":\"wh-west\",\"on_hand\":40,\"safety_stock\":5}}");
    call_ok("{\"id\":3,\"method\":\"stock.set\",\"params\":{\"sku\":\"TSHIRT-M\","
            "\"location\":\"store-9\",\"on_hand\":3}}");
    call_ok("{\"id\":4,\"method\":\"stock.set\",\"params\":{\"sku\":\"MUG\","
            "\"location\":\"wh-east\",\"on_hand\":12}}");
    call_ok("{\"id\":5,\"method\":\"stock.set\",\"params\":{\"sku\":\"MUG\","
            "\"location\":\"store-9\",\"on_hand\":30}}");
    call_ok("{\"id\":6,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\","
            "\"locations\":[\"wh-east\",\"wh-west\"]}}");
    call_ok("{\"id\":7,\"method\":\"channel.set\",\"params\":{\"channel\":\"store\","
            "\"locations\":[\"store-9\",\"wh-east\"]}}");
    /* Where the locations are, and a channel that ranks by distance (the
     * hold below has no destination: channel order). */
    call_ok("{\"id\":7,\"method\":\"location.set\",\"params\":{\"location\":\"wh-east\","
            "\"lat\":40.7357,\"lng\":-74.1724,\"zone\":\"us-east\",\"priority\":10}}");
    call_ok("{\"id\":7,\"method\":\"location.set\",\"params\":{\"location\":\"wh-west\","
            "\"lat\":39.5296,\"lng\":-119.8138,\"zone\":\"us-west\",\"priority\":5}}");
    call_ok("{\"id\":7,\"method\":\"channel.set\",\"params\":{\"channel\":\"store\","
            "\"locations\":[\"store-9\",\"wh-east\"],\"rules\":[\"nearest\",\"priority\"]}}");

    cJSON *r =
        client_callf(harness_client(0),
                     "{\"id\":8,\"method\":\"reserve\",\"params\":{\"order_id\":\"ord-1001\","
                     "\"channel\":\"web\",\"items\":[{\"sku\":\"TSHIRT-M\",\"quantity\":%d},"
                     "{\"sku\":\"MUG\",\"quantity\":1}]}}",
                     HOLD_QTY);
    if (resp_error_code(r) != 0)
        fail_msg("reserve failed: %s", cJSON_PrintUnformatted(r));
    const cJSON *res = resp_result(r);
    assert_string_equal(json_str(res, "status"), "held");
    snprintf(rid, sizeof rid, "%s", json_str(res, "reservation_id"));
    hold_expires_at = json_int(res, "expires_at");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "allocations"), 0);
    assert_string_equal(json_str(first, "sku"), "TSHIRT-M");
    snprintf(hold_location, sizeof hold_location, "%s", json_str(first, "location"));
    assert_true(rid[0] != '\0');
    cJSON_Delete(r);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read %s", path);
    char *s = harness_read_all(f);
    fclose(f);
    return s;
}

/* Replaces every occurrence of from with to in *s (reallocating it);
 * returns how many there were. */
static int replace_all(char **s, const char *from, const char *to)
{
    int count = 0;
    size_t fl = strlen(from), tl = strlen(to);
    for (char *at = strstr(*s, from); at; at = strstr(*s + (at - *s), from)) {
        size_t off = (size_t)(at - *s), len = strlen(*s);
        char *n = malloc(len - fl + tl + 1);
        memcpy(n, *s, off);
        memcpy(n + off, to, tl);
        memcpy(n + off + tl, *s + off + fl, len - off - fl + 1);
        free(*s);
        *s = n;
        at = *s + off + tl;
        count++;
    }
    return count;
}

/* The ```sh block between the runbook markers. */
static char *extract_runbook(void)
{
    char *readme = read_file(README);
    const char *start = strstr(readme, "<!-- runbook:start");
    if (start == NULL)
        fail_msg("README.md has no <!-- runbook:start --> marker");
    const char *end = strstr(start, "<!-- runbook:end -->");
    if (end == NULL)
        fail_msg("README.md has no <!-- runbook:end --> marker after the start");
    const char *open = strstr(start, "\n```sh\n");
    if (open == NULL || open > end)
        fail_msg("no ```sh block between the runbook markers");
    open += strlen("\n```sh\n");
    const char *close = strstr(open, "\n```");
    if (close == NULL || close > end)
        fail_msg("the runbook's ```sh block is not closed before the end marker");
    size_t n = (size_t)(close - open) + 1;
    char *block = malloc(n + 1);
    memcpy(block, open, n);
    block[n] = '\0';
    free(readme);
    return block;
}

struct cmd {
    char *text;   /* the command line as it will run */
    char *output; /* stdout and stderr */
    int status;
};

/* Runs script with /bin/sh, capturing stdout and stderr. */
static char *run_sh(const char *script, int *status)
{
    char path[512], cmd[700];
    snprintf(path, sizeof path, "%s/runbook-step.sh", H.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "timeout 30 /bin/sh '%s' 2>&1 </dev/null", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = harness_read_all(p);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* Lines of out, NULL-terminated, in a malloc'd array over a copy. */
static int split_lines(const char *out, char ***lines)
{
    char *copy = strdup(out);
    int n = 0, cap = 16;
    char **v = malloc(sizeof *v * (size_t)cap);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n + 2 > cap)
            v = xrealloc(v, sizeof *v * (size_t)(cap *= 2));
        v[n++] = l;
    }
    v[n] = NULL;
    *lines = v;
    return n;
}

static void free_lines(char **lines)
{
    if (lines[0])
        free(lines[0]);
    free(lines);
}

/* A redis-cli reply printed without --no-raw: the value after a field name
 * in HGETALL output (pairs on separate lines). */
static const char *hash_field(char **lines, const char *field)
{
    for (int i = 0; lines[i] && lines[i + 1]; i += 2)
        if (strcmp(lines[i], field) == 0)
            return lines[i + 1];
    return NULL;
}

/* redis-cli answers a Redis error with exit status 0 (the error on a line
 * of its own); an error must still fail the step. */
static void assert_no_error_output(const struct cmd *c)
{
    static const char *const line_starts[] = {"ERR",    "WRONGTYPE", "(error)", "NOAUTH",
                                              "NOPERM", "NOSCRIPT",  "Error:"};
    static const char *const anywhere[] = {"Could not connect", "Connection refused", ": not found",
                                           "No such file"};
    for (const char *l = c->output; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        for (size_t i = 0; i < sizeof line_starts / sizeof line_starts[0]; i++)
            if (strncmp(l, line_starts[i], strlen(line_starts[i])) == 0)
                fail_msg("runbook command printed an error:\n  %s\n%s", c->text, c->output);
    for (size_t i = 0; i < sizeof anywhere / sizeof anywhere[0]; i++)
        if (strstr(c->output, anywhere[i]))
            fail_msg("runbook command printed an error:\n  %s\n%s", c->text, c->output);
}

/* True when line holds a placeholder like "<reservation id>". */
static bool has_placeholder(const char *line)
{
    for (const char *lt = strchr(line, '<'); lt; lt = strchr(lt + 1, '<'))
        if (isalpha((unsigned char)lt[1]) && strchr(lt, '>'))
            return true;
    return false;
}

static void check_hmget(const struct cmd *c)
{
    char want[128];
    snprintf(want, sizeof want, "%d\n%d\n%d\n", WH_EAST_ON_HAND, HOLD_QTY, WH_EAST_SAFETY);
    assert_string_equal(c->output, want);
}

static void check_stock_hash(const struct cmd *c)
{
    char **l;
    int n = split_lines(c->output, &l);
    assert_int_equal(n % 2, 0);
    static const char *const want[][2] = {
        {"wh-east:on_hand", "120"}, {"wh-east:reserved", "2"}, {"wh-east:safety", "4"},
        {"wh-west:on_hand", "40"},  {"wh-west:safety", "5"},   {"store-9:on_hand", "3"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *v = hash_field(l, want[i][0]);
        if (v == NULL || strcmp(v, want[i][1]) != 0)
            fail_msg("HGETALL stock: %s is %s, expected %s\n%s", want[i][0], v ? v : "(missing)",
                     want[i][1], c->output);
    }
    free_lines(l);
}

static void check_channel(const struct cmd *c)
{
    assert_string_equal(c->output, "wh-east\nwh-west\n");
}

static void check_rules(const struct cmd *c)
{
    assert_string_equal(c->output, "nearest,priority\n");
}

static void check_location(const struct cmd *c)
{
    assert_string_equal(c->output,
                        "priority\n10\nlat\n40.7357\nlng\n-74.1724\nzone\nus-east\n");
}

/* wh-west is 3839 km from wh-east, beyond 3000: only wh-east, at 0. */
static void check_geo(const struct cmd *c)
{
    assert_string_equal(c->output, "wh-east\n0.0000\n");
}

static void check_holds(const struct cmd *c)
{
    char want[512];
    snprintf(want, sizeof want, "%s:1:%s:%d\n%lld\n", rid, hold_location, HOLD_QTY,
             hold_expires_at);
    assert_string_equal(c->output, want);
}

static void check_time(const struct cmd *c)
{
    char **l;
    int n = split_lines(c->output, &l);
    assert_int_equal(n, 2);
    long long secs = atoll(l[0]), now = harness_redis_time_ms(&H) / 1000;
    assert_true(secs > 0 && secs <= now && now - secs < 60);
    assert_true(atoll(l[1]) >= 0 && atoll(l[1]) < 1000000);
    /* The deadline is in the future of this clock. */
    assert_true(hold_expires_at > secs * 1000);
    free_lines(l);
}

static void check_reservation(const struct cmd *c)
{
    char **l;
    split_lines(c->output, &l);
    const char *status = hash_field(l, "status"), *order = hash_field(l, "order_id");
    const char *allocs = hash_field(l, "allocations"), *exp = hash_field(l, "expires_at");
    if (!status || strcmp(status, "held") != 0 || !order || strcmp(order, "ord-1001") != 0)
        fail_msg("HGETALL res: not the held hold of ord-1001:\n%s", c->output);
    assert_non_null(allocs);
    assert_non_null(strstr(allocs, "[\"TSHIRT-M\",\"wh-east\",2]"));
    assert_non_null(exp);
    assert_int_equal(atoll(exp), hold_expires_at);
    free_lines(l);
}

static void check_order(const struct cmd *c)
{
    char want[200];
    snprintf(want, sizeof want, "%s\n", rid);
    assert_string_equal(c->output, want);
}

/* The sku's movements: three stock.set and one reserve of TSHIRT-M. */
static void check_ledger(const struct cmd *c)
{
    char **l;
    split_lines(c->output, &l);
    int sku_lines = 0;
    bool hold = false, east = false;
    for (int i = 0; l[i]; i++) {
        sku_lines += strcmp(l[i], "TSHIRT-M") == 0;
        hold |= strcmp(l[i], rid) == 0;
        east |= strcmp(l[i], "wh-east") == 0;
    }
    if (sku_lines != 4 || !hold || !east)
        fail_msg("ledger: expected the 4 movements of TSHIRT-M, the hold among them:\n%s",
                 c->output);
    free_lines(l);
}

static void check_audit(const struct cmd *c)
{
    char **l;
    /* the auth's answer, then the audit's */
    int n = split_lines(c->output, &l);
    assert_int_equal(n, 2);
    assert_non_null(strstr(l[0], "\"authenticated\":true"));
    cJSON *j = cJSON_Parse(l[1]);
    if (j == NULL)
        fail_msg("stock.audit: not a JSON line after auth's:\n%s", c->output);
    const cJSON *res = resp_result(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok")));
    assert_int_equal(json_int(res, "skus_checked"), 1);
    assert_int_equal(json_int(res, "holds"), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "differences")), 0);
    assert_non_null(strstr(c->output, "\"ok\":true"));
    cJSON_Delete(j);
    free_lines(l);
}

/* Each check, the command it belongs to (a substring of the command line),
 * and how often it ran. */
static struct check {
    const char *match;
    void (*check)(const struct cmd *);
    int ran;
} checks[] = {
    {"HMGET '{inv}:stock:TSHIRT-M'", check_hmget, 0},
    {"HGETALL '{inv}:stock:TSHIRT-M'", check_stock_hash, 0},
    {"LRANGE '{inv}:channel:web'", check_channel, 0},
    {"GET '{inv}:rules:store'", check_rules, 0},
    {"HGETALL '{inv}:location:wh-east'", check_location, 0},
    {"GEOSEARCH '{inv}:geo'", check_geo, 0},
    {"ZRANGE '{inv}:holds:TSHIRT-M'", check_holds, 0},
    {"r TIME", check_time, 0},
    {"HGETALL '{inv}:res:", check_reservation, 0},
    {"GET '{inv}:order:ord-1001'", check_order, 0},
    {"XREVRANGE '{inv}:events'", check_ledger, 0},
    {"\"method\":\"stock.audit\"", check_audit, 0},
};

/* "alias r='CMD'" becomes the function "r() { CMD "$@"; }": scripts do not
 * expand aliases in every shell. Returns NULL for other lines. */
static char *alias_to_function(const char *line)
{
    const char *p = line;
    if (strncmp(p, "alias ", 6) != 0)
        return NULL;
    p += 6;
    const char *eq = strchr(p, '=');
    if (eq == NULL || eq[1] != '\'')
        fail_msg("runbook: cannot read the alias line: %s", line);
    const char *body = eq + 2, *q = strchr(body, '\'');
    if (q == NULL)
        fail_msg("runbook: unterminated alias: %s", line);
    char *fn = malloc(strlen(line) + 32);
    sprintf(fn, "%.*s() { %.*s \"$@\"; }\n", (int)(eq - p), p, (int)(q - body), body);
    return fn;
}

static void test_runbook_commands_show_the_state(void **state)
{
    (void)state;
    set_up_state();

    char *block = extract_runbook();
    char redis_port[32], stockd_addr[64], stockd_addr_colon[64];
    snprintf(redis_port, sizeof redis_port, "-p %d", H.redis_port);
    snprintf(stockd_addr, sizeof stockd_addr, "127.0.0.1 %d", H.stockd[0].port);
    snprintf(stockd_addr_colon, sizeof stockd_addr_colon, "127.0.0.1:%d", H.stockd[0].port);
    int n_redis = replace_all(&block, "-p 6380", redis_port);
    int n_stockd = replace_all(&block, "127.0.0.1 7400", stockd_addr) +
                   replace_all(&block, "127.0.0.1:7400", stockd_addr_colon);
    int n_rid = replace_all(&block, "<reservation id>", rid);
    assert_int_equal(n_redis, 1);
    assert_true(n_stockd >= 1);
    assert_int_equal(n_rid, 1);
    if (strstr(block, "6380") || strstr(block, "7400"))
        fail_msg("the runbook still names the demo's ports after rewriting:\n%s", block);

    /* The prelude (the alias as a function) and the commands, one per line
     * (a trailing backslash continues a line). */
    char prelude[1024] = "";
    struct cmd cmds[MAX_CMDS];
    int n_cmds = 0;
    char *save = NULL;
    char *pending = NULL;
    for (char *line = strtok_r(block, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (isspace((unsigned char)*line))
            line++;
        if (pending == NULL && (*line == '\0' || *line == '#'))
            continue;
        size_t len = strlen(line);
        char *joined = malloc((pending ? strlen(pending) : 0) + len + 2);
        sprintf(joined, "%s%s", pending ? pending : "", line);
        free(pending);
        pending = NULL;
        if (len > 0 && joined[strlen(joined) - 1] == '\\') {
            joined[strlen(joined) - 1] = ' ';
            pending = joined;
            continue;
        }
        char *fn = alias_to_function(joined);
        if (fn) {
            strncat(prelude, fn, sizeof prelude - strlen(prelude) - 1);
            free(fn);
            free(joined);
            continue;
        }
        if (has_placeholder(joined))
            fail_msg("runbook: a placeholder this test does not know: %s", joined);
        assert_true(n_cmds < MAX_CMDS);
        cmds[n_cmds++] = (struct cmd){.text = joined};
    }
    assert_null(pending);
    assert_true(prelude[0] != '\0'); /* the block defines r */
    assert_true(n_cmds >= 1);

    /* The runbook's stockd call authenticates with STOCKD_AUTH_TOKEN (this
     * stockd has no token, so any token will do). */
    setenv("STOCKD_AUTH_TOKEN", "runbook-token", 1);
    for (int i = 0; i < n_cmds; i++) {
        struct cmd *c = &cmds[i];
        size_t sz = strlen(prelude) + strlen(c->text) + 8;
        char *script = malloc(sz);
        snprintf(script, sz, "%s%s\n", prelude, c->text);
        c->output = run_sh(script, &c->status);
        free(script);
        printf("$ %s\n%s", c->text, c->output);
        if (c->status != 0)
            fail_msg("runbook command exited with %d:\n  %s\n%s", c->status, c->text, c->output);
        if (c->output[0] == '\0')
            fail_msg("runbook command printed nothing:\n  %s", c->text);
        assert_no_error_output(c);

        /* A pipeline's status is its last command's: run the first stage
         * alone too, so a failing redis-cli cannot hide behind grep. */
        char *bar = strchr(c->text, '|');
        if (bar) {
            size_t fl = (size_t)(bar - c->text);
            char *first = malloc(strlen(prelude) + fl + 2);
            sprintf(first, "%s%.*s\n", prelude, (int)fl, c->text);
            int st;
            char *out = run_sh(first, &st);
            if (st != 0 || out[0] == '\0')
                fail_msg("the first stage of a runbook pipeline failed (%d):\n  %s\n%s", st, first,
                         out);
            struct cmd stage = {first, out, st};
            assert_no_error_output(&stage);
            free(out);
            free(first);
        }

        for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++)
            if (strstr(c->text, checks[k].match)) {
                checks[k].check(c);
                checks[k].ran++;
            }
    }
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++)
        if (checks[k].ran != 1)
            fail_msg("the runbook has %d commands matching \"%s\" (expected one)", checks[k].ran,
                     checks[k].match);

    for (int i = 0; i < n_cmds; i++) {
        free(cmds[i].text);
        free(cmds[i].output);
    }
    free(block);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runbook_commands_show_the_state),
    };
    return harness_run("runbook", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
