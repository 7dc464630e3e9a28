/* Integration: stockctl's commands for backorders, partial holds and
 * changing holds, run as a process against a real stockd and Redis:
 * stock set's --backorder-limit and --low-stock-threshold, reserve's
 * --allow-backorder and --allow-partial, update and transfer. Each with its
 * usage errors (exit 2, nothing sent), stockd's refusals (exit 1), the
 * human output and --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "stockctl_util.h"

static const cJSON *alloc_at(const cJSON *hold, int i)
{
    const cJSON *a = cJSON_GetArrayItem(member(hold, "allocations"), i);
    assert_non_null(a);
    return a;
}

/* The allocation of a hold for sku, which must have one. */
static const cJSON *alloc_of(const cJSON *hold, const char *sku)
{
    const cJSON *list = member(hold, "allocations");
    for (const cJSON *a = cJSON_IsArray(list) ? list->child : NULL; a != NULL; a = a->next)
        if (strcmp(json_str(a, "sku"), sku) == 0)
            return a;
    print_error("no allocation for %s\n", sku);
    fail();
    return NULL;
}

/* Makes a hold with `--json reserve ARGS` and copies its id into id. */
static void reserve_id(char *id, size_t n, const char *args)
{
    cJSON *j = ctl_json("reserve %s", args);
    snprintf(id, n, "%s", json_str(j, "reservation_id"));
    assert_true(strlen(id) > 0);
    cJSON_Delete(j);
}

/* --- help and usage -------------------------------------------------------- */

