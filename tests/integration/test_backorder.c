/* Integration: backorders, partial holds, reservation.update and
 * reservation.transfer against the real binary and Redis. Each test checks
 * the numbers on the stock rows, the allocations and the ledger, that a
 * refused request changed nothing, and that stock.audit agrees at the end. */
#include <stdio.h>
#include <string.h>

#include "backorder_util.h"

static int audit_teardown(void **state)
{
    (void)state;
    audit_ok_on(conn());
    return 0;
}

/* Leaves on_hand at -owed at (sku, loc): a backordered hold, committed. */
static void owe(const char *sku, const char *loc, long long owed, long long limit)
{
    char extra[64], id[64];
    snprintf(extra, sizeof extra, ",'backorder_limit':%lld", limit);
    stock(sku, loc, 0, extra);
    cJSON_Delete(reserve_ok(id,
                            "{'items':[{'sku':'%s','quantity':%lld}],'locations':['%s'],"
                            "'allow_backorder':true}",
                            sku, owed, loc));
    cJSON_Delete(must(rpc("commit", "{'reservation_id':'%s'}", id)));
}

static void test_preorder_goes_to_minus_limit_and_no_further(void **state)
{
    (void)state;
    cJSON *r = must(rpc("stock.set", "{'sku':'A','location':'L','on_hand':3,'backorder_limit':5}"));
    assert_string_equal(rowfmt(res(r)), "oh=3 res=0 av=3 bo=0 lim=5");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(res(r), "low_stock_threshold")));
    cJSON_Delete(r);

    /* Without allow_backorder: v1 capacity and the v1 shape. */
    char plain[64], pre[64], id[64];
    r = reserve_ok(plain, "{'items':[{'sku':'A','quantity':2}],'locations':['L']}");
    assert_string_equal(allocs(res(r)), "A@L=2");
    assert_string_equal(shortages(res(r)), "none");
    cJSON_Delete(r);
    expect_oos(rpc("reserve", "{'items':[{'sku':'A','quantity':2}],'locations':['L']}"), "A", 2, 1);

    /* 1 unit covered by stock, 3 promised beyond it. */
    r = reserve_ok(pre, "{'items':[{'sku':'A','quantity':4}],'locations':['L'],"
                        "'allow_backorder':true}");
    assert_string_equal(allocs(res(r)), "A@L=4(bo3)");
    cJSON_Delete(r);
    assert_string_equal(rowstr("A", "L"), "oh=3 res=6 av=-3 bo=3 lim=5");
    r = reserve_ok(id, "{'items':[{'sku':'A','quantity':2}],'locations':['L'],"
                       "'allow_backorder':true}");
    assert_string_equal(allocs(res(r)), "A@L=2(bo2)");
    cJSON_Delete(r);
    assert_string_equal(rowstr("A", "L"), "oh=3 res=8 av=-5 bo=5 lim=5");

    /* At -limit: not one unit more, with or without allow_backorder. */
    char *before = world(NULL, "A");
    expect_oos(rpc("reserve", "{'items':[{'sku':'A','quantity':1}],'locations':['L'],"
                              "'allow_backorder':true}"),
               "A", 1, 0);
    expect_err(rpc("reserve", "{'items':[{'sku':'A','quantity':1}],'locations':['L']}"), 1001,
               "out_of_stock");
    same_world(before, NULL, "A");

    r = get_res(pre);
    assert_string_equal(allocs(res(r)), "A@L=4(bo3)");
    cJSON_Delete(r);
    r = get_res(plain);
    assert_string_equal(allocs(res(r)), "A@L=2");
    cJSON_Delete(r);

    /* Split: each allocation says how much of it is backordered. */
    stock("B", "L1", 2, "");
    stock("B", "L2", 1, ",'backorder_limit':3");
    r = reserve_ok(id, "{'items':[{'sku':'B','quantity':5}],'locations':['L1','L2'],"
                       "'strategy':'split','allow_backorder':true}");
    assert_string_equal(allocs(res(r)), "B@L1=2(bo0),B@L2=3(bo2)");
    cJSON_Delete(r);
    assert_string_equal(rowstr("B", "L2"), "oh=1 res=3 av=-2 bo=2 lim=3");
}

static void test_commit_of_backordered_units_owes(void **state)
{
    (void)state;
    stock("A", "L", 2, ",'backorder_limit':5");
    stock("A", "M", 4, "");
    char id[64];
    cJSON *r = reserve_ok(id, "{'items':[{'sku':'A','quantity':5}],'locations':['L'],"
                              "'allow_backorder':true}");
    assert_string_equal(allocs(res(r)), "A@L=5(bo3)");
    cJSON_Delete(r);
    assert_string_equal(rowstr("A", "L"), "oh=2 res=5 av=-3 bo=3 lim=5");
    r = must(rpc("commit", "{'reservation_id':'%s'}", id));
    assert_string_equal(json_str(res(r), "status"), "committed");
    cJSON_Delete(r);
    assert_string_equal(rowstr("A", "L"), "oh=-3 res=0 av=-3 bo=3 lim=5");
    assert_int_equal(harness_ledger_count("commit", "reservation", id, false), 1);

    r = must(rpc("stock.get", "{'sku':'A'}"));
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(res(r), "locations");
    assert_string_equal(rowfmt(cJSON_GetArrayItem(locs, 1)), "oh=4 res=0 av=4 bo=0 lim=0");
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(res(r), "totals");
    assert_int_equal(json_int(totals, "on_hand"), 1);
    assert_int_equal(json_int(totals, "reserved"), 0);
    assert_int_equal(json_int(totals, "available"), 1);
    assert_int_equal(json_int(totals, "backordered"), 3);
    cJSON_Delete(r);
}

