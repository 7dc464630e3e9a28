/* Integration: stockctl, the operator's client, run as a process against a
 * real stockd and Redis. Every command with human and --json output, the
 * exit code of each error class, authentication, locations and routing
 * (ranked reserves with --explain, distances checked against the
 * haversine), and the pipelined CSV import of 10,000 rows checked row by
 * row afterwards. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "stockctl_util.h"

static void iso(long long ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char d[32];
    strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03lldZ", d, ms % 1000);
}

/* --- help and usage ------------------------------------------------------ */

static void test_help_and_usage_errors(void **state)
{
    (void)state;
    struct run r = ctl("--help");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "Exit codes:"));
    assert_non_null(strstr(r.out, "stock get SKU [LOCATION...]"));
    assert_non_null(strstr(r.out, "import FILE.csv"));
    assert_non_null(strstr(r.out, "--timeout-ms N"));
    run_free(&r);

    r = ctl("release --help");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "release RESERVATION_ID [--reason TEXT]"));
    run_free(&r);

    /* The routing commands and options, in the overview and per command
     * (each command's help lists the options that apply to it). */
    r = ctl("--help");
    assert_non_null(strstr(r.out, "location set LOCATION [--lat N --lng N] [--zone Z]"));
    assert_non_null(strstr(r.out, "location get LOCATION\n"));
    assert_non_null(strstr(r.out, "location list\n"));
    assert_non_null(strstr(r.out, "channel set CHANNEL LOCATION... [--rules R,...]"));
    assert_non_null(strstr(r.out, "[--ship-to LAT,LNG[,ZONE]]"));
    assert_non_null(strstr(r.out, "--max-distance-km N\n"));
    assert_non_null(strstr(r.out, "--explain         reserve: "));
    assert_non_null(strstr(r.out, "--rules R,...     channel set: "));
    assert_non_null(strstr(r.out, "--tag T           location set: "));
    run_free(&r);
    r = ctl("location set --help");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "usage: stockctl [OPTIONS] location set LOCATION"));
    assert_non_null(strstr(r.out, "(stockd method: location.set)"));
    assert_non_null(strstr(r.out, "  --lat N           latitude, -90..90 (with --lng)\n"));
    assert_non_null(strstr(r.out, "  --tag T "));
    assert_null(strstr(r.out, "--ship-to"));
    run_free(&r);
    r = ctl("reserve --help");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "  --ship-to LAT,LNG[,ZONE]\n"));
    assert_non_null(strstr(r.out, "  --explain "));
    assert_null(strstr(r.out, "--lat"));
    run_free(&r);

    /* Each of these is refused before anything is sent: the port is a
     * dead one, so an attempt to connect would be exit 3, not 2. */
    int fd;
    int port = dead_port(&fd);
    static const char *const bad[] = {
        "",                              /* no command */
        "frobnicate",                    /* unknown command */
        "stock",                         /* noun without verb */
        "stock get",                     /* too few */
        "stock set A L 1 2",             /* too many */
        "stock set 'a b' L 1",           /* not an identifier */
        "stock set 'A:B' L 1",           /* ':' would split a key */
        "stock set A L lots",            /* not a number */
        "stock set A L -1",              /* below range */
        "stock set A L 1 --safety x",    /* bad option value */
        "stock adjust A L 0",            /* delta must not be 0 */
        "stock get A --safety 3",        /* option of another command */
        "stock get A --bogus",           /* unknown option */
        "reserve MUG",                   /* not SKU=QTY */
        "reserve MUG=0",                 /* quantity range */
        "reserve MUG=1 MUG=2",           /* sku twice */
        "reserve --strategy best MUG=1", /* unknown strategy */
        "reserve --ttl-ms 5 MUG=1",      /* ttl range */
        "extend abc 10",                 /* ttl range */
        "channel set web a a",           /* location twice */
        "release abc --reason ''",       /* empty reason */
        "ping --port 0",                 /* port range */
        "ping --timeout-ms x",           /* bad timeout */
        "commit 'x y'",                  /* bad reservation id */
        /* Locations and routing. */
        "location",                             /* noun without verb */
        "location get",                         /* too few */
        "location get a b",                     /* too many */
        "location list x",                      /* too many */
        "location set 'a b'",                   /* not an identifier */
        "location set L --lat 1",               /* --lat without --lng */
        "location set L --lng 1",               /* --lng without --lat */
        "location set L --lat 90.5 --lng 0",    /* latitude range */
        "location set L --lat 0 --lng -180.01", /* longitude range */
        "location set L --lat north --lng 0",   /* not a number */
        "location set L --lat 0x10 --lng 0",    /* hex is not a JSON number */
        "location set L --lat nan --lng 0",     /* nor is nan */
        "location set L --lat 1e999 --lng 0",   /* nor infinity */
        "location set L --zone 'a b'",          /* zone not an identifier */
        "location set L --priority 1001",       /* priority range */
        "location set L --priority 1.5",        /* priority is whole */
        "location set L --tag x --tag x",       /* tag twice */
        "location set L --tag 'a,b'",           /* tag not an identifier */
        "location set L --tag 1 --tag 2 --tag 3 --tag 4 --tag 5 --tag 6 --tag 7 --tag 8 --tag 9 "
        "--tag 10 --tag 11 --tag 12 --tag 13 --tag 14 --tag 15 --tag 16 --tag 17", /* 17 tags */
        "location get L --zone z",                           /* option of another command */
        "channel set web a --rules fastest",                 /* unknown rule */
        "channel set web a --rules nearest,nearest",         /* rule twice */
        "channel set web a --rules ''",                      /* no rule */
        "channel set web a --rules nearest,",                /* empty rule name */
        "channel set web a --rules 'nearest, priority'",     /* blank in the list */
        "channel get web --rules nearest",                   /* option of another command */
        "reserve --ship-to 52.5 MUG=1",                      /* no longitude */
        "reserve --ship-to 52.5,13.4,de,x MUG=1",            /* too many parts */
        "reserve --ship-to 91,13.4 MUG=1",                   /* latitude range */
        "reserve --ship-to 52.5,east MUG=1",                 /* longitude not a number */
        "reserve --ship-to 52.5,13.4,'d e' MUG=1",           /* zone not an identifier */
        "reserve --ship-to ,13.4 MUG=1",                     /* empty latitude */
        "reserve --max-distance-km 10 MUG=1",                /* without --ship-to */
        "reserve --ship-to 1,2 --max-distance-km 0 MUG=1",   /* not > 0 */
        "reserve --ship-to 1,2 --max-distance-km -5 MUG=1",  /* not > 0 */
        "reserve --ship-to 1,2 --max-distance-km far MUG=1", /* not a number */
        "reserve --explain=yes MUG=1",                       /* a switch takes no value */
        "stock get MUG --explain",                           /* option of another command */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = ctl_at(port, "%s", bad[i]);
        if (r.status != 2)
            print_error("case '%s'\n", bad[i]);
        expect_status(&r, 2);
        assert_true(strncmp(r.err, "stockctl: ", 10) == 0);
        assert_string_equal(r.out, "");
        run_free(&r);
    }
    r = ctl("stock set 'a b' L 1");
    assert_non_null(strstr(r.err, "not a valid identifier"));
    assert_non_null(strstr(r.err, "usage: stockctl [OPTIONS] stock set SKU LOCATION ON_HAND"));
    run_free(&r);
    r = ctl("stock");
    assert_non_null(strstr(r.err, "get, set, adjust"));
    run_free(&r);
    r = ctl("location");
    assert_non_null(strstr(r.err, "'location' needs one of: set, get, list"));
    run_free(&r);

    /* The messages name the mistake and show the synopsis. */
    static const struct {
        const char *args, *says;
    } why[] = {
        {"location set L --lat 1", "option --lat needs --lng too"},
        {"location set L --lng 1", "option --lng needs --lat too"},
        {"location set L --lat 91 --lng 0", "--lat '91' must be a number from -90 to 90"},
        {"location set L --lat 0 --lng 181", "--lng '181' must be a number from -180 to 180"},
        {"location set L --priority -1001",
         "--priority '-1001' must be a whole number from -1000 to 1000"},
        {"location set L --tag x --tag x", "--tag 'x' is given twice"},
        {"channel set web a --rules nearest,fastest",
         "--rules: unknown rule 'fastest' (known: same_zone, nearest, priority, channel_order)"},
        {"channel set web a --rules priority,priority", "rule 'priority' is given twice"},
        {"reserve --ship-to 52.5 MUG=1", "--ship-to '52.5' must be LAT,LNG or LAT,LNG,ZONE"},
        {"reserve --ship-to 52.5,200 MUG=1",
         "--ship-to longitude '200' must be a number from -180 to 180"},
        {"reserve --max-distance-km 10 MUG=1", "option --max-distance-km needs --ship-to too"},
        {"reserve --ship-to 1,2 --max-distance-km 0 MUG=1",
         "--max-distance-km '0' must be a number greater than 0"},
    };
    for (size_t i = 0; i < sizeof why / sizeof why[0]; i++) {
        r = ctl_at(port, "%s", why[i].args);
        expect_status(&r, 2);
        if (strstr(r.err, why[i].says) == NULL)
            print_error("case '%s': stderr %s\n", why[i].args, r.err);
        assert_non_null(strstr(r.err, why[i].says));
        assert_non_null(strstr(r.err, "usage: stockctl [OPTIONS] "));
        run_free(&r);
    }
    close(fd);
    /* Nothing reached Redis. */
    assert_int_equal(dbsize(), 0);
}