static void test_help_and_usage_errors(void **state)
{
    (void)state;
    struct run r = ctl("--help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\n  update RESERVATION_ID SKU=QTY...\n");
    expect_in(&r, r.out, "\n  transfer RESERVATION_ID SKU FROM TO [--quantity N]\n");
    expect_in(&r, r.out, "[--backorder-limit N]");
    expect_in(&r, r.out, "[--low-stock-threshold N|none]");
    expect_in(&r, r.out, "[--allow-backorder] [--allow-partial] SKU=QTY...");
    expect_in(&r, r.out, "\n  --allow-backorder reserve: ");
    expect_in(&r, r.out, "\n  --allow-partial   reserve: ");
    expect_in(&r, r.out, "\n  --quantity N      transfer: ");
    expect_in(&r, r.out, "\n  --backorder-limit N\n                    stock set: ");
    expect_in(&r, r.out, "\n  --low-stock-threshold N|none\n                    stock set: ");
    run_free(&r);

    r = ctl("update --help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "usage: stockctl [OPTIONS] update RESERVATION_ID SKU=QTY...\n");
    expect_in(&r, r.out, "(stockd method: reservation.update)");
    assert_null(strstr(r.out, "\nOptions:"));
    run_free(&r);
    r = ctl("transfer --help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "(stockd method: reservation.transfer)");
    expect_in(&r, r.out, "\n  --quantity N      units to move");
    run_free(&r);
    r = ctl("reserve --help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\n  --allow-backorder take units beyond stock");
    expect_in(&r, r.out, "\n  --allow-partial   hold what there is");
    assert_null(strstr(r.out, "--quantity"));
    run_free(&r);
    r = ctl("stock set --help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\n  --backorder-limit N\n");
    expect_in(&r, r.out, "\n  --low-stock-threshold N|none\n");
    assert_null(strstr(r.out, "--allow-backorder"));
    run_free(&r);

    /* Each of these is refused before anything is sent: the port is a
     * dead one, so an attempt to connect would be exit 3, not 2. */
    int fd;
    int port = dead_port(&fd);
    static const struct {
        const char *args, *says; /* says: NULL when only the exit code is checked */
    } bad[] = {
        {"update", "too few arguments"},
        {"update r-1", "too few arguments"},
        {"update r-1 MUG", "'MUG' is not SKU=QTY"},
        {"update r-1 =3", "'=3' is not SKU=QTY"},
        {"update r-1 MUG=-1", "quantity in 'MUG=-1' must be a whole number from 0 to 1000000000"},
        {"update r-1 MUG=1000000001", "must be a whole number from 0 to 1000000000"},
        {"update r-1 MUG=two", "quantity in 'MUG=two'"},
        {"update r-1 MUG=1 TEE=2 MUG=3", "SKU 'MUG' is given twice"},
        {"update 'r 1' MUG=1", "RESERVATION_ID 'r 1' is not a valid identifier"},
        {"update r-1 'M:G=1'", "SKU in 'M:G=1' is not a valid identifier"},
        {"update r-1 MUG=1 --quantity 2", "option --quantity does not apply here"},
        {"update r-1 MUG=1 --allow-partial", "option --allow-partial does not apply here"},
        {"update --no-such-hold MUG=1", "unknown option '--no-such-hold'"},
        {"transfer r-1 MUG wh-a", "too few arguments"},
        {"transfer r-1 MUG wh-a wh-b wh-c", "too many arguments"},
        {"transfer r-1 MUG wh-a wh-a", "TO 'wh-a' is the same as FROM"},
        {"transfer r-1 MUG wh-a wh-b --quantity 0",
         "--quantity '0' must be a whole number from 1 to 1000000000"},
        {"transfer r-1 MUG wh-a wh-b --quantity -2", "--quantity '-2' must be a whole number"},
        {"transfer r-1 MUG wh-a wh-b --quantity 1000000001", "--quantity '1000000001'"},
        {"transfer r-1 MUG wh-a wh-b --quantity 1.5", "--quantity '1.5'"},
        {"transfer r-1 MUG wh-a wh-b --quantity", "option --quantity needs a value (N)"},
        {"transfer 'r 1' MUG wh-a wh-b", "RESERVATION_ID 'r 1' is not a valid identifier"},
        {"transfer r-1 'M G' wh-a wh-b", "SKU 'M G' is not a valid identifier"},
        {"transfer r-1 MUG 'wh:a' wh-b", "FROM 'wh:a' is not a valid identifier"},
        {"transfer r-1 MUG wh-a ''", "TO '' is not a valid identifier"},
        {"transfer r-1 MUG wh-a wh-b --allow-backorder",
         "option --allow-backorder does not apply here"},
        {"reserve --allow-backorder=yes MUG=1", "option --allow-backorder takes no value"},
        {"reserve --allow-partial=true MUG=1", "option --allow-partial takes no value"},
        {"reserve --allow-backorder --allow-partial MUG=0", "quantity in 'MUG=0'"},
        {"reserve --quantity 2 MUG=1", "option --quantity does not apply here"},
        {"stock set A L 1 --allow-backorder", "option --allow-backorder does not apply here"},
        {"stock set A L 1 --backorder-limit -1",
         "--backorder-limit '-1' must be a whole number from 0 to 1000000000"},
        {"stock set A L 1 --backorder-limit 1000000001", "--backorder-limit '1000000001'"},
        {"stock set A L 1 --backorder-limit lots", "--backorder-limit 'lots'"},
        {"stock set A L 1 --backorder-limit none", "--backorder-limit 'none'"},
        {"stock set A L 1 --backorder-limit", "option --backorder-limit needs a value (N)"},
        {"stock set A L 1 --low-stock-threshold -1",
         "--low-stock-threshold '-1' must be a whole number from 0 to 1000000000000000, or "
         "none"},
        {"stock set A L 1 --low-stock-threshold 1000000000000001",
         "--low-stock-threshold '1000000000000001'"},
        {"stock set A L 1 --low-stock-threshold null", "--low-stock-threshold 'null'"},
        {"stock set A L 1 --low-stock-threshold NONE", "--low-stock-threshold 'NONE'"},
        {"stock set A L 1 --low-stock-threshold ''", "--low-stock-threshold ''"},
        {"stock set A L 1 --low-stock-threshold", "option --low-stock-threshold needs a value"},
        {"stock adjust A L 1 --backorder-limit 2", "option --backorder-limit does not apply"},
        {"stock adjust A L 1 --low-stock-threshold 2", "option --low-stock-threshold does not"},
        {"commit r-1 --quantity 1", "option --quantity does not apply here"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = ctl_at(port, "%s", bad[i].args);
        if (r.status != 2)
            print_error("case '%s'\n", bad[i].args);
        expect_status(&r, 2);
        assert_string_equal(r.out, "");
        assert_true(strncmp(r.err, "stockctl: ", 10) == 0);
        expect_in(&r, r.err, bad[i].says);
        run_free(&r);
    }
    /* A mistake in a command's arguments comes with its synopsis. */
    r = ctl_at(port, "transfer r-1 MUG wh-a wh-a");
    expect_in(&r, r.err,
              "usage: stockctl [OPTIONS] transfer RESERVATION_ID SKU FROM TO [--quantity N]\n");
    run_free(&r);
    r = ctl_at(port, "update r-1 MUG=x");
    expect_in(&r, r.err, "usage: stockctl [OPTIONS] update RESERVATION_ID SKU=QTY...\n");
    run_free(&r);
    r = ctl_at(port, "stock set A L 1 --low-stock-threshold x");
    expect_in(&r, r.err,
              "usage: stockctl [OPTIONS] stock set SKU LOCATION ON_HAND [--safety N] "
              "[--backorder-limit N] [--low-stock-threshold N|none]\n");
    run_free(&r);
    /* The arguments are right: only the connection fails. */
    r = ctl_at(port, "transfer --quantity 2 -- -r-1 MUG wh-a wh-b");
    expect_status(&r, 3);
    run_free(&r);
    r = ctl_at(port, "update -- --r-1 MUG=0");
    expect_status(&r, 3);
    run_free(&r);
    close(fd);
    /* Nothing reached Redis. */
    assert_int_equal(dbsize(), 0);
}

/* --- stock set ------------------------------------------------------------ */

static void test_stock_set_limit_and_threshold(void **state)
{
    (void)state;
    cJSON *j = ctl_json("stock set MUG wh-east 10 --backorder-limit 5 --low-stock-threshold 3");
    assert_int_equal(json_int(j, "on_hand"), 10);
    assert_int_equal(json_int(j, "available"), 10);
    assert_int_equal(json_int(j, "backorder_limit"), 5);
    assert_int_equal(json_int(j, "low_stock_threshold"), 3);
    assert_int_equal(json_int(j, "backordered"), 0);
    cJSON_Delete(j);

    /* Not given: both kept. For people, a column each. */
    struct run r = ctl("stock set MUG wh-east 12");
    expect_status(&r, 0);
    expect_in(&r, r.out,
              "SKU  LOCATION  ON_HAND  RESERVED  AVAILABLE  SAFETY  BACKORDER_LIMIT  "
              "LOW_STOCK\n");
    assert_null(strstr(r.out, "BACKORDERED"));
    long long v[8];
    assert_int_equal(line_numbers(r.out, "MUG  wh-east", v, 8), 6);
    assert_true(v[0] == 12 && v[1] == 0 && v[2] == 12 && v[3] == 0 && v[4] == 5 && v[5] == 3);
    run_free(&r);

    /* none clears the threshold (null), the limit stays. */
    j = ctl_json("stock set MUG wh-east 12 --low-stock-threshold none");
    assert_true(cJSON_IsNull(member(j, "low_stock_threshold")));
    assert_int_equal(json_int(j, "backorder_limit"), 5);
    cJSON_Delete(j);
    r = ctl("stock set MUG wh-east 12");
    expect_status(&r, 0);
    expect_in(&r, r.out, "SAFETY  BACKORDER_LIMIT\n");
    assert_null(strstr(r.out, "LOW_STOCK"));
    run_free(&r);

    /* A threshold of 0 is one (unlike none); a limit of 0 is no limit, and
     * a row without either reads as it always did. */
    r = ctl("stock set MUG wh-east 12 --backorder-limit=0 --low-stock-threshold=0");
    expect_status(&r, 0);
    expect_in(&r, r.out, "SAFETY  LOW_STOCK\n");
    assert_int_equal(line_numbers(r.out, "MUG  wh-east", v, 8), 5);
    assert_int_equal(v[4], 0);
    run_free(&r);
    r = ctl("stock set MUG wh-east 12 --low-stock-threshold none --safety 2");
    expect_status(&r, 0);
    assert_string_equal(r.out, "SKU  LOCATION  ON_HAND  RESERVED  AVAILABLE  SAFETY\n"
                               "MUG  wh-east        12         0         10       2\n");
    run_free(&r);
    j = ctl_json("stock get MUG");
    const cJSON *row = cJSON_GetArrayItem(member(j, "locations"), 0);
    assert_int_equal(json_int(row, "backorder_limit"), 0);
    assert_true(cJSON_IsNull(member(row, "low_stock_threshold")));
    assert_int_equal(json_int(row, "safety_stock"), 2);
    cJSON_Delete(j);

    /* The biggest values go through. */
    j = ctl_json("stock set MUG wh-west 1 --backorder-limit 1000000000 "
                 "--low-stock-threshold 1000000000000000");
    assert_int_equal(json_int(j, "backorder_limit"), 1000000000LL);
    assert_int_equal(json_int(j, "low_stock_threshold"), 1000000000000000LL);
    cJSON_Delete(j);
    /* stock get: a column shows when any row needs it, "-" for a row
     * without a threshold. */
    r = ctl("stock get MUG");
    expect_status(&r, 0);
    expect_in(&r, r.out, "  SAFETY  BACKORDER_LIMIT  ");
    expect_in(&r, r.out, "LOW_STOCK\n");
    assert_null(strstr(r.out, "BACKORDERED"));
    assert_int_equal(line_numbers(r.out, "wh-east", v, 8), 5);
    assert_int_equal(v[4], 0);
    expect_in(&r, r.out, "   -\n");
    assert_int_equal(line_numbers(r.out, "wh-west", v, 8), 6);
    assert_true(v[4] == 1000000000LL && v[5] == 1000000000000000LL);
    run_free(&r);
}

/* --- reserve --allow-backorder ----------------------------------------------- */

static void test_reserve_backorder(void **state)
{
    (void)state;
    ctl_ok("stock set BOX bo-east 2 --backorder-limit 3");
    /* 2 from stock, 2 promised beyond it. */
    char id[160];
    cJSON *j = ctl_json("reserve --order-id bo-1 --location bo-east --allow-backorder BOX=4");
    snprintf(id, sizeof id, "%s", json_str(j, "reservation_id"));
    assert_int_equal(cJSON_GetArraySize(member(j, "allocations")), 1);
    assert_string_equal(json_str(alloc_at(j, 0), "location"), "bo-east");
    assert_int_equal(json_int(alloc_at(j, 0), "quantity"), 4);
    assert_int_equal(json_int(alloc_at(j, 0), "backordered"), 2);
    assert_null(member(j, "shortages"));
    cJSON_Delete(j);
    struct row row = stock_row(harness_client(0), "BOX", "bo-east");
    assert_true(row.on_hand == 2 && row.reserved == 4 && row.available == -2);

    /* For people: a BACKORDERED column. The last unit of the limit. */
    struct run r = ctl("reserve --location bo-east --allow-backorder BOX=1");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nSKU  LOCATION  QUANTITY  BACKORDERED\n");
    long long v[8];
    assert_int_equal(line_numbers(r.out, "BOX  bo-east", v, 8), 2);
    assert_true(v[0] == 1 && v[1] == 1);
    assert_null(strstr(r.out, "shortages"));
    run_free(&r);
    /* The limit is reached; without the switch nothing was ever there. */
    expect_refused("reserve --location bo-east --allow-backorder BOX=1",
                   "reserve: error 1001 out_of_stock", "requested 1", "available 0", NULL);
    expect_refused("reserve --location bo-east BOX=1", "error 1001 out_of_stock", NULL);
    assert_int_equal(stock_row(harness_client(0), "BOX", "bo-east").reserved, 5);

    /* The row for people: limit and units backordered, and the totals. */
    r = ctl("stock get BOX");
    expect_status(&r, 0);
    expect_in(&r, r.out,
              "LOCATION  ON_HAND  RESERVED  AVAILABLE  SAFETY  BACKORDER_LIMIT  "
              "BACKORDERED\n");
    assert_int_equal(line_numbers(r.out, "bo-east", v, 8), 6);
    assert_true(v[0] == 2 && v[1] == 5 && v[2] == -3 && v[3] == 0 && v[4] == 3 && v[5] == 3);
    assert_int_equal(line_numbers(r.out, "(total)", v, 8), 4);
    assert_true(v[0] == 2 && v[1] == 5 && v[2] == -3 && v[3] == 3);
    run_free(&r);
    j = ctl_json("stock get BOX");
    assert_int_equal(json_int(member(j, "totals"), "backordered"), 3);
    cJSON_Delete(j);

    /* Lowering the limit below what is promised is refused, nothing changed. */
    expect_refused("stock set BOX bo-east 2 --backorder-limit 0",
                   "stock.set: error 1003 below_reserved", NULL);
    j = ctl_json("stock get BOX bo-east");
    assert_int_equal(json_int(cJSON_GetArrayItem(member(j, "locations"), 0), "backorder_limit"), 3);
    cJSON_Delete(j);

    /* A hold made with the switch but covered by stock: the column, 0. A
     * hold made without it: the v1 shape, no column. */
    ctl_ok("stock set CUP cup-1 5");
    r = ctl("reserve --location cup-1 --allow-backorder CUP=2");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nSKU  LOCATION  QUANTITY  BACKORDERED\n");
    assert_int_equal(line_numbers(r.out, "CUP  cup-1", v, 8), 2);
    assert_true(v[0] == 2 && v[1] == 0);
    run_free(&r);
    j = ctl_json("reserve --location cup-1 CUP=1");
    assert_null(member(alloc_at(j, 0), "backordered"));
    cJSON_Delete(j);
    r = ctl("reserve --location cup-1 CUP=1");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nSKU  LOCATION  QUANTITY\n");
    assert_null(strstr(r.out, "BACKORDERED"));
    run_free(&r);

    /* Committing backordered units leaves on_hand below zero: owed. */
    r = ctl("commit -- %s", id);
    expect_status(&r, 0);
    expect_in(&r, r.out, "status       committed\n");
    expect_in(&r, r.out, "\nSKU  LOCATION  QUANTITY  BACKORDERED\n");
    run_free(&r);
    r = ctl("stock get BOX");
    expect_status(&r, 0);
    assert_int_equal(line_numbers(r.out, "bo-east", v, 8), 6);
    assert_true(v[0] == -2 && v[1] == 1 && v[2] == -3 && v[5] == 3);
    run_free(&r);
}

/* --- reserve --allow-partial ---------------------------------------------------- */

static void test_reserve_partial(void **state)
{
    (void)state;
    ctl_ok("stock set PEN pa-1 3");
    ctl_ok("stock set PAD pa-1 10");
    cJSON *j = ctl_json("reserve --order-id pa-1 --location pa-1 --allow-partial PEN=5 PAD=2");
    char id[160];
    snprintf(id, sizeof id, "%s", json_str(j, "reservation_id"));
    assert_int_equal(cJSON_GetArraySize(member(j, "allocations")), 2);
    assert_int_equal(json_int(alloc_of(j, "PEN"), "quantity"), 3);
    assert_int_equal(json_int(alloc_of(j, "PAD"), "quantity"), 2);
    assert_null(member(alloc_of(j, "PEN"), "backordered"));
    const cJSON *shortages = member(j, "shortages");
    assert_int_equal(cJSON_GetArraySize(shortages), 1);
    const cJSON *s = cJSON_GetArrayItem(shortages, 0);
    assert_string_equal(json_str(s, "sku"), "PEN");
    assert_int_equal(json_int(s, "requested"), 5);
    assert_int_equal(json_int(s, "allocated"), 3);
    cJSON_Delete(j);
    assert_int_equal(stock_row(harness_client(0), "PEN", "pa-1").reserved, 3);

    /* A retry is the same partial hold; people see the lines short. */
    struct run r = ctl("reserve --order-id pa-1 --location pa-1 --allow-partial PEN=5 PAD=2");
    expect_status(&r, 0);
    expect_in(&r, r.out, id);
    expect_in(&r, r.out, "replayed     yes");
    const char *table = after(&r, "\n\nshortages: the lines not filled completely\n"
                                  "SKU  REQUESTED  ALLOCATED  SHORT\n");
    long long v[8];
    assert_int_equal(line_numbers(table, "PEN", v, 8), 3);
    assert_true(v[0] == 5 && v[1] == 3 && v[2] == 2);
    assert_null(strstr(table, "PAD"));
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "PEN", "pa-1").reserved, 3);
    r = ctl("reservation -- %s", id);
    expect_status(&r, 0);
    expect_in(&r, r.out, "shortages: the lines not filled completely\n");
    run_free(&r);

    /* Filled in full: an empty list, said so. */
    j = ctl_json("reserve --location pa-1 --allow-partial PAD=1");
    assert_true(cJSON_IsArray(member(j, "shortages")));
    assert_int_equal(cJSON_GetArraySize(member(j, "shortages")), 0);
    cJSON_Delete(j);
    r = ctl("reserve --location pa-1 --allow-partial PAD=1");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\n\nshortages: none, every line is filled\n");
    run_free(&r);
    /* Without the switch: no list, nothing shown. */
    r = ctl("reserve --location pa-1 PAD=1");
    expect_status(&r, 0);
    assert_null(strstr(r.out, "shortages"));
    run_free(&r);
    /* Not one unit: 1001 as ever. */
    expect_refused("reserve --location pa-1 --allow-partial PEN=1",
                   "reserve: error 1001 out_of_stock", NULL);

    /* Both switches: what stock and the limit allow, the rest short. */
    ctl_ok("stock set INK ink-1 1 --backorder-limit 2");
    j = ctl_json("reserve --location ink-1 --allow-backorder --allow-partial INK=5");
    assert_int_equal(json_int(alloc_at(j, 0), "quantity"), 3);
    assert_int_equal(json_int(alloc_at(j, 0), "backordered"), 2);
    s = cJSON_GetArrayItem(member(j, "shortages"), 0);
    assert_int_equal(json_int(s, "requested"), 5);
    assert_int_equal(json_int(s, "allocated"), 3);
    cJSON_Delete(j);
    ctl_ok("stock adjust INK ink-1 2");
    r = ctl("reserve --location ink-1 --allow-partial --allow-backorder INK=4");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nSKU  LOCATION  QUANTITY  BACKORDERED\n");
    assert_int_equal(line_numbers(r.out, "INK  ink-1", v, 8), 2);
    assert_true(v[0] == 2 && v[1] == 2);
    table = after(&r, "SKU  REQUESTED  ALLOCATED  SHORT\n");
    assert_int_equal(line_numbers(table, "INK", v, 8), 3);
    assert_true(v[0] == 4 && v[1] == 2 && v[2] == 2);
    run_free(&r);
}

/* --- update ------------------------------------------------------------------- */

static void test_update(void **state)
{
    (void)state;
    ctl_ok("stock set UPA up-1 10");
    ctl_ok("stock set UPB up-1 10");
    char id[160];
    reserve_id(id, sizeof id, "--order-id up-1 --location up-1 UPA=2 UPB=3");

    struct run r = ctl("update -- %s UPA=5", id);
    expect_status(&r, 0);
    char want[256];
    snprintf(want, sizeof want, "reservation  %s\nstatus       held\n", id);
    expect_in(&r, r.out, want);
    expect_in(&r, r.out, "\nchanged      yes\n");
    long long v[8];
    assert_int_equal(line_numbers(r.out, "UPA  up-1", v, 8), 1);
    assert_int_equal(v[0], 5);
    assert_int_equal(line_numbers(r.out, "UPB  up-1", v, 8), 1);
    assert_int_equal(v[0], 3);
    assert_null(strstr(r.out, "shortages"));
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "UPA", "up-1").reserved, 5);

    /* The same quantities again: nothing written. --json is the result
     * exactly as stockd sends it. */
    r = ctl("--json update -- %s UPA=5", id);
    expect_status(&r, 0);
    cJSON *j = json_out(&r);
    assert_true(cJSON_IsFalse(member(j, "changed")));
    assert_int_equal(json_int(alloc_at(j, 0), "quantity"), 5);
    cJSON_Delete(j);
    char params[512];
    snprintf(params, sizeof params,
             "{\"reservation_id\":\"%s\",\"items\":[{\"sku\":\"UPA\",\"quantity\":5}]}", id);
    char *raw = raw_result("reservation.update", params);
    assert_string_equal(r.out, raw);
    free(raw);
    run_free(&r);
    r = ctl("update -- %s UPA=5 UPB=3", id);
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nchanged      no (it was so already)\n");
    run_free(&r);

    /* 0 drops a line; the last line cannot go. */
    j = ctl_json("update -- %s UPB=0 UPA=4", id);
    assert_true(cJSON_IsTrue(member(j, "changed")));
    assert_int_equal(cJSON_GetArraySize(member(j, "allocations")), 1);
    assert_string_equal(json_str(alloc_at(j, 0), "sku"), "UPA");
    assert_int_equal(json_int(alloc_at(j, 0), "quantity"), 4);
    cJSON_Delete(j);
    assert_int_equal(stock_row(harness_client(0), "UPB", "up-1").reserved, 0);
    assert_int_equal(stock_row(harness_client(0), "UPA", "up-1").reserved, 4);
    char args[256];
    snprintf(args, sizeof args, "update -- %s UPA=0", id);
    expect_refused(args, "reservation.update: error -32602", "field items", NULL);
    /* A sku the hold never had. */
    snprintf(args, sizeof args, "update -- %s NOPE=1", id);
    expect_refused(args, "error -32602", "field items", NULL);
    /* More than there is: all or nothing. */
    snprintf(args, sizeof args, "update -- %s UPA=50", id);
    expect_refused(args, "reservation.update: error 1001 out_of_stock", "sku UPA", NULL);
    assert_int_equal(stock_row(harness_client(0), "UPA", "up-1").reserved, 4);

    /* The original order still replays. */
    r = ctl("reserve --order-id up-1 --location up-1 UPA=2 UPB=3");
    expect_status(&r, 0);
    expect_in(&r, r.out, id);
    expect_in(&r, r.out, "replayed     yes");
    run_free(&r);

    /* Unknown, and no longer held. */
    expect_refused("update no-such-hold UPA=1", "reservation.update: error 1002 not_found", NULL);
    cJSON *e = ctl_json_refused("update no-such-hold UPA=1");
    assert_int_equal(json_int(e, "code"), 1002);
    cJSON_Delete(e);
    ctl_ok("commit -- %s", id);
    snprintf(args, sizeof args, "update -- %s UPA=1", id);
    expect_refused(args, "error 1003 not_held", "status committed", NULL);

    /* A partial hold's short line, filled by an update, leaves the list. */
    ctl_ok("stock set UPC up-1 2");
    reserve_id(id, sizeof id, "--location up-1 --allow-partial UPC=4");
    ctl_ok("stock adjust UPC up-1 5");
    r = ctl("update -- %s UPC=4", id);
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nchanged      yes\n");
    assert_int_equal(line_numbers(r.out, "UPC  up-1", v, 8), 1);
    assert_int_equal(v[0], 4);
    expect_in(&r, r.out, "\n\nshortages: none, every line is filled\n");
    run_free(&r);
}