static void test_goods_received_pay_what_is_owed(void **state)
{
    (void)state;
    owe("A", "L", 3, 5);
    assert_string_equal(rowstr("A", "L"), "oh=-3 res=0 av=-3 bo=3 lim=5");
    cJSON *r = must(rpc("stock.adjust", "{'sku':'A','location':'L','delta':2,'reason':'PO-1'}"));
    assert_string_equal(rowfmt(res(r)), "oh=-1 res=0 av=-1 bo=1 lim=5");
    cJSON_Delete(r);
    r = must(rpc("stock.adjust", "{'sku':'A','location':'L','delta':5}"));
    assert_string_equal(rowfmt(res(r)), "oh=4 res=0 av=4 bo=0 lim=5");
    cJSON_Delete(r);

    /* A decrease may use the backorder limit, and no more. */
    char *before = world(NULL, "A");
    expect_oos(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-10}"), "A", 10, 9);
    same_world(before, NULL, "A");
    r = must(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-9}"));
    assert_string_equal(rowfmt(res(r)), "oh=-5 res=0 av=-5 bo=5 lim=5");
    cJSON_Delete(r);
}

static void test_cycle_count_with_units_owed(void **state)
{
    (void)state;
    char id[64];
    owe("A", "L", 3, 5);
    cJSON *r = reserve_ok(id, "{'items':[{'sku':'A','quantity':1}],'locations':['L'],"
                              "'allow_backorder':true}");
    assert_string_equal(allocs(res(r)), "A@L=1(bo1)");
    cJSON_Delete(r);

    /* Counted 0 and the limit lowered to 3: -3 - 1 < -3. */
    char *before = world(NULL, "A");
    expect_err(rpc("stock.set", "{'sku':'A','location':'L','on_hand':0,'backorder_limit':3}"), 1003,
               "below_reserved");
    same_world(before, NULL, "A");
    r = must(rpc("stock.set", "{'sku':'A','location':'L','on_hand':0,'backorder_limit':4}"));
    assert_string_equal(rowfmt(res(r)), "oh=-3 res=1 av=-4 bo=4 lim=4");
    cJSON_Delete(r);
    /* 10 counted, 3 owed. */
    r = must(rpc("stock.set", "{'sku':'A','location':'L','on_hand':10}"));
    assert_string_equal(rowfmt(res(r)), "oh=7 res=1 av=6 bo=0 lim=4");
    cJSON_Delete(r);

    r = reserve_ok(id, "{'items':[{'sku':'A','quantity':10}],'locations':['L'],"
                       "'allow_backorder':true}");
    assert_string_equal(allocs(res(r)), "A@L=10(bo4)");
    cJSON_Delete(r);
    before = world(NULL, "A");
    /* A count that would leave 2 - 11 < -4. */
    expect_err(rpc("stock.set", "{'sku':'A','location':'L','on_hand':2}"), 1003, "below_reserved");
    /* A limit below the 4 backordered now. */
    expect_err(rpc("stock.set", "{'sku':'A','location':'L','on_hand':7,'backorder_limit':3}"), 1003,
               "below_reserved");
    same_world(before, NULL, "A");
    r = must(rpc("stock.set", "{'sku':'A','location':'L','on_hand':7}"));
    assert_string_equal(rowfmt(res(r)), "oh=7 res=11 av=-4 bo=4 lim=4");
    cJSON_Delete(r);
}

static void test_low_stock_threshold_set_shown_cleared(void **state)
{
    (void)state;
    static const char *const steps[][2] = {
        {"stock.set", "{'sku':'A','location':'L','on_hand':10,'low_stock_threshold':4}"},
        {"stock.set", "{'sku':'A','location':'L','on_hand':8}"},
        {"stock.adjust", "{'sku':'A','location':'L','delta':-1}"},
        {"stock.get", "{'sku':'A'}"},
        {"stock.set",
         "{'sku':'A','location':'L','on_hand':7,'low_stock_threshold':1000000000000000}"},
        {"stock.set", "{'sku':'A','location':'L','on_hand':7,'low_stock_threshold':0}"},
        {"stock.set", "{'sku':'A','location':'L','on_hand':7,'low_stock_threshold':null}"},
        {"stock.get", "{'sku':'A'}"},
    };
    static const long long want[] = {4, 4, 4, 4, 1000000000000000LL, 0, -1, -1};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cJSON *r = must(rpc(steps[i][0], "%s", steps[i][1]));
        const cJSON *row = res(r);
        if (strcmp(steps[i][0], "stock.get") == 0)
            row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(row, "locations"), 0);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(row, "low_stock_threshold");
        bool good = want[i] < 0 ? cJSON_IsNull(t) : json_int(row, "low_stock_threshold") == want[i];
        if (!good)
            fail_msg("%s %s: %s", steps[i][0], steps[i][1], cJSON_PrintUnformatted(r));
        cJSON_Delete(r);
    }
}