/* --- the commands ---------------------------------------------------------- */

static void test_ping(void **state)
{
    (void)state;
    struct run r = ctl("ping");
    expect_status(&r, 0);
    assert_string_equal(r.out, "pong: redis up\n");
    run_free(&r);

    r = ctl("--json ping");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "pong")));
    assert_string_equal(json_str(j, "redis"), "up");
    cJSON_Delete(j);
    run_free(&r);

    /* Host and port from the environment; a flag would win over them. */
    char env[64];
    snprintf(env, sizeof env, "STOCKCTL_HOST=localhost STOCKCTL_PORT=%d", H.stockd[0].port);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s ping >/dev/null 2>&1", env, STOCKCTL_BIN);
    assert_int_equal(WEXITSTATUS(system(cmd)), 0);
}

static void test_stock_set_adjust_get(void **state)
{
    (void)state;
    struct run r = ctl("--json stock set MUG wh-east 30 --safety 2");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_string_equal(json_str(j, "sku"), "MUG");
    assert_string_equal(json_str(j, "location"), "wh-east");
    assert_int_equal(json_int(j, "on_hand"), 30);
    assert_int_equal(json_int(j, "safety_stock"), 2);
    assert_int_equal(json_int(j, "available"), 28);
    cJSON_Delete(j);
    run_free(&r);

    r = ctl("stock set MUG wh-west 10");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "LOCATION"));
    long long v[4];
    assert_int_equal(line_numbers(r.out, "MUG  wh-west", v, 4), 4);
    assert_int_equal(v[0], 10); /* on hand */
    assert_int_equal(v[2], 10); /* available */
    run_free(&r);

    /* A reason with quotes, a backslash and UTF-8 reaches stockd escaped
     * (stockd refuses anything that is not valid JSON). */
    r = ctl("--json stock adjust MUG wh-east -5 --reason 'PO \"88\" \\ recu \xc3\xa9'");
    expect_status(&r, 0);
    j = json_out(&r);
    assert_int_equal(json_int(j, "on_hand"), 25);
    cJSON_Delete(j);
    run_free(&r);
    r = ctl("stock adjust MUG wh-east +3");
    expect_status(&r, 0);
    run_free(&r);
    struct row row = stock_row(harness_client(0), "MUG", "wh-east");
    assert_int_equal(row.on_hand, 28);
    assert_int_equal(row.available, 26);

    /* The table: one line per location and the totals. */
    r = ctl("stock get MUG");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "sku MUG\n"));
    assert_non_null(strstr(r.out, "LOCATION  ON_HAND  RESERVED  AVAILABLE  SAFETY\n"));
    assert_int_equal(line_numbers(r.out, "wh-east", v, 4), 4);
    assert_true(v[0] == 28 && v[1] == 0 && v[2] == 26 && v[3] == 2);
    assert_int_equal(line_numbers(r.out, "wh-west", v, 4), 4);
    assert_true(v[0] == 10 && v[1] == 0 && v[2] == 10 && v[3] == 0);
    assert_int_equal(line_numbers(r.out, "(total)", v, 4), 3);
    assert_true(v[0] == 38 && v[1] == 0 && v[2] == 36);
    run_free(&r);

    /* --json is the result object byte for byte as stockd sends it. */
    r = ctl("--json stock get MUG wh-west nowhere");
    expect_status(&r, 0);
    char *raw =
        raw_result("stock.get", "{\"sku\":\"MUG\",\"locations\":[\"wh-west\",\"nowhere\"]}");
    assert_string_equal(r.out, raw);
    free(raw);
    j = json_out(&r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "locations")), 2);
    assert_int_equal(json_int(cJSON_GetObjectItemCaseSensitive(j, "totals"), "on_hand"), 10);
    cJSON_Delete(j);
    run_free(&r);

    r = ctl("stock get NOTHING");
    expect_status(&r, 0);
    assert_string_equal(r.out, "sku NOTHING: no stock recorded\n");
    run_free(&r);
}