/* --- transfer ------------------------------------------------------------------ */

static void test_transfer(void **state)
{
    (void)state;
    ctl_ok("stock set TRX tr-a 10");
    ctl_ok("stock set TRX tr-b 10");
    ctl_ok("stock set TRX tr-c 0");
    ctl_ok("stock set TRX tr-d 5");
    char id[160];
    reserve_id(id, sizeof id, "--location tr-a TRX=4");

    /* Part of the line: a new allocation after the line's others. */
    struct run r = ctl("transfer --quantity 1 -- %s TRX tr-a tr-b", id);
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nchanged      yes\n");
    long long v[8];
    assert_int_equal(line_numbers(r.out, "TRX  tr-a", v, 8), 1);
    assert_int_equal(v[0], 3);
    assert_int_equal(line_numbers(r.out, "TRX  tr-b", v, 8), 1);
    assert_int_equal(v[0], 1);
    assert_true(strstr(r.out, "TRX  tr-a") < strstr(r.out, "TRX  tr-b"));
    run_free(&r);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-a").reserved, 3);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-b").reserved, 1);

    /* The rest (no --quantity): it joins the allocation at tr-b. */
    cJSON *j = ctl_json("transfer -- %s TRX tr-a tr-b", id);
    assert_true(cJSON_IsTrue(member(j, "changed")));
    assert_int_equal(cJSON_GetArraySize(member(j, "allocations")), 1);
    assert_string_equal(json_str(alloc_at(j, 0), "location"), "tr-b");
    assert_int_equal(json_int(alloc_at(j, 0), "quantity"), 4);
    cJSON_Delete(j);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-a").reserved, 0);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-b").reserved, 4);

    /* Retried: nothing to move, nothing changed. */
    j = ctl_json("transfer -- %s TRX tr-a tr-b", id);
    assert_true(cJSON_IsFalse(member(j, "changed")));
    cJSON_Delete(j);
    r = ctl("transfer --quantity=2 -- %s TRX tr-a tr-b", id);
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nchanged      no (it was so already)\n");
    assert_int_equal(line_numbers(r.out, "TRX  tr-b", v, 8), 1);
    assert_int_equal(v[0], 4);
    run_free(&r);

    /* Refusals, with what stockd says about them; nothing moves. */
    char args[256];
    snprintf(args, sizeof args, "transfer --quantity 9 -- %s TRX tr-b tr-c", id);
    expect_refused(args, "reservation.transfer: error 1003 not_at_location", "location tr-b",
                   "held 4", NULL);
    snprintf(args, sizeof args, "transfer -- %s TRX tr-b tr-c", id);
    expect_refused(args, "reservation.transfer: error 1001 out_of_stock", "requested 4", NULL);
    snprintf(args, sizeof args, "transfer -- %s NOPE tr-b tr-a", id);
    expect_refused(args, "reservation.transfer: error -32602", "field sku", NULL);
    expect_refused("transfer no-such-hold TRX tr-b tr-a",
                   "reservation.transfer: error 1002 not_found", NULL);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-b").reserved, 4);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-c").reserved, 0);

    /* To a location the hold was not made from (an operator's choice):
     * all of tr-b moves, and the new allocation takes its place. */
    j = ctl_json("transfer --quantity 4 -- %s TRX tr-b tr-d", id);
    assert_int_equal(cJSON_GetArraySize(member(j, "allocations")), 1);
    assert_string_equal(json_str(alloc_at(j, 0), "location"), "tr-d");
    assert_int_equal(json_int(alloc_at(j, 0), "quantity"), 4);
    cJSON_Delete(j);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-b").reserved, 0);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-d").reserved, 4);

    ctl_ok("release -- %s", id);
    snprintf(args, sizeof args, "transfer -- %s TRX tr-d tr-b", id);
    expect_refused(args, "error 1003 not_held", "status released", NULL);
    assert_int_equal(stock_row(harness_client(0), "TRX", "tr-d").reserved, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_help_and_usage_errors, harness_flush_setup),
        cmocka_unit_test_setup(test_stock_set_limit_and_threshold, harness_flush_setup),
        cmocka_unit_test_setup(test_reserve_backorder, harness_flush_setup),
        cmocka_unit_test_setup(test_reserve_partial, harness_flush_setup),
        cmocka_unit_test_setup(test_update, harness_flush_setup),
        cmocka_unit_test_setup(test_transfer, harness_flush_setup),
    };
    return stockctl_run_tests("stockctl_holds", tests, sizeof tests / sizeof tests[0]);
}