static void test_partial_split_and_auto(void **state)
{
    (void)state;
    static const char *const strategies[] = {"split", "auto"};
    for (size_t i = 0; i < 2; i++) {
        harness_flush(&H);
        stock("A", "L1", 2, "");
        stock("A", "L2", 1, "");
        stock("B", "L2", 2, "");
        channel("web", "['L1','L2']");
        const char *order =
            "{'order_id':'p-1','channel':'web','strategy':'%s','allow_partial':true,"
            "'items':[{'sku':'A','quantity':5},{'sku':'B','quantity':2},"
            "{'sku':'C','quantity':1}]}";
        char id[64], again[64];
        cJSON *r = reserve_ok(id, order, strategies[i]);
        if (strcmp(allocs(res(r)), "A@L1=2,A@L2=1,B@L2=2") != 0)
            fail_msg("%s: %s", strategies[i], allocs(res(r)));
        assert_string_equal(shortages(res(r)), "A 5/3,C 1/0");
        cJSON_Delete(r);

        char *before = world(NULL, "A B C");
        r = reserve_ok(again, order, strategies[i]);
        assert_string_equal(again, id);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res(r), "replayed")));
        assert_string_equal(allocs(res(r)), "A@L1=2,A@L2=1,B@L2=2");
        assert_string_equal(shortages(res(r)), "A 5/3,C 1/0");
        cJSON_Delete(r);
        same_world(before, NULL, "A B C");
        r = get_res(id);
        assert_string_equal(shortages(res(r)), "A 5/3,C 1/0");
        cJSON_Delete(r);
    }
    /* Filled in full: an empty list. Nothing at all: 1001 as in v1. */
    char id[64];
    stock("B", "L1", 1, "");
    cJSON *r = reserve_ok(id, "{'channel':'web','allow_partial':true,"
                              "'items':[{'sku':'B','quantity':1}]}");
    assert_string_equal(allocs(res(r)), "B@L1=1");
    assert_string_equal(shortages(res(r)), "");
    cJSON_Delete(r);
    char *before = world(NULL, "A B C D");
    expect_oos(rpc("reserve", "{'channel':'web','allow_partial':true,'items':[{'sku':'C',"
                              "'quantity':1},{'sku':'D','quantity':2}]}"),
               "C", 1, 0);
    same_world(before, NULL, "A B C D");
}

static void test_partial_per_line(void **state)
{
    (void)state;
    stock("A", "L1", 1, "");
    stock("A", "L2", 3, "");
    stock("A", "L3", 3, "");
    stock("B", "L1", 4, "");
    channel("web", "['L1','L2','L3']");
    char id[64];
    /* A: nowhere in full, L2 and L3 have the most: the first, L2. */
    cJSON *r = reserve_ok(id, "{'channel':'web','strategy':'per_line','allow_partial':true,"
                              "'items':[{'sku':'A','quantity':5},{'sku':'B','quantity':2},"
                              "{'sku':'C','quantity':1}]}");
    assert_string_equal(allocs(res(r)), "A@L2=3,B@L1=2");
    assert_string_equal(shortages(res(r)), "A 5/3,C 1/0");
    cJSON_Delete(r);
    assert_string_equal(rowstr("A", "L3"), "oh=3 res=0 av=3 bo=0 lim=0");
}

static void test_partial_single(void **state)
{
    (void)state;
    /* Units covered: L1 1+1+1, L2 2+2, L3 3+2: L3, and C not there. */
    stock("A", "L1", 1, "");
    stock("A", "L2", 2, "");
    stock("A", "L3", 3, "");
    stock("B", "L1", 1, "");
    stock("B", "L2", 2, "");
    stock("B", "L3", 2, "");
    stock("C", "L1", 1, "");
    channel("web", "['L1','L2','L3']");
    char id[64];
    cJSON *r = reserve_ok(id, "{'channel':'web','strategy':'single','allow_partial':true,"
                              "'items':[{'sku':'A','quantity':3},{'sku':'B','quantity':2},"
                              "{'sku':'C','quantity':1}]}");
    assert_string_equal(allocs(res(r)), "A@L3=3,B@L3=2");
    assert_string_equal(shortages(res(r)), "C 1/0");
    cJSON_Delete(r);

    /* Equals: L1 and L2 both cover 2 of D: the first. */
    stock("D", "L1", 2, "");
    stock("D", "L2", 2, "");
    r = reserve_ok(id, "{'channel':'web','strategy':'single','allow_partial':true,"
                       "'items':[{'sku':'D','quantity':3}]}");
    assert_string_equal(allocs(res(r)), "D@L1=2");
    assert_string_equal(shortages(res(r)), "D 3/2");
    cJSON_Delete(r);
}