static void test_channels(void **state)
{
    (void)state;
    struct run r = ctl("channel set web wh-east store-9 wh-west");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "channel web\n"));
    assert_non_null(strstr(r.out, "1  wh-east\n2  store-9\n3  wh-west\n"));
    run_free(&r);

    r = ctl("channel get web --json");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_string_equal(json_str(j, "channel"), "web");
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(j, "locations");
    assert_int_equal(cJSON_GetArraySize(locs), 3);
    assert_string_equal(cJSON_GetArrayItem(locs, 1)->valuestring, "store-9");
    cJSON_Delete(j);
    run_free(&r);

    redisReply *rr = harness_redis(&H, "LRANGE {inv}:channel:web 0 -1");
    assert_int_equal(rr->elements, 3);
    assert_string_equal(rr->element[2]->str, "wh-west");
    freeReplyObject(rr);

    r = ctl("channel get nowhere");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error 1005 unknown_channel"));
    run_free(&r);
}

/* --- locations and routing ------------------------------------------------- */

/* Redis GEO's great-circle distance in km (haversine, Earth radius
 * 6372797.560856 m), which stockd's ranking uses. */
static double geo_km(double lat1, double lng1, double lat2, double lng2)
{
    const double rad = M_PI / 180.0;
    double u = sin((lat2 - lat1) * rad / 2);
    double v = sin((lng2 - lng1) * rad / 2);
    double a = u * u + cos(lat1 * rad) * cos(lat2 * rad) * v * v;
    return 2.0 * 6372797.560856 * asin(sqrt(a)) / 1000.0;
}

static double json_num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* The demo's locations: a warehouse near Newark, one near Reno, a store in
 * Chicago. */
#define EAST_LAT 40.7357
#define EAST_LNG (-74.1724)
#define WEST_LAT 39.5296
#define WEST_LNG (-119.8138)
#define STORE_LAT 41.8781
#define STORE_LNG (-87.6298)
/* Orders ship to Sacramento (zone us-west) or to Boston (zone us-east). */
#define SAC_LAT 38.5816
#define SAC_LNG (-121.4944)
#define BOS_LAT 42.3601
#define BOS_LNG (-71.0589)

static void set_up_locations(void)
{
    static const char *const cmds[] = {
        "location set wh-east --lat 40.7357 --lng -74.1724 --zone us-east --priority 10",
        "location set wh-west --lat 39.5296 --lng -119.8138 --zone us-west --priority 5",
        "location set store-9 --lat=41.8781 --lng=-87.6298 --zone us-central --tag store "
        "--tag pickup",
        "stock set TEE wh-east 10",
        "stock set TEE wh-west 10",
        "stock set TEE store-9 10",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        struct run r = ctl("%s", cmds[i]);
        expect_status(&r, 0);
        run_free(&r);
    }
}

