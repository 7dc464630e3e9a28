/* Unit tests of the intrusive list (queue.h): order, removal from any
 * place, moving a whole list, and walking while elements leave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "queue.h"

struct item {
    int v;
    struct queue node;
};

/* The values of h in order, as digits ("123"). */
static void check(struct queue *h, const char *want)
{
    char got[32];
    size_t n = 0;
    struct queue *q;
    queue_foreach(q, h)
    {
        got[n++] = (char)('0' + queue_data(q, struct item, node)->v);
        /* Both directions agree. */
        assert_ptr_equal(q->next->prev, q);
        assert_ptr_equal(q->prev->next, q);
    }
    got[n] = '\0';
    assert_string_equal(got, want);
    assert_int_equal(queue_empty(h), want[0] == '\0');
}

static void test_order_and_removal(void **state)
{
    (void)state;
    struct queue h;
    struct item it[5];
    queue_init(&h);
    check(&h, "");
    assert_null(queue_first(&h));
    for (int i = 0; i < 5; i++) {
        it[i].v = i;
        queue_init(&it[i].node);
        assert_false(queue_linked(&it[i].node));
    }
    queue_insert_tail(&h, &it[1].node);
    queue_insert_tail(&h, &it[2].node);
    queue_insert_head(&h, &it[0].node);
    queue_insert_tail(&h, &it[3].node);
    check(&h, "0123");
    assert_ptr_equal(queue_first(&h), &it[0].node);
    assert_true(queue_linked(&it[2].node));
    /* From the middle, the head and the tail. */
    queue_remove(&it[2].node);
    assert_false(queue_linked(&it[2].node));
    check(&h, "013");
    queue_remove(&it[0].node);
    queue_remove(&it[3].node);
    check(&h, "1");
    queue_remove(&it[1].node);
    check(&h, "");
}

static void test_move_all(void **state)
{
    (void)state;
    struct queue a, b;
    struct item it[4];
    queue_init(&a);
    queue_init(&b);
    for (int i = 0; i < 4; i++) {
        it[i].v = i;
        queue_insert_tail(i < 2 ? &a : &b, &it[i].node);
    }
    queue_move_all(&b, &a);
    check(&a, "0123");
    check(&b, "");
    /* Moving an empty list changes nothing. */
    queue_move_all(&b, &a);
    check(&a, "0123");
    /* Into an empty list. */
    queue_move_all(&a, &b);
    check(&a, "");
    check(&b, "0123");
}

/* The pattern every owner uses to drain a list whose callbacks may remove
 * other elements: take the first until there is none. */
static void test_drain_while_removing(void **state)
{
    (void)state;
    struct queue h;
    struct item it[6];
    queue_init(&h);
    for (int i = 0; i < 6; i++) {
        it[i].v = i;
        queue_insert_tail(&h, &it[i].node);
    }
    int seen = 0;
    struct queue *q;
    while ((q = queue_first(&h)) != NULL) {
        struct item *x = queue_data(q, struct item, node);
        queue_remove(q);
        seen = seen * 10 + x->v;
        /* An element's work takes the next odd one off the list. */
        if (x->v + 1 < 6 && (x->v + 1) % 2 == 1 && queue_linked(&it[x->v + 1].node))
            queue_remove(&it[x->v + 1].node);
    }
    assert_int_equal(seen, 24); /* 0, 2, 4 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_removal),
        cmocka_unit_test(test_move_all),
        cmocka_unit_test(test_drain_while_removing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