static void test_update_changes_quantities(void **state)
{
    (void)state;
    stock("A", "L1", 2, "");
    stock("A", "L2", 5, "");
    stock("B", "L1", 5, "");
    channel("web", "['L1','L2']");
    const char *order = "{'order_id':'u-1','channel':'web','strategy':'split',"
                        "'items':[{'sku':'A','quantity':4},{'sku':'B','quantity':1}]}";
    char id[64], again[64];
    cJSON *r = reserve_ok(id, order);
    assert_string_equal(allocs(res(r)), "A@L1=2,A@L2=2,B@L1=1");
    long long expires = json_int(res(r), "expires_at");
    cJSON_Delete(r);

    /* A decrease gives back from the least preferred allocation first. */
    long long mark = ledger_len("inv");
    r = must(update(id, "[{'sku':'A','quantity':3}]"));
    assert_true(changed(r));
    assert_string_equal(json_str(res(r), "status"), "held");
    assert_string_equal(allocs(res(r)), "A@L1=2,A@L2=1,B@L1=1");
    assert_int_equal(json_int(res(r), "expires_at"), expires);
    cJSON_Delete(r);
    assert_string_equal(ledger_tail("inv", mark, id), "release A@L2 1 update");

    /* The same again: nothing written. */
    char *before = world(id, "A B");
    r = must(update(id, "[{'sku':'A','quantity':3}]"));
    assert_false(changed(r));
    assert_string_equal(allocs(res(r)), "A@L1=2,A@L2=1,B@L1=1");
    cJSON_Delete(r);
    same_world(before, id, "A B");

    mark = ledger_len("inv");
    r = must(update(id, "[{'sku':'A','quantity':1}]"));
    assert_string_equal(allocs(res(r)), "A@L1=1,B@L1=1");
    cJSON_Delete(r);
    assert_string_equal(ledger_tail("inv", mark, id),
                        "release A@L1 1 update; release A@L2 1 update");
    assert_string_equal(rowstr("A", "L2"), "oh=5 res=0 av=5 bo=0 lim=0");

    /* Increases; an unlisted line keeps its quantity. */
    mark = ledger_len("inv");
    r = must(update(id, "[{'sku':'B','quantity':3}]"));
    assert_string_equal(allocs_as(res(r), true), "A@L1=1,B@L1=3");
    cJSON_Delete(r);
    r = must(update(id, "[{'sku':'A','quantity':5}]"));
    assert_true(changed(r));
    assert_string_equal(allocs_as(res(r), true), "A@L1=2,A@L2=3,B@L1=3");
    assert_int_equal(json_int(res(r), "expires_at"), expires);
    cJSON_Delete(r);
    assert_string_equal(ledger_tail("inv", mark, id),
                        "reserve A@L1 1 update; reserve A@L2 3 update; reserve B@L1 2 update");
    assert_string_equal(rowstr("A", "L2"), "oh=5 res=3 av=2 bo=0 lim=0");

    /* No line may be left. */
    before = world(id, "A B");
    expect_field(update(id, "[{'sku':'A','quantity':0},{'sku':'B','quantity':0}]"), "items",
                 "every line dropped");
    same_world(before, id, "A B");
    mark = ledger_len("inv");
    r = must(update(id, "[{'sku':'B','quantity':0}]"));
    assert_string_equal(allocs_as(res(r), true), "A@L1=2,A@L2=3");
    cJSON_Delete(r);
    assert_string_equal(ledger_tail("inv", mark, id), "release B@L1 3 update");
    assert_string_equal(rowstr("B", "L1"), "oh=5 res=0 av=5 bo=0 lim=0");
    before = world(id, "A B");
    expect_field(update(id, "[{'sku':'A','quantity':0}]"), "items", "last line dropped");
    same_world(before, id, "A B");

    /* The original request still replays the (updated) hold. */
    before = world(id, "A B");
    r = reserve_ok(again, order);
    assert_string_equal(again, id);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res(r), "replayed")));
    assert_string_equal(allocs_as(res(r), true), "A@L1=2,A@L2=3");
    assert_int_equal(json_int(res(r), "expires_at"), expires);
    cJSON_Delete(r);
    same_world(before, id, "A B");
}