static void test_locations(void **state)
{
    (void)state;
    struct run r = ctl("location list");
    expect_status(&r, 0);
    assert_string_equal(r.out, "no locations recorded\n");
    run_free(&r);

    /* The record, for people: coordinates as given (52.52 stays 52.52). */
    r = ctl("location set wh-east --lat 40.7357 --lng -74.1724 --zone us-east --priority 10 "
            "--tag bulk --tag cold");
    expect_status(&r, 0);
    assert_string_equal(r.out, "location     wh-east\n"
                               "coordinates  40.7357, -74.1724\n"
                               "zone         us-east\n"
                               "priority     10\n"
                               "tags         bulk, cold\n");
    run_free(&r);

    /* --json: the record as stockd sent it; lat and lng are JSON numbers. */
    r = ctl("--json location get wh-east");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_string_equal(json_str(j, "location"), "wh-east");
    assert_true(json_num(j, "lat") == 40.7357);
    assert_true(json_num(j, "lng") == -74.1724);
    assert_string_equal(json_str(j, "zone"), "us-east");
    assert_int_equal(json_int(j, "priority"), 10);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    assert_int_equal(cJSON_GetArraySize(tags), 2);
    assert_string_equal(cJSON_GetArrayItem(tags, 0)->valuestring, "bulk");
    assert_string_equal(cJSON_GetArrayItem(tags, 1)->valuestring, "cold");
    cJSON_Delete(j);
    run_free(&r);

    /* Where the numbers went: the hash and the GEO set. */
    redisReply *rr = harness_redis(&H, "HGET {inv}:location:wh-east zone");
    assert_string_equal(rr->str, "us-east");
    freeReplyObject(rr);
    rr = harness_redis(&H, "GEOPOS {inv}:geo wh-east");
    assert_int_equal(rr->elements, 1);
    assert_int_equal(rr->element[0]->elements, 2);
    assert_true(fabs(atof(rr->element[0]->element[0]->str) - -74.1724) < 1e-5);
    assert_true(fabs(atof(rr->element[0]->element[1]->str) - 40.7357) < 1e-5);
    freeReplyObject(rr);

    /* A negative latitude as a separate word, a whole number, no zone. */
    r = ctl("--json location set syd-1 --lat -33.8688 --lng 151 --priority -3");
    expect_status(&r, 0);
    j = json_out(&r);
    assert_true(json_num(j, "lat") == -33.8688);
    assert_true(json_num(j, "lng") == 151);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "zone"));
    assert_int_equal(json_int(j, "priority"), -3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "tags")), 0);
    cJSON_Delete(j);
    run_free(&r);

    /* Setting replaces the whole record: without options, no coordinates,
     * no zone, priority 0, no tags (and out of the GEO set). */
    r = ctl("location set wh-east");
    expect_status(&r, 0);
    assert_string_equal(r.out, "location     wh-east\n"
                               "coordinates  -\n"
                               "zone         -\n"
                               "priority     0\n"
                               "tags         -\n");
    run_free(&r);
    rr = harness_redis(&H, "GEOPOS {inv}:geo wh-east");
    assert_int_equal(rr->element[0]->type, REDIS_REPLY_NIL);
    freeReplyObject(rr);
    r = ctl("location set wh-east --lat 40.7357 --lng -74.1724 --zone us-east --priority 10");
    expect_status(&r, 0);
    run_free(&r);

    /* The list: a table ordered by name, and the same in --json. */
    r = ctl("location set store-9 --lat 41.8781 --lng -87.6298 --zone us-central --tag store "
            "--tag pickup");
    expect_status(&r, 0);
    run_free(&r);
    r = ctl("location list");
    expect_status(&r, 0);
    assert_string_equal(r.out, "LOCATION       LAT       LNG  ZONE        PRIORITY  TAGS\n"
                               "store-9    41.8781  -87.6298  us-central         0  store,pickup\n"
                               "syd-1     -33.8688       151  -                 -3  -\n"
                               "wh-east    40.7357  -74.1724  us-east           10  -\n");
    run_free(&r);
    r = ctl("location list --json");
    expect_status(&r, 0);
    j = json_out(&r);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "locations");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    assert_string_equal(json_str(cJSON_GetArrayItem(list, 0), "location"), "store-9");
    assert_string_equal(json_str(cJSON_GetArrayItem(list, 1), "location"), "syd-1");
    assert_string_equal(json_str(cJSON_GetArrayItem(list, 2), "location"), "wh-east");
    assert_true(json_num(cJSON_GetArrayItem(list, 0), "lng") == -87.6298);
    cJSON_Delete(j);
    run_free(&r);

    /* Unknown: exit 1 with 1002 not_found, human and --json. */
    r = ctl("location get nowhere");
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "location.get: error 1002 not_found"));
    run_free(&r);
    r = ctl("--json location get nowhere");
    expect_status(&r, 1);
    cJSON *e = cJSON_Parse(r.err);
    assert_non_null(e);
    assert_int_equal(json_int(e, "code"), 1002);
    cJSON_Delete(e);
    run_free(&r);
}

static void test_channel_rules(void **state)
{
    (void)state;
    struct run r = ctl("channel set web-nearest wh-east wh-west store-9 "
                       "--rules same_zone,nearest,priority");
    expect_status(&r, 0);
    assert_string_equal(r.out, "channel web-nearest\n"
                               "rules: same_zone, nearest, priority\n"
                               "#  LOCATION\n"
                               "1  wh-east\n"
                               "2  wh-west\n"
                               "3  store-9\n");
    run_free(&r);

    r = ctl("--json channel get web-nearest");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    assert_int_equal(cJSON_GetArraySize(rules), 3);
    assert_string_equal(cJSON_GetArrayItem(rules, 0)->valuestring, "same_zone");
    assert_string_equal(cJSON_GetArrayItem(rules, 1)->valuestring, "nearest");
    assert_string_equal(cJSON_GetArrayItem(rules, 2)->valuestring, "priority");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "locations")), 3);
    cJSON_Delete(j);
    run_free(&r);

    /* Without --rules the channel is a v1 channel again: channel order. */
    r = ctl("channel set web-nearest wh-east wh-west");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "rules: channel_order\n"));
    run_free(&r);
    r = ctl("channel get web-nearest --json");
    j = json_out(&r);
    rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    assert_int_equal(cJSON_GetArraySize(rules), 1);
    assert_string_equal(cJSON_GetArrayItem(rules, 0)->valuestring, "channel_order");
    cJSON_Delete(j);
    run_free(&r);

    /* All four rules, the last explicit. */
    r = ctl("--json channel set all wh-east --rules=priority,nearest,same_zone,channel_order");
    expect_status(&r, 0);
    j = json_out(&r);
    rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    assert_int_equal(cJSON_GetArraySize(rules), 4);
    assert_string_equal(cJSON_GetArrayItem(rules, 3)->valuestring, "channel_order");
    cJSON_Delete(j);
    run_free(&r);
}

/* The row of rank n of an explain table in out (NULL when missing). */
static const char *rank_row(const char *out, int n)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "\n%4d  ", n);
    const char *p = strstr(out, prefix);
    return p ? p + 1 : NULL;
}

