/* Unit tests of the hash slots (slot.h) against values Redis gives:
 * CLUSTER KEYSLOT of known keys, and the CRC16 check value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"
#include "slot.h"

static void test_crc16(void **state)
{
    (void)state;
    /* The CRC16-XMODEM check value, as in Redis's crc16.c. */
    assert_int_equal(slot_crc16("123456789", 9), 0x31C3);
    assert_int_equal(slot_crc16("", 0), 0);
}

static const struct {
    const char *key;
    unsigned slot; /* redis-cli CLUSTER KEYSLOT <key> */
} keyslots[] = {
    {"foo", 12182},
    {"bar", 5061},
    {"{user1000}.following", 3443},
    {"{user1000}.followers", 3443},
    {"user1000", 3443},
    {"{inv}", 13198},
    {"{inv}:stock:sku1", 13198},
    {"inv", 13198},
    {"foo{}{bar}", 8363},    /* an empty first tag: the whole key */
    {"foo{{bar}}zap", 4015}, /* the tag is "{bar" */
    {"foo{bar}{zap}", 5061}, /* the first tag only */
    {"{", 4092},             /* no closing brace: the whole key */
    {"", 0},
};

static void test_keyslot(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof keyslots / sizeof keyslots[0]; i++) {
        unsigned got = slot_of_key(keyslots[i].key, strlen(keyslots[i].key));
        if (got != keyslots[i].slot)
            fail_msg("slot of '%s': %u, Redis says %u", keyslots[i].key, got, keyslots[i].slot);
    }
    assert_int_equal(slot_of_tag("user1000", 8), 3443);
    assert_int_equal(slot_of_tag("inv", 3), 13198);
}

/* args: the slot of the first key added, by namespace or as raw bytes. */
static void test_args_slot(void **state)
{
    (void)state;
    struct args a;
    args_init(&a);
    assert_int_equal(a.slot, -1);
    args_add(&a, "XREAD", 5);
    assert_int_equal(a.slot, -1); /* plain bytes say nothing */
    args_note_key(&a, "{user1000}.following", 20);
    assert_int_equal(a.slot, 3443);
    args_note_key(&a, "foo", 3); /* the first key decides */
    assert_int_equal(a.slot, 3443);
    args_reset(&a);
    assert_int_equal(a.slot, -1);
    struct ident ns = {.s = {"inv", 3}};
    args_add_prefix(&a, &ns, KEY_STOCK);
    assert_int_equal(a.slot, 13198);
    struct args b;
    args_init(&b);
    args_add(&b, "x", 1);
    args_copy(&b, &a);
    assert_int_equal(b.slot, 13198);
    assert_int_equal(b.n, a.n);
    assert_memory_equal(args_get(&b, 0).p, args_get(&a, 0).p, args_get(&a, 0).n);
    args_free(&a);
    args_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16),
        cmocka_unit_test(test_keyslot),
        cmocka_unit_test(test_args_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