static void test_update_increase_without_stock_changes_nothing(void **state)
{
    (void)state;
    char id[64], other[64];
    stock("A", "L1", 3, "");
    cJSON_Delete(reserve_ok(id, "{'items':[{'sku':'A','quantity':2}],'locations':['L1']}"));
    cJSON_Delete(reserve_ok(other, "{'items':[{'sku':'A','quantity':1}],'locations':['L1']}"));
    char *before = world(id, "A");
    expect_oos(update(id, "[{'sku':'A','quantity':4}]"), "A", 2, 0);
    same_world(before, id, "A");

    /* single: only at the location the hold uses, though L2 has plenty. */
    stock("B", "L1", 1, "");
    stock("B", "L2", 10, "");
    cJSON_Delete(reserve_ok(id, "{'items':[{'sku':'B','quantity':1}],'locations':['L1','L2'],"
                                "'strategy':'single'}"));
    before = world(id, "B");
    expect_oos(update(id, "[{'sku':'B','quantity':2}]"), "B", 1, 0);
    same_world(before, id, "B");

    /* A backordered hold grows into the backorder capacity, and no further. */
    stock("C", "L1", 1, ",'backorder_limit':2");
    cJSON_Delete(reserve_ok(id, "{'items':[{'sku':'C','quantity':1}],'locations':['L1'],"
                                "'allow_backorder':true}"));
    cJSON *r = must(update(id, "[{'sku':'C','quantity':3}]"));
    assert_string_equal(allocs(res(r)), "C@L1=3(bo2)");
    cJSON_Delete(r);
    before = world(id, "C");
    expect_oos(update(id, "[{'sku':'C','quantity':4}]"), "C", 1, 0);
    same_world(before, id, "C");
}

static void test_update_fills_a_partial_line(void **state)
{
    (void)state;
    char id[64];
    stock("A", "L", 3, "");
    cJSON *r = reserve_ok(id, "{'items':[{'sku':'A','quantity':5},{'sku':'C','quantity':1}],"
                              "'locations':['L'],'allow_partial':true}");
    assert_string_equal(shortages(res(r)), "A 5/3,C 1/0");
    cJSON_Delete(r);
    cJSON_Delete(must(rpc("stock.adjust", "{'sku':'A','location':'L','delta':2}")));
    r = must(update(id, "[{'sku':'A','quantity':5}]"));
    assert_string_equal(allocs(res(r)), "A@L=5");
    assert_string_equal(shortages(res(r)), "C 1/0");
    cJSON_Delete(r);
    /* C, a line with no units, is a line of the reservation. */
    char *before = world(id, "A C");
    expect_oos(update(id, "[{'sku':'C','quantity':1}]"), "C", 1, 0);
    /* but it has no units to move. */
    expect_field(transfer(id, "'sku':'C','from':'L','to':'M'"), "sku", "transfer of a shortage");
    same_world(before, id, "A C");
    stock("C", "L", 1, "");
    r = must(update(id, "[{'sku':'C','quantity':1}]"));
    assert_string_equal(allocs_as(res(r), true), "A@L=5,C@L=1");
    assert_string_equal(shortages(res(r)), "");
    cJSON_Delete(r);
}