static void test_reserve_routing(void **state)
{
    (void)state;
    set_up_locations();
    struct run r = ctl("channel set web-nearest wh-east wh-west store-9 "
                       "--rules same_zone,nearest,priority");
    expect_status(&r, 0);
    run_free(&r);

    /* To Sacramento: wh-west is in the zone; then nearest first. */
    r = ctl("--json reserve --order-id sac-1 --channel web-nearest "
            "--ship-to 38.5816,-121.4944,us-west --explain TEE=2");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "allocations"), 0);
    assert_string_equal(json_str(a, "location"), "wh-west");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "explain");
    assert_int_equal(cJSON_GetArraySize(ex), 3);
    static const char *const order[] = {"wh-west", "store-9", "wh-east"};
    const double km[] = {geo_km(SAC_LAT, SAC_LNG, WEST_LAT, WEST_LNG),
                         geo_km(SAC_LAT, SAC_LNG, STORE_LAT, STORE_LNG),
                         geo_km(SAC_LAT, SAC_LNG, EAST_LAT, EAST_LNG)};
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(ex, i);
        assert_string_equal(json_str(e, "location"), order[i]);
        /* Up to 4 decimals of km. */
        if (fabs(json_num(e, "distance_km") - km[i]) > 0.00051)
            print_error("%s: distance %.6f, want %.6f\n", order[i], json_num(e, "distance_km"),
                        km[i]);
        assert_true(fabs(json_num(e, "distance_km") - km[i]) <= 0.00051);
    }
    assert_string_equal(json_str(cJSON_GetArrayItem(ex, 0), "zone"), "us-west");
    assert_int_equal(json_int(cJSON_GetArrayItem(ex, 0), "priority"), 5);
    assert_int_equal(json_int(cJSON_GetArrayItem(ex, 2), "priority"), 10);
    cJSON_Delete(j);
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "TEE", "wh-west").reserved, 2);

    /* The same for people: the allocation, then the ranked table. */
    r = ctl("reserve --order-id bos-1 --channel web-nearest --ship-to 42.3601,-71.0589,us-east "
            "--explain TEE=1");
    expect_status(&r, 0);
    long long q;
    assert_int_equal(line_numbers(r.out, "TEE  wh-east", &q, 1), 1);
    assert_int_equal(q, 1);
    assert_non_null(strstr(r.out, "\nranking: the candidate locations, most preferred first\n"
                                  "RANK  LOCATION  DISTANCE_KM  ZONE        PRIORITY\n"));
    const char *row = rank_row(r.out, 1);
    assert_non_null(row);
    assert_true(strncmp(row, "   1  wh-east ", 14) == 0);
    assert_non_null(strstr(row, "us-east"));
    assert_non_null(rank_row(r.out, 2));
    assert_true(strncmp(rank_row(r.out, 2), "   2  store-9 ", 14) == 0);
    assert_true(strncmp(rank_row(r.out, 3), "   3  wh-west ", 14) == 0);
    /* The distance as stockd sent it, right-aligned under DISTANCE_KM. */
    double d = strtod(rank_row(r.out, 1) + 14, NULL);
    assert_true(fabs(d - geo_km(BOS_LAT, BOS_LNG, EAST_LAT, EAST_LNG)) <= 0.00051);
    run_free(&r);

    /* A replay has no explain, and shows no ranking. */
    r = ctl("reserve --order-id bos-1 --channel web-nearest --ship-to 42.3601,-71.0589,us-east "
            "--explain TEE=1");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "replayed     yes"));
    assert_null(strstr(r.out, "ranking:"));
    run_free(&r);

    /* --max-distance-km leaves only what is near (and has coordinates). */
    r = ctl("--json reserve --channel web-nearest --ship-to 38.5816,-121.4944 "
            "--max-distance-km 500 --explain TEE=1");
    expect_status(&r, 0);
    j = json_out(&r);
    ex = cJSON_GetObjectItemCaseSensitive(j, "explain");
    assert_int_equal(cJSON_GetArraySize(ex), 1);
    assert_string_equal(json_str(cJSON_GetArrayItem(ex, 0), "location"), "wh-west");
    cJSON_Delete(j);
    run_free(&r);

    /* Nothing near enough: 1001, and the (empty) ranking on stderr. */
    r = ctl("reserve --channel web-nearest --ship-to 38.5816,-121.4944 --max-distance-km 0.5 "
            "--explain TEE=1");
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "reserve: error 1001 out_of_stock"));
    assert_non_null(strstr(r.err, "ranking: no candidate location left\n"));
    assert_null(strstr(r.err, "explain ["));
    run_free(&r);

    /* More than any location has: 1001 with the ranking that was tried,
     * human on stderr and in the --json error object. */
    r = ctl("reserve --channel web-nearest --ship-to 38.5816,-121.4944,us-west --strategy single "
            "--explain TEE=50");
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "error 1001 out_of_stock"));
    assert_non_null(strstr(r.err, "requested 50"));
    assert_non_null(strstr(r.err, "RANK  LOCATION"));
    assert_non_null(rank_row(r.err, 3));
    assert_true(strncmp(rank_row(r.err, 1), "   1  wh-west ", 14) == 0);
    run_free(&r);
    r = ctl("--json reserve --channel web-nearest --ship-to 38.5816,-121.4944 --explain TEE=50");
    expect_status(&r, 1);
    cJSON *e = cJSON_Parse(r.err);
    assert_non_null(e);
    assert_int_equal(json_int(e, "code"), 1001);
    ex = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "data"), "explain");
    assert_int_equal(cJSON_GetArraySize(ex), 3);
    cJSON_Delete(e);
    run_free(&r);

    /* No destination: nearest and same_zone are skipped, priority ranks
     * (wh-east 10, wh-west 5, store-9 0), and there are no distances. */
    r = ctl("--json reserve --channel web-nearest --explain TEE=1");
    expect_status(&r, 0);
    j = json_out(&r);
    ex = cJSON_GetObjectItemCaseSensitive(j, "explain");
    assert_string_equal(json_str(cJSON_GetArrayItem(ex, 0), "location"), "wh-east");
    assert_string_equal(json_str(cJSON_GetArrayItem(ex, 1), "location"), "wh-west");
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ex, 0), "distance_km"));
    cJSON_Delete(j);
    run_free(&r);
    r = ctl("reserve --channel web-nearest --explain TEE=1");
    expect_status(&r, 0);
    assert_true(strncmp(rank_row(r.out, 1), "   1  wh-east             -  us-east  ", 38) == 0);
    run_free(&r);

    /* Without --explain the result has no list and shows none. */
    r = ctl("reserve --channel web-nearest --ship-to 38.5816,-121.4944 TEE=1");
    expect_status(&r, 0);
    assert_null(strstr(r.out, "ranking:"));
    assert_non_null(strstr(r.out, "TEE  wh-west"));
    run_free(&r);
}

static void test_reservation_lifecycle(void **state)
{
    (void)state;
    struct run r = ctl("stock set TEE wh-east 10");
    expect_status(&r, 0);
    run_free(&r);
    r = ctl("stock set TEE wh-west 10");
    run_free(&r);
    r = ctl("channel set web wh-east wh-west");
    run_free(&r);

    r = ctl("--json reserve --order-id ord-1 --channel web --location wh-west --location wh-east "
            "--strategy single --ttl-ms 60000 TEE=2");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    char id[160];
    snprintf(id, sizeof id, "%s", json_str(j, "reservation_id"));
    assert_true(strlen(id) >= 16);
    assert_string_equal(json_str(j, "status"), "held");
    assert_string_equal(json_str(j, "order_id"), "ord-1");
    long long created = json_int(j, "created_at");
    assert_int_equal(json_int(j, "expires_at") - created, 60000);
    const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "allocations"), 0);
    assert_string_equal(json_str(a, "sku"), "TEE");
    assert_string_equal(json_str(a, "location"), "wh-west"); /* the request's order */
    assert_int_equal(json_int(a, "quantity"), 2);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "replayed")));
    cJSON_Delete(j);
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "TEE", "wh-west").reserved, 2);

    /* A retry is the same hold. */
    r = ctl("reserve --order-id ord-1 --channel web TEE=2");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, id));
    assert_non_null(strstr(r.out, "replayed     yes"));
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "TEE", "wh-west").reserved, 2);

    /* The human view: times as ISO-8601 UTC and the allocations table. */
    r = ctl("reservation -- %s", id);
    expect_status(&r, 0);
    char want[256], when[48];
    snprintf(want, sizeof want, "reservation  %s\n", id);
    assert_non_null(strstr(r.out, want));
    assert_non_null(strstr(r.out, "status       held\n"));
    assert_non_null(strstr(r.out, "order        ord-1\n"));
    iso(created, when, sizeof when);
    snprintf(want, sizeof want, "created      %s\n", when);
    assert_non_null(strstr(r.out, want));
    iso(created + 60000, when, sizeof when);
    snprintf(want, sizeof want, "expires      %s\n", when);
    assert_non_null(strstr(r.out, want));
    long long q;
    assert_int_equal(line_numbers(r.out, "TEE  wh-west", &q, 1), 1);
    assert_int_equal(q, 2);
    run_free(&r);

    r = ctl("extend --json -- %s 120000", id);
    expect_status(&r, 0);
    j = json_out(&r);
    assert_true(json_int(j, "expires_at") >= created + 120000);
    assert_string_equal(json_str(j, "status"), "held");
    cJSON_Delete(j);
    run_free(&r);

    r = ctl("commit -- %s", id);
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "status       committed\n"));
    run_free(&r);
    struct row row = stock_row(harness_client(0), "TEE", "wh-west");
    assert_int_equal(row.on_hand, 8);
    assert_int_equal(row.reserved, 0);

    r = ctl("--json release --reason 'customer \"changed\" mind' -- %s", id);
    expect_status(&r, 0);
    j = json_out(&r);
    assert_string_equal(json_str(j, "status"), "released");
    assert_string_equal(json_str(j, "reason"), "customer \"changed\" mind");
    cJSON_Delete(j);
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "TEE", "wh-west").on_hand, 10);

    /* State errors are exit 1 with code and reason. */
    r = ctl("extend -- %s 60000", id);
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "extend: error 1003 released"));
    run_free(&r);
    r = ctl("reserve --order-id ord-1 TEE=3");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error 1004 idempotency_conflict"));
    run_free(&r);
}

static void test_audit(void **state)
{
    (void)state;
    struct run r = ctl("stock set AUD L 5");
    run_free(&r);
    r = ctl("reserve --location L AUD=2");
    expect_status(&r, 0);
    run_free(&r);

    r = ctl("audit");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "audit ok: 1 skus checked, 1 live holds"));
    run_free(&r);
    r = ctl("audit AUD --json");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")));
    assert_int_equal(json_int(j, "skus_checked"), 1);
    assert_int_equal(json_int(j, "holds"), 1);
    cJSON_Delete(j);
    run_free(&r);

    /* Books that do not match are exit 1, with the difference shown. */
    freeReplyObject(harness_redis(&H, "HSET {inv}:stock:AUD L:reserved 7"));
    r = ctl("audit AUD");
    expect_status(&r, 1);
    assert_non_null(strstr(r.out, "audit FAILED"));
    long long v[2];
    assert_int_equal(line_numbers(r.out, "AUD  L", v, 2), 2);
    assert_true(v[0] == 7 && v[1] == 2);
    run_free(&r);
    r = ctl("--json audit AUD");
    expect_status(&r, 1);
    j = json_out(&r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")));
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "differences"), 0);
    assert_int_equal(json_int(d, "reserved"), 7);
    assert_int_equal(json_int(d, "expected"), 2);
    cJSON_Delete(j);
    run_free(&r);
}

/* --- error classes --------------------------------------------------------- */

static void test_error_exit_codes(void **state)
{
    (void)state;
    /* 1: unknown reservation, human and --json (the error object on stderr). */
    struct run r = ctl("commit no-such-hold");
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "commit: error 1002 not_found: No such reservation."));
    run_free(&r);
    cJSON *e = ctl_json_refused("reservation no-such-hold");
    assert_int_equal(json_int(e, "code"), 1002);
    assert_string_equal(json_str(cJSON_GetObjectItemCaseSensitive(e, "data"), "reason"),
                        "not_found");
    cJSON_Delete(e);

    /* Reservation ids may begin with '-': with one dash it is an argument,
     * with two it must follow "--". */
    r = ctl("commit -no-such-hold");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error 1002 not_found"));
    run_free(&r);
    r = ctl("commit --no-such-hold");
    expect_status(&r, 2);
    run_free(&r);
    r = ctl("commit -- --no-such-hold");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error 1002 not_found"));
    run_free(&r);

    /* 1: out of stock, with the data that says why. */
    r = ctl("stock set OOS L 1");
    run_free(&r);
    r = ctl("reserve --location L OOS=5");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error 1001 out_of_stock"));
    assert_non_null(strstr(r.err, "requested 5"));
    assert_non_null(strstr(r.err, "available 1"));
    run_free(&r);

    /* 1: invalid params that only stockd knows (more items than its
     * --max-items), with the field named. */
    char items[4096] = "";
    for (int i = 0; i < 101; i++) {
        char it[24];
        snprintf(it, sizeof it, " S%d=1", i);
        strcat(items, it);
    }
    r = ctl("reserve --location L%s", items);
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error -32602 invalid_params"));
    assert_non_null(strstr(r.err, "field items"));
    run_free(&r);

    /* 3: nothing listens there. */
    int fd;
    int port = dead_port(&fd);
    r = ctl_at(port, "ping");
    expect_status(&r, 3);
    assert_non_null(strstr(r.err, "cannot connect"));
    run_free(&r);
    r = ctl_at(port, "stock get MUG");
    expect_status(&r, 3);
    run_free(&r);
    close(fd);

    /* 4: a stockd whose Redis is unreachable answers 2001, and its ping says
     * Redis is down. */
    port = dead_port(&fd);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
    const char *args[] = {"--redis", url, "--http", "127.0.0.1:0", NULL};
    int down = harness_stockd(&(struct stockd_opts){.args = args, .listening_only = true});
    r = ctl_at(H.stockd[down].port, "stock get MUG");
    expect_status(&r, 4);
    assert_non_null(strstr(r.err, "error 2001 unavailable"));
    run_free(&r);
    r = ctl_at(H.stockd[down].port, "ping --json");
    expect_status(&r, 4);
    cJSON *j = json_out(&r);
    assert_string_equal(json_str(j, "redis"), "down");
    cJSON_Delete(j);
    run_free(&r);
    close(fd);
}