static void test_transfer_moves_units(void **state)
{
    (void)state;
    stock("A", "L1", 5, "");
    stock("A", "L2", 5, "");
    stock("B", "L1", 2, "");
    channel("web", "['L1','L2']");
    char id[64];
    cJSON *r = reserve_ok(id, "{'channel':'web','items':[{'sku':'A','quantity':3},"
                              "{'sku':'B','quantity':2}]}");
    assert_string_equal(allocs(res(r)), "A@L1=3,B@L1=2");
    cJSON_Delete(r);

    /* L3, outside the channel, has no stock yet. */
    char *before = world(id, "A B");
    expect_oos(transfer(id, "'sku':'A','from':'L1','to':'L3'"), "A", 3, 0);
    same_world(before, id, "A B");

    stock("A", "L3", 10, "");
    long long mark = ledger_len("inv");
    r = must(transfer(id, "'sku':'A','from':'L1','to':'L3'"));
    assert_true(changed(r));
    assert_string_equal(allocs(res(r)), "A@L3=3,B@L1=2"); /* in the place of L1's */
    cJSON_Delete(r);
    assert_string_equal(ledger_tail("inv", mark, id),
                        "release A@L1 3 transfer; reserve A@L3 3 transfer");
    assert_string_equal(rowstr("A", "L1"), "oh=5 res=0 av=5 bo=0 lim=0");
    assert_string_equal(rowstr("A", "L3"), "oh=10 res=3 av=7 bo=0 lim=0");

    /* The same transfer again: already done. */
    before = world(id, "A B");
    r = must(transfer(id, "'sku':'A','from':'L1','to':'L3'"));
    assert_false(changed(r));
    assert_string_equal(allocs(res(r)), "A@L3=3,B@L1=2");
    cJSON_Delete(r);
    same_world(before, id, "A B");

    /* Part of it: a new allocation after the line's. */
    mark = ledger_len("inv");
    r = must(transfer(id, "'sku':'A','from':'L3','to':'L2','quantity':1"));
    assert_true(changed(r));
    assert_string_equal(allocs(res(r)), "A@L3=2,A@L2=1,B@L1=2");
    cJSON_Delete(r);
    assert_string_equal(ledger_tail("inv", mark, id),
                        "release A@L3 1 transfer; reserve A@L2 1 transfer");
    /* The rest joins the allocation at L2. */
    r = must(transfer(id, "'sku':'A','from':'L3','to':'L2'"));
    assert_string_equal(allocs(res(r)), "A@L2=3,B@L1=2");
    cJSON_Delete(r);
    assert_string_equal(rowstr("A", "L2"), "oh=5 res=3 av=2 bo=0 lim=0");
    assert_string_equal(rowstr("A", "L3"), "oh=10 res=0 av=10 bo=0 lim=0");

    before = world(id, "A B");
    r = must(transfer(id, "'sku':'A','from':'L3','to':'L2','quantity':2"));
    assert_false(changed(r));
    cJSON_Delete(r);
    r = transfer(id, "'sku':'A','from':'L2','to':'L1','quantity':5");
    assert_string_equal(json_str(edata(r), "location"), "L2");
    assert_int_equal(json_int(edata(r), "held"), 3);
    expect_err(r, 1003, "not_at_location");
    r = transfer(id, "'sku':'A','from':'L9','to':'L1'");
    assert_string_equal(json_str(edata(r), "location"), "L9");
    assert_int_equal(json_int(edata(r), "held"), 0);
    expect_err(r, 1003, "not_at_location");
    same_world(before, id, "A B");

    /* Backorder capacity at `to` counts for a hold made with allow_backorder only. */
    char plain[64], pre[64];
    stock("P", "L1", 2, "");
    stock("P", "L2", 0, ",'backorder_limit':2");
    cJSON_Delete(reserve_ok(plain, "{'items':[{'sku':'P','quantity':1}],'locations':['L1']}"));
    cJSON_Delete(reserve_ok(pre, "{'items':[{'sku':'P','quantity':1}],'locations':['L1'],"
                                 "'allow_backorder':true}"));
    before = world(plain, "P");
    expect_oos(transfer(plain, "'sku':'P','from':'L1','to':'L2'"), "P", 1, 0);
    same_world(before, plain, "P");
    r = must(transfer(pre, "'sku':'P','from':'L1','to':'L2'"));
    assert_string_equal(allocs(res(r)), "P@L2=1(bo1)");
    cJSON_Delete(r);
    assert_string_equal(rowstr("P", "L2"), "oh=0 res=1 av=-1 bo=1 lim=2");
}

static void test_committed_released_unknown_holds(void **state)
{
    (void)state;
    char committed[64], released[64];
    stock("A", "L", 10, "");
    stock("A", "M", 10, "");
    cJSON_Delete(reserve_ok(committed, "{'items':[{'sku':'A','quantity':3}],'locations':['L']}"));
    cJSON_Delete(must(rpc("commit", "{'reservation_id':'%s'}", committed)));
    cJSON_Delete(reserve_ok(released, "{'items':[{'sku':'A','quantity':2}],'locations':['L']}"));
    cJSON_Delete(must(rpc("release", "{'reservation_id':'%s'}", released)));

    static const char *const upd = "[{'sku':'A','quantity':1}]";
    static const char *const move = "'sku':'A','from':'L','to':'M'";
    char *before = world(committed, "A");
    expect_not_held(update(committed, upd), "committed");
    expect_not_held(transfer(committed, move), "committed");
    same_world(before, committed, "A");
    before = world(released, "A");
    expect_not_held(update(released, upd), "released");
    expect_not_held(transfer(released, move), "released");
    same_world(before, released, "A");
    before = world(NULL, "A");
    expect_err(update(NO_SUCH_ID, upd), 1002, "not_found");
    expect_err(transfer(NO_SUCH_ID, move), 1002, "not_found");
    same_world(before, NULL, "A");
    assert_string_equal(rowstr("A", "L"), "oh=7 res=0 av=7 bo=0 lim=0");
}

/* A stockd of its own namespace that will not sweep during the test, so
 * that a hold stays held past its deadline until something touches it. */
/* A stockd of its own that does not sweep while a test runs: holds past
 * their deadline stay held until a call finds them. */
static int no_sweeper(void)
{
    static const char *const args[] = {"--namespace", "due", "--sweep-interval-ms", "60000", NULL};
    static int due = -1;
    if (due < 0)
        due = harness_stockd(&(struct stockd_opts){.args = args});
    return harness_client(due);
}