static void test_auth(void **state)
{
    (void)state;
    char path[512];
    harness_write_file("token", "s3cret-t0ken\n", path, sizeof path);
    const char *args[] = {"--auth-token-file", path, "--http", "127.0.0.1:0", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int port = H.stockd[i].port;

    struct run r = ctl_at(port, "stock set SEC L 4");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "error 1006 unauthorized"));
    run_free(&r);

    r = ctl_at(port, "--token wrong stock set SEC L 4");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "auth: error 1006 unauthorized"));
    run_free(&r);
    assert_int_equal(dbsize(), 0);

    r = ctl_at(port, "--token s3cret-t0ken --json stock set SEC L 4");
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_int_equal(json_int(j, "on_hand"), 4);
    cJSON_Delete(j);
    run_free(&r);

    /* The token from the environment; a flag wins over it. */
    r = ctl_env_at("STOCKD_AUTH_TOKEN=s3cret-t0ken", port, "stock get SEC");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "(total)"));
    run_free(&r);
    r = ctl_env_at("STOCKD_AUTH_TOKEN=s3cret-t0ken", port, "--token nope stock get SEC");
    expect_status(&r, 1);
    run_free(&r);

    /* The import authenticates before it pipelines. */
    char csv[512];
    harness_write_file("auth.csv", "sku,location,on_hand\nSEC,L,9\nSEC,M,1\n", csv, sizeof csv);
    r = ctl_at(port, "--token s3cret-t0ken import %s", csv);
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "2 rows, 2 ok, 0 failed"));
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "SEC", "L").on_hand, 9);
}

/* --- import -------------------------------------------------------------- */

#define IMPORT_SKUS 2000
#define IMPORT_LOCATIONS 5
#define IMPORT_ROWS (IMPORT_SKUS * IMPORT_LOCATIONS)

static long long import_on_hand(int sku, int loc)
{
    return (long long)sku * 7 + loc * 1000 + 1;
}

static long long import_safety(int sku, int loc)
{
    return (sku + loc) % 4;
}

/* Counts the stock keys with SCAN (not KEYS: it is what an operator may run
 * on a live Redis). */
static long long count_stock_keys(void)
{
    long long n = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = harness_redis(&H, "SCAN %s MATCH {inv}:stock:* COUNT 1000", cursor);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        n += (long long)r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

static void test_import_10k_rows(void **state)
{
    (void)state;
    char csv[512];
    snprintf(csv, sizeof csv, "%s/stock.csv", H.dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("sku,location,on_hand,safety_stock\r\n", f);
    for (int i = 0; i < IMPORT_ROWS; i++) {
        int sku = i / IMPORT_LOCATIONS, loc = i % IMPORT_LOCATIONS;
        fprintf(f, "IMP-%05d,loc-%d,%lld,%lld\r\n", sku, loc, import_on_hand(sku, loc),
                import_safety(sku, loc));
    }
    fclose(f);

    long long t0 = harness_now_ms();
    struct run r = ctl("import %s", csv);
    long long took = harness_now_ms() - t0;
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "10000 rows, 10000 ok, 0 failed"));
    /* stderr is not a terminal here: no progress line. */
    assert_null(strchr(r.err, '\r'));
    assert_string_equal(r.err, "");
    print_message("stockctl import of %d rows: %lld ms wall; %s", IMPORT_ROWS, took, r.out);
    run_free(&r);

    /* Every sku is there, and nothing else. */
    assert_int_equal(count_stock_keys(), IMPORT_SKUS);

    /* Every row, through stock.get, pipelined in chunks below stockd's
     * --max-pipeline. */
    int fd = harness_client(0);
    for (int base = 0; base < IMPORT_SKUS; base += 250) {
        char req[160];
        for (int s = base; s < base + 250; s++) {
            snprintf(req, sizeof req,
                     "{\"id\":%d,\"method\":\"stock.get\",\"params\":{\"sku\":\"IMP-%05d\"}}\n", s,
                     s);
            client_sends(fd, req);
        }
        for (int s = base; s < base + 250; s++) {
            char *line = client_readline(fd, 10000);
            assert_non_null(line);
            cJSON *resp = cJSON_Parse(line);
            free(line);
            assert_int_equal(json_int(resp, "id"), s);
            const cJSON *locs = cJSON_GetObjectItemCaseSensitive(resp_result(resp), "locations");
            assert_int_equal(cJSON_GetArraySize(locs), IMPORT_LOCATIONS);
            int loc = 0;
            for (const cJSON *row = locs->child; row != NULL; row = row->next, loc++) {
                char name[16];
                snprintf(name, sizeof name, "loc-%d", loc);
                assert_string_equal(json_str(row, "location"), name);
                assert_int_equal(json_int(row, "on_hand"), import_on_hand(s, loc));
                assert_int_equal(json_int(row, "safety_stock"), import_safety(s, loc));
            }
            cJSON_Delete(resp);
        }
    }

    /* A sample through stockctl itself. */
    static const int sample[] = {0, 1, 999, 1234, IMPORT_SKUS - 1};
    for (size_t i = 0; i < sizeof sample / sizeof sample[0]; i++) {
        int s = sample[i];
        r = ctl("--json stock get IMP-%05d loc-3", s);
        expect_status(&r, 0);
        cJSON *j = json_out(&r);
        const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "locations"), 0);
        assert_int_equal(json_int(row, "on_hand"), import_on_hand(s, 3));
        assert_int_equal(json_int(row, "available"), import_on_hand(s, 3) - import_safety(s, 3));
        cJSON_Delete(j);
        run_free(&r);
    }

    /* Again with --json and a small window: the same numbers (stock.set is
     * absolute), and a summary for scripts. */
    r = ctl("--json import %s --window 64", csv);
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_int_equal(json_int(j, "rows"), IMPORT_ROWS);
    assert_int_equal(json_int(j, "ok"), IMPORT_ROWS);
    assert_int_equal(json_int(j, "failed"), 0);
    assert_true(json_int(j, "elapsed_ms") >= 0);
    assert_true(json_int(j, "rows_per_s") > 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "errors")), 0);
    cJSON_Delete(j);
    run_free(&r);
    assert_int_equal(count_stock_keys(), IMPORT_SKUS);
}