static void test_expired_and_overdue_holds(void **state)
{
    (void)state;
    int fd = no_sweeper();
    client_stock_set(fd, "E", "L", 10);
    client_stock_set(fd, "E", "M", 10);
    char ids[4][64];
    long long latest = 0;
    for (int i = 0; i < 4; i++) {
        cJSON *r = must(rpc_fd(fd, "reserve",
                               "{'items':[{'sku':'E','quantity':2}],"
                               "'locations':['L'],'ttl_ms':1000}"));
        snprintf(ids[i], sizeof ids[i], "%s", json_str(res(r), "reservation_id"));
        if (json_int(res(r), "expires_at") > latest)
            latest = json_int(res(r), "expires_at");
        cJSON_Delete(r);
    }
    harness_wait_redis_time(&H, latest);
    assert_int_equal(stock_row(fd, "E", "L").reserved, 8);

    /* 0 and 1 expired (a commit past the deadline expires a hold). */
    for (int i = 0; i < 2; i++)
        expect_err(rpc_fd(fd, "commit", "{'reservation_id':'%s'}", ids[i]), 1003, "expired");
    assert_int_equal(stock_row(fd, "E", "L").reserved, 4);
    expect_not_held(rpc_fd(fd, "reservation.update",
                           "{'reservation_id':'%s','items':[{'sku':'E','quantity':1}]}", ids[0]),
                    "expired");
    expect_not_held(rpc_fd(fd, "reservation.transfer",
                           "{'reservation_id':'%s','sku':'E','from':'L','to':'M'}", ids[1]),
                    "expired");
    assert_int_equal(stock_row(fd, "E", "L").reserved, 4);

    /* 2 and 3 still held past their deadline: the call expires them. */
    long long mark = ledger_len("due");
    expect_not_held(rpc_fd(fd, "reservation.update",
                           "{'reservation_id':'%s','items':[{'sku':'E','quantity':1}]}", ids[2]),
                    "expired");
    assert_int_equal(stock_row(fd, "E", "L").reserved, 2);
    expect_ledger_prefix(ledger_tail("due", mark, ids[2]), "expire E@L 2");
    mark = ledger_len("due");
    expect_not_held(rpc_fd(fd, "reservation.transfer",
                           "{'reservation_id':'%s','sku':'E','from':'L','to':'M'}", ids[3]),
                    "expired");
    expect_ledger_prefix(ledger_tail("due", mark, ids[3]), "expire E@L 2");
    struct row l = stock_row(fd, "E", "L"), m = stock_row(fd, "E", "M");
    assert_int_equal(l.reserved, 0);
    assert_int_equal(l.available, 10);
    assert_int_equal(m.reserved, 0);
    for (int i = 2; i < 4; i++) {
        cJSON *r = must(rpc_fd(fd, "reservation.get", "{'reservation_id':'%s'}", ids[i]));
        assert_string_equal(json_str(res(r), "status"), "expired");
        cJSON_Delete(r);
    }
    audit_ok_on(fd);
}

/* Where backorders took available below 0, a due hold given back by a
 * reserve brings it up toward 0, never more: an order without
 * allow_backorder still finds nothing to take. */
static void test_due_holds_given_back_below_zero(void **state)
{
    (void)state;
    int fd = no_sweeper();
    cJSON_Delete(
        must(rpc_fd(fd, "stock.set", "{'sku':'W','location':'L','on_hand':10,'backorder_limit':10}")));
    cJSON *r = must(rpc_fd(fd, "reserve",
                           "{'items':[{'sku':'W','quantity':4}],'locations':['L'],'ttl_ms':1000}"));
    long long deadline = json_int(res(r), "expires_at");
    cJSON_Delete(r);
    cJSON_Delete(must(rpc_fd(fd, "reserve",
                             "{'items':[{'sku':'W','quantity':14}],'locations':['L'],"
                             "'allow_backorder':true,'ttl_ms':60000}")));
    assert_int_equal(stock_row(fd, "W", "L").available, -8);
    harness_wait_redis_time(&H, deadline);
    expect_oos(rpc_fd(fd, "reserve",
                      "{'items':[{'sku':'W','quantity':4}],'locations':['L'],'ttl_ms':60000}"),
               "W", 4, 0);
    /* The due hold was given back, and nothing else changed. */
    struct row l = stock_row(fd, "W", "L");
    assert_int_equal(l.reserved, 14);
    assert_int_equal(l.available, -4);
    audit_ok_on(fd);
}

struct bad {
    const char *method, *params, *field;
};

static void test_bad_stock_and_reserve_fields(void **state)
{
    (void)state;
    stock("A", "L", 5, ",'backorder_limit':2,'low_stock_threshold':3");
    static const struct bad cases[] = {
        {"stock.set", "'on_hand':5,'backorder_limit':-1", "backorder_limit"},
        {"stock.set", "'on_hand':5,'backorder_limit':1000000001", "backorder_limit"},
        {"stock.set", "'on_hand':5,'backorder_limit':1.5", "backorder_limit"},
        {"stock.set", "'on_hand':5,'backorder_limit':'5'", "backorder_limit"},
        {"stock.set", "'on_hand':5,'backorder_limit':null", "backorder_limit"},
        {"stock.set", "'on_hand':5,'low_stock_threshold':-1", "low_stock_threshold"},
        {"stock.set", "'on_hand':5,'low_stock_threshold':1000000000000001", "low_stock_threshold"},
        {"stock.set", "'on_hand':5,'low_stock_threshold':'3'", "low_stock_threshold"},
        {"reserve", "'items':[{'sku':'A','quantity':1}],'allow_backorder':'yes'",
         "allow_backorder"},
        {"reserve", "'items':[{'sku':'A','quantity':1}],'allow_backorder':1", "allow_backorder"},
        {"reserve", "'items':[{'sku':'A','quantity':1}],'allow_backorder':null", "allow_backorder"},
        {"reserve", "'items':[{'sku':'A','quantity':1}],'allow_partial':'true'", "allow_partial"},
        {"reserve", "'items':[{'sku':'A','quantity':1}],'allow_partial':0", "allow_partial"},
    };
    char *before = world(NULL, "A");
    int wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *where = strcmp(cases[i].method, "reserve") == 0 ? "'locations':['L']"
                                                                    : "'sku':'A','location':'L'";
        wrong += !names_field(rpc(cases[i].method, "{%s,%s}", where, cases[i].params),
                              cases[i].field, cases[i].params);
    }
    assert_int_equal(wrong, 0);
    same_world(before, NULL, "A");
    /* The largest limit is accepted. */
    cJSON *r = must(rpc("stock.set", "{'sku':'A','location':'L','on_hand':5,"
                                     "'backorder_limit':1000000000}"));
    assert_int_equal(json_int(res(r), "backorder_limit"), 1000000000);
    cJSON_Delete(r);
}

static void test_bad_update_and_transfer_params(void **state)
{
    (void)state;
    stock("A", "L1", 5, "");
    stock("A", "L2", 5, "");
    stock("B", "L1", 5, "");
    char id[64];
    cJSON *r = reserve_ok(id, "{'locations':['L1','L2'],'items':[{'sku':'A','quantity':2},"
                              "{'sku':'B','quantity':1}]}");
    assert_string_equal(allocs(res(r)), "A@L1=2,B@L1=1");
    cJSON_Delete(r);
    static const struct bad cases[] = {
        {"reservation.update", "", "items"},
        {"reservation.update", ",'items':[]", "items"},
        {"reservation.update", ",'items':'A'", "items"},
        {"reservation.update", ",'items':{'sku':'A','quantity':1}", "items"},
        {"reservation.update", ",'items':[{'sku':'A','quantity':1},{'sku':'A','quantity':2}]",
         "items"},
        {"reservation.update", ",'items':[{'sku':'A','quantity':-1}]", "items[0].quantity"},
        {"reservation.update", ",'items':[{'sku':'A','quantity':1.5}]", "items[0].quantity"},
        {"reservation.update", ",'items':[{'sku':'A','quantity':1000000001}]", "items[0].quantity"},
        {"reservation.update", ",'items':[{'sku':'C','quantity':1}]", "items"},
        {"reservation.transfer", ",'from':'L1','to':'L2'", "sku"},
        {"reservation.transfer", ",'sku':'A','to':'L2'", "from"},
        {"reservation.transfer", ",'sku':'A','from':'L1'", "to"},
        {"reservation.transfer", ",'sku':'A b','from':'L1','to':'L2'", "sku"},
        {"reservation.transfer", ",'sku':'A','from':'x:y','to':'L2'", "from"},
        {"reservation.transfer", ",'sku':'A','from':'L1','to':'{L2}'", "to"},
        {"reservation.transfer", ",'sku':'A','from':'L1','to':'L1'", "to"},
        {"reservation.transfer", ",'sku':'A','from':'L1','to':'L2','quantity':0", "quantity"},
        {"reservation.transfer", ",'sku':'A','from':'L1','to':'L2','quantity':-1", "quantity"},
        {"reservation.transfer", ",'sku':'A','from':'L1','to':'L2','quantity':1.5", "quantity"},
        {"reservation.transfer", ",'sku':'A','from':'L1','to':'L2','quantity':1000000001",
         "quantity"},
        {"reservation.transfer", ",'sku':'C','from':'L1','to':'L2'", "sku"},
    };
    char *before = world(id, "A B");
    int wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        wrong +=
            !names_field(rpc(cases[i].method, "{'reservation_id':'%s'%s}", id, cases[i].params),
                         cases[i].field, cases[i].params);
    same_world(before, id, "A B");
    assert_int_equal(wrong, 0);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, harness_flush_setup, audit_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_preorder_goes_to_minus_limit_and_no_further),
        TEST(test_commit_of_backordered_units_owes),
        TEST(test_goods_received_pay_what_is_owed),
        TEST(test_cycle_count_with_units_owed),
        TEST(test_low_stock_threshold_set_shown_cleared),
        TEST(test_partial_split_and_auto),
        TEST(test_partial_per_line),
        TEST(test_partial_single),
        TEST(test_update_changes_quantities),
        TEST(test_update_increase_without_stock_changes_nothing),
        TEST(test_update_fills_a_partial_line),
        TEST(test_transfer_moves_units),
        TEST(test_committed_released_unknown_holds),
        TEST(test_expired_and_overdue_holds),
        TEST(test_due_holds_given_back_below_zero),
        TEST(test_bad_stock_and_reserve_fields),
        TEST(test_bad_update_and_transfer_params),
    };
    return harness_run("backorder", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