static void test_import_bad_lines(void **state)
{
    (void)state;
    /* A hold on HELD/L so that setting on_hand below it is refused by stockd. */
    struct run r = ctl("stock set HELD L 5");
    run_free(&r);
    r = ctl("reserve --location L HELD=3");
    expect_status(&r, 0);
    run_free(&r);

    char csv[512];
    snprintf(csv, sizeof csv, "%s/bad.csv", H.dir);
    FILE *f = fopen(csv, "w");
    fputs("sku,location,on_hand\n" /* line 1 */
          "GOOD-1,L,1\n"           /* 2 */
          "SHORT,L\n"              /* 3: too few columns */
          "\n"                     /* 4: blank, skipped */
          "NAN,L,many\n"           /* 5: not a number */
          "\"GOOD-2\",\"L\",2\n"   /* 6: quoted fields are fine */
          "LONG,L,1,2\n"           /* 7: too many columns */
          "BAD SKU,L,1\n"          /* 8: not an identifier */
          "HELD,L,1\n"             /* 9: below reserved: stockd says 1003 */
          "NEG,L,-4\n"             /* 10: below range */
          "GOOD-3,L,3\n",          /* 11 */
          f);
    fclose(f);
    r = ctl("import %s", csv);
    expect_status(&r, 5);
    assert_non_null(strstr(r.out, "9 rows, 3 ok, 6 failed"));
    assert_non_null(strstr(r.err, "line 3: bad row: expected 3 columns, found 2"));
    assert_non_null(strstr(r.err, "line 5: bad row: on_hand 'many'"));
    assert_non_null(strstr(r.err, "line 7: bad row: expected 3 columns, found 4"));
    assert_non_null(strstr(r.err, "line 8: bad row: sku 'BAD SKU'"));
    assert_non_null(strstr(r.err, "line 9: error 1003 below_reserved"));
    assert_non_null(strstr(r.err, "line 10: bad row: on_hand '-4'"));
    /* In line order. */
    assert_true(strstr(r.err, "line 3:") < strstr(r.err, "line 9:"));
    assert_true(strstr(r.err, "line 9:") < strstr(r.err, "line 10:"));
    run_free(&r);

    /* The good rows are in, the bad ones were never sent. */
    assert_int_equal(stock_row(harness_client(0), "GOOD-1", "L").on_hand, 1);
    assert_int_equal(stock_row(harness_client(0), "GOOD-2", "L").on_hand, 2);
    assert_int_equal(stock_row(harness_client(0), "GOOD-3", "L").on_hand, 3);
    assert_int_equal(stock_row(harness_client(0), "HELD", "L").on_hand, 5);
    redisReply *rr = harness_redis(&H, "EXISTS {inv}:stock:SHORT {inv}:stock:NAN {inv}:stock:LONG "
                                       "{inv}:stock:NEG");
    assert_int_equal(rr->integer, 0);
    freeReplyObject(rr);

    /* The same in JSON: line numbers and codes for scripts. */
    r = ctl("--json import %s", csv);
    expect_status(&r, 5);
    cJSON *j = json_out(&r);
    assert_int_equal(json_int(j, "failed"), 6);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
    assert_int_equal(cJSON_GetArraySize(errs), 6);
    assert_int_equal(json_int(cJSON_GetArrayItem(errs, 0), "line"), 3);
    assert_string_equal(json_str(cJSON_GetArrayItem(errs, 0), "reason"), "bad_row");
    assert_int_equal(json_int(cJSON_GetArrayItem(errs, 4), "line"), 9);
    assert_int_equal(json_int(cJSON_GetArrayItem(errs, 4), "code"), 1003);
    assert_string_equal(json_str(cJSON_GetArrayItem(errs, 4), "reason"), "below_reserved");
    cJSON_Delete(j);
    run_free(&r);

    /* No usable header: a usage error, nothing sent. */
    snprintf(csv, sizeof csv, "%s/noheader.csv", H.dir);
    f = fopen(csv, "w");
    fputs("NOHEAD,L,1\n", f);
    fclose(f);
    r = ctl("import %s", csv);
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "line 1: expected the header"));
    run_free(&r);
    rr = harness_redis(&H, "EXISTS {inv}:stock:NOHEAD");
    assert_int_equal(rr->integer, 0);
    freeReplyObject(rr);
    r = ctl("import %s/missing.csv", H.dir);
    expect_status(&r, 2);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_help_and_usage_errors, harness_flush_setup),
        cmocka_unit_test_setup(test_ping, harness_flush_setup),
        cmocka_unit_test_setup(test_stock_set_adjust_get, harness_flush_setup),
        cmocka_unit_test_setup(test_channels, harness_flush_setup),
        cmocka_unit_test_setup(test_locations, harness_flush_setup),
        cmocka_unit_test_setup(test_channel_rules, harness_flush_setup),
        cmocka_unit_test_setup(test_reserve_routing, harness_flush_setup),
        cmocka_unit_test_setup(test_reservation_lifecycle, harness_flush_setup),
        cmocka_unit_test_setup(test_audit, harness_flush_setup),
        cmocka_unit_test_setup(test_error_exit_codes, harness_flush_setup),
        cmocka_unit_test_setup(test_auth, harness_flush_setup),
        cmocka_unit_test_setup(test_import_10k_rows, harness_flush_setup),
        cmocka_unit_test_setup(test_import_bad_lines, harness_flush_setup),
    };
    return stockctl_run_tests("stockctl", tests, sizeof tests / sizeof tests[0]);
}
